"""The JavaScript SDK (sdk/js, built to dist/ by `make test`), run by node, against the live Django server."""

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import convosensei_sdk
import pytest

from conversations.models import Conversation, Message

SDK_JS = Path(__file__).resolve().parents[2] / "sdk" / "js"
DIST = SDK_JS / "dist" / "index.js"
TSC = SDK_JS / "node_modules" / ".bin" / "tsc"

# Tracks a transcript, then the same transcript with two more turns (as an app that re-sends the whole history
# each turn does), flushing after each; prints what the client saw. The key and URL come from the environment.
SCRIPT = """
import { ConvoSensei } from %(dist)s;
const [first, second] = JSON.parse(process.argv[1]);
const errors = [];
const client = new ConvoSensei({ environment: "e2e-js", onError: (error) => errors.push(error.message) });
client.track({ conversationId: "e2e-js-1", userId: "customer-17", messages: first });
const firstFlushed = await client.flush(20000);
const again = [...first, ...second];
client.track({ conversationId: "e2e-js-1", userId: "customer-17", messages: again, metadata: { channel: "web" } });
const secondFlushed = await client.flush(20000);
await client.shutdown(5000);
console.log(JSON.stringify({ firstFlushed, secondFlushed, stats: client.stats(), errors }));
"""


def _fail_or_skip(reason: str) -> None:
    # Under CI a missing node or SDK build is a broken set-up, never a silently skipped test.
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def node() -> str:
    """The node binary, with sdk/js/dist built from the current sources (rebuilt here if older than them)."""
    node = shutil.which("node")
    if node is None:
        _fail_or_skip("node is not installed (Node 18+ runs the JavaScript SDK)")
    newest_source = max(path.stat().st_mtime for path in (SDK_JS / "src").glob("*.ts"))
    if not DIST.exists() or DIST.stat().st_mtime < newest_source:
        if not TSC.exists():
            _fail_or_skip("sdk/js is not built: run `make test`, or `npm ci && npm run build` in sdk/js")
        subprocess.run([node, str(TSC), "-p", str(SDK_JS / "tsconfig.json")], check=True, timeout=120)
    return node


def _utc(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.mark.django_db(transaction=True)
def test_a_transcript_sent_twice_by_the_js_sdk_and_once_by_the_python_sdk_is_stored_once(live_server, api_key, node):
    _, key = api_key
    start = datetime.now(UTC).replace(microsecond=250_000) - timedelta(minutes=10)
    turns = [
        ("user", "Where is my order 4711?"),
        ("assistant", "It shipped yesterday; it arrives on Friday."),
        ("user", "Can it come sooner?"),
        ("assistant", "I am afraid not."),
    ]
    messages = [
        {"role": role, "content": content, "timestamp": _utc(start + timedelta(seconds=5 * i))}
        for i, (role, content) in enumerate(turns)
    ]
    env = {**os.environ, "CONVOSENSEI_API_KEY": key, "CONVOSENSEI_BASE_URL": live_server.url}
    script = SCRIPT % {"dist": json.dumps(DIST.as_uri())}
    run = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps([messages[:2], messages[2:]])],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert key not in run.stdout + run.stderr
    seen = json.loads(run.stdout)
    assert (seen["firstFlushed"], seen["secondFlushed"], seen["errors"]) == (True, True, [])
    assert (seen["stats"]["sent"], seen["stats"]["failed"]) == (2, 0)

    # The same transcript from the Python SDK: its ids are the JavaScript SDK's, so nothing is added.
    python_sdk = convosensei_sdk.Client(api_key=key, base_url=live_server.url)
    python_sdk.track(conversation_id="e2e-js-1", messages=messages)
    assert python_sdk.flush(timeout=20)
    python_sdk.shutdown(timeout=5)

    conversation = Conversation.objects.get(external_id="e2e-js-1")
    stored = list(Message.objects.filter(conversation=conversation).order_by("timestamp", "position"))
    assert Conversation.objects.count() == 1
    assert [(m.role, m.content) for m in stored] == turns
    assert len({m.dedupe_key for m in stored}) == 4
    assert stored[0].timestamp == start
    assert (conversation.environment, conversation.end_user_id, conversation.metadata) == (
        "e2e-js",
        "customer-17",
        {"channel": "web"},
    )
