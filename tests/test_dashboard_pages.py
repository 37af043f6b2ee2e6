"""The dashboard pages, server side: what each shows, its filters and actions, and its query count."""

import html
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from django.utils.html import escape

from analytics.models import UsagePattern
from analytics.services import conversation_score
from analytics.tests.factories import conversation_with_turns
from conversations.models import Conversation, Failure, Message, SavedView
from tests.subprocess_env import ROOT

pytestmark = pytest.mark.django_db

PAGES = ["/", "/conversations/", "/failures/", "/patterns/", "/settings/"]


@pytest.fixture
def demo():
    call_command("load_demo", count=150, days=10)


def _badge_scores(page: str) -> list[int]:
    return [int(score) for score in re.findall(r'<span class="badge \w+">(\d+)</span>', page)]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_login(client, path):
    response = client.get(path)
    assert (response.status_code, response["Location"].split("?")[0]) == (302, "/login/")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_with_a_bounded_number_of_queries(admin_client, demo, path, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = admin_client.get(path)
    assert response.status_code == 200


def test_overview_renders_the_chart_data(admin_client, demo):
    page = admin_client.get("/?timeframe=30d").content.decode()
    charts = _overview_charts(page)
    assert sum(charts["conversations"]) == 150
    assert sum(charts["distribution"]) == 150
    assert {row["type"] for row in charts["failures"]}


def _overview_charts(page: str) -> dict:
    return json.loads(re.search(r'<script id="overview-charts" type="application/json">(.*?)</script>', page).group(1))


@pytest.mark.parametrize(("timeframe", "bars", "bucket"), [("24h", 24, "hour"), ("7d", 7, "day"), ("30d", 30, "day")])
def test_overview_charts_one_bar_per_hour_or_day_of_the_timeframe(admin_client, demo, timeframe, bars, bucket):
    page = admin_client.get(f"/?timeframe={timeframe}").content.decode()
    charts = _overview_charts(page)
    assert (charts["bucket"], len(charts["labels"]), len(charts["conversations"]), len(charts["health"])) == (
        bucket,
        bars,
        bars,
        bars,
    )
    assert all(len(row["counts"]) == bars for row in charts["failures"])
    assert f"Conversations per {bucket}</h2>" in page


def test_overview_chart_days_are_calendar_days_ending_today_with_zeros_where_nothing_happened():
    from analytics.tests.factories import ConversationFactory, FailureFactory
    from analytics.views import _charts

    end = datetime(2026, 11, 26, 15, 42, tzinfo=UTC)
    monday, wednesday = datetime(2026, 11, 23, 10, tzinfo=UTC), datetime(2026, 11, 25, 10, tzinfo=UTC)
    failed = ConversationFactory(last_message_at=monday, health_score=40.0)
    ConversationFactory(last_message_at=monday, health_score=80.0)
    ConversationFactory(last_message_at=wednesday, health_score=90.0)
    ConversationFactory(last_message_at=datetime(2026, 11, 19, 23, tzinfo=UTC))  # in the last 168 h, not the 7 days
    failure = FailureFactory(conversation=failed, type="refusal")
    Failure.objects.filter(pk=failure.pk).update(detected_at=monday)  # detected_at is set on insert

    charts = _charts(end - timedelta(days=7), end, "7d")

    assert charts["labels"] == [f"2026-11-{day}" for day in range(20, 27)]
    assert charts["conversations"] == [0, 0, 0, 2, 0, 1, 0]
    assert charts["health"] == [None, None, None, 60.0, None, 90.0, None]
    assert charts["failures"] == [{"type": "refusal", "counts": [0, 0, 0, 1, 0, 0, 0]}]
    hours = _charts(end - timedelta(hours=24), end, "24h")["labels"]
    assert (hours[0], hours[-1], len(hours)) == ("16:00", "15:00", 24)


def test_health_distribution_puts_a_score_in_the_band_of_the_whole_points_it_shows():
    from analytics.selectors import overview_health_distribution
    from analytics.tests.factories import ConversationFactory

    for score in (0.0, 9.49, 9.5, 10.0, 20.0, 69.6, 89.49, 89.5, 90.0, 100.0):
        ConversationFactory(health_score=score)
    start = datetime(2026, 11, 16, tzinfo=UTC)

    # Bands 0–9, 10–19, …, 80–89, 90–100 of the score as pages show it: 9.5 shows as 10 and is in 10–19, 69.6 shows
    # as 70 (a good score) and is in 70–79, 89.5 shows as 90 and is in 90–100, as their labels say.
    assert overview_health_distribution(start=start, end=start + timedelta(days=1)) == [2, 2, 1, 0, 0, 0, 0, 1, 1, 3]


def test_each_band_of_the_health_distribution_counts_the_conversations_its_health_filter_lists(admin_client):
    from analytics.selectors import overview_health_distribution
    from analytics.tests.factories import ConversationFactory

    scores = [band + offset for band in range(0, 100, 10) for offset in (-0.51, -0.5, 0.0, 4.5, 9.49, 9.5)]
    for score in [*scores, 99.5, 100.0]:
        ConversationFactory(health_score=max(score, 0.0))
    start = datetime(2026, 11, 16, tzinfo=UTC)

    listed = [
        len(
            admin_client.get(
                "/api/v1/conversations", {"health_min": low, "health_max": low + 9, "page_size": 100}
            ).json()["results"]
        )
        for low in range(0, 90, 10)
    ]
    listed.append(
        len(admin_client.get("/api/v1/conversations", {"health_min": 90, "page_size": 100}).json()["results"])
    )
    assert overview_health_distribution(start=start, end=start + timedelta(days=1)) == listed


def _kpi_changes(page: str) -> dict[str, str]:
    """Each KPI card's label -> its change line ("▼ 20.0% vs previous 7d"), whitespace collapsed."""
    cards = re.findall(r'<div class="muted small">([^<]+)</div>.*?<div class="delta[^"]*">(.*?)</div>', page, re.DOTALL)
    return {label: " ".join(change.split()) for label, change in cards}


def test_overview_gives_a_rates_change_in_points_and_every_change_without_a_second_sign(admin_client):
    from conversations.tests.factories import ConversationFactory, hours_ago

    # The previous 7 days: 5 conversations, 2 with failures (40%); the last 7 days: 4, 1 with failures (25%).
    # Average health 70 before, 80 now: 10 points more, not "14.3%".
    for has_failures in (True, True, False, False, False):
        ConversationFactory(last_message_at=hours_ago(24 * 10), has_failures=has_failures, health_score=70.0)
    for has_failures in (True, False, False, False):
        ConversationFactory(last_message_at=hours_ago(1), has_failures=has_failures, health_score=80.0)
    changes = _kpi_changes(admin_client.get("/?timeframe=7d").content.decode())
    assert changes["Conversations"] == "▼ 20.0% vs previous 7d"
    assert changes["With failures"] == "▼ 15.0 pts vs previous 7d"
    assert changes["Average health"] == "▲ 10.0 pts vs previous 7d"


def test_a_kpi_without_a_change_says_which_figure_the_previous_period_lacks(admin_client):
    from conversations.tests.factories import ConversationFactory, FailureFactory, hours_ago

    # The previous 7 days: one conversation, not scored yet, and no failure; the last 7 days: one scored, one failure.
    ConversationFactory(last_message_at=hours_ago(24 * 10), health_score=None)
    FailureFactory(conversation=ConversationFactory(last_message_at=hours_ago(1), health_score=60.0))
    changes = _kpi_changes(admin_client.get("/?timeframe=7d").content.decode())
    assert changes["Conversations"] == "0.0% vs previous 7d"
    assert changes["Average health"] == "nothing scored in the previous 7d"
    assert changes["New failures still open"] == "none in the previous 7d"


def test_a_kpi_of_a_period_with_nothing_scored_shows_no_value_and_says_why(admin_client):
    from conversations.tests.factories import ConversationFactory, hours_ago

    ConversationFactory(last_message_at=hours_ago(24 * 10), health_score=70.0)
    ConversationFactory(last_message_at=hours_ago(1), health_score=None)
    page = admin_client.get("/?timeframe=7d").content.decode()
    assert _kpi_changes(page)["Average health"] == "nothing scored in this period"
    assert re.search(r'Average health</div>\s*<div class="value">–</div>', page)


def test_the_open_failures_kpi_counts_the_failures_of_the_period_still_open_as_the_inbox_it_links_to(admin_client):
    from conversations.tests.factories import FailureFactory, hours_ago

    FailureFactory.create_batch(2)  # detected now, open
    FailureFactory(status=Failure.Status.RESOLVED)
    Failure.objects.filter(pk=FailureFactory().pk).update(detected_at=hours_ago(24 * 10))  # open, from before
    page = admin_client.get("/?timeframe=7d").content.decode()
    link, value = re.search(
        r'New failures still open</div>\s*<div class="value"><a href="([^"]+)">(\d+)</a>', page
    ).groups()
    inbox = admin_client.get(html.unescape(link)).content.decode()
    assert (value, inbox.count('name="ids" value=')) == ("2", 2)


def test_the_overviews_usage_patterns_name_the_week_they_are_of_whatever_the_timeframe(admin_client):
    from conversations.tests.factories import ConversationFactory, UsagePatternFactory

    ConversationFactory()
    UsagePatternFactory(period_start=datetime(2026, 11, 16, tzinfo=UTC), period_end=datetime(2026, 11, 23, tzinfo=UTC))
    page = admin_client.get("/?timeframe=24h").content.decode()
    assert "Of the latest analysis, 2026-11-16 to 2026-11-22, whatever the timeframe above." in page


def _pipeline_notice(page: str) -> str:
    match = re.search(r'<section class="card attention".*?</section>', page, re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(0))).strip() if match else ""


def test_the_overview_says_when_conversations_wait_to_be_scored_or_failed_and_when_tasks_are_dead_letters(
    admin_client,
):
    from analytics.models import DeadLetter
    from conversations.tests.factories import ConversationFactory

    ConversationFactory()  # scored
    pending, failed = Conversation.ProcessingState.PENDING, Conversation.ProcessingState.FAILED
    waiting = ConversationFactory.create_batch(2, processing_state=pending, health_score=None)
    ConversationFactory(processing_state=pending, health_score=None)  # just arrived: no worker is late yet
    ConversationFactory(processing_state=failed, health_score=None)
    since = timezone.now() - timedelta(minutes=12)
    Conversation.objects.filter(id__in=[c.id for c in waiting]).update(updated_at=since)
    DeadLetter.objects.create(task_name="analytics.process_conversation", error="boom", attempts=4)
    DeadLetter.objects.create(task_name="alerts.deliver", error="boom", attempts=4, replayed_at=timezone.now())
    notice = _pipeline_notice(admin_client.get("/").content.decode())
    assert notice.startswith("The pipeline needs a look")
    assert (
        f"2 conversations have waited more than 5 minutes to be scored, the oldest since "
        f"{timezone.localtime(since):%Y-%m-%d %H:%M}." in notice
    )
    assert "1 conversation could not be scored: its scoring failed after its retries." in notice
    assert "1 task failed after its retries (dead letters, with the error)." in notice


def test_the_overview_of_a_pipeline_that_keeps_up_has_no_notice(admin_client, demo):
    assert _pipeline_notice(admin_client.get("/").content.decode()) == ""


def test_an_overview_with_nothing_in_its_timeframe_shows_its_zeros_not_the_first_run_guide(admin_client):
    from conversations.tests.factories import ConversationFactory, FailureFactory

    conversation = ConversationFactory(last_message_at=timezone.now() - timedelta(days=3))
    FailureFactory(conversation=conversation, type="human_handoff_request", description="The user asked for a person.")
    page = admin_client.get("/?timeframe=24h").content.decode()
    assert "No conversations yet" not in page
    assert "Key figures" in page
    assert "The user asked for a person." in page  # the latest open failures, whenever detected


def test_an_empty_failure_list_says_nothing_needs_attention_only_when_no_filter_narrowed_it(admin_client):
    from conversations.tests.factories import FailureFactory

    FailureFactory(type="human_handoff_request", severity="high", description="The user asked for a person.")
    narrowed = admin_client.get("/failures/?type=abandonment&severity=low").content.decode()
    assert "Nothing needs your attention" not in narrowed
    assert 'No failures match these filters. <a href="?status=open">Show every open failure</a>' in narrowed
    acknowledged = admin_client.get("/failures/?status=ack&type=abandonment").content.decode()
    assert '<a href="?status=ack">Show every acknowledged failure</a>' in acknowledged
    Failure.objects.update(status=Failure.Status.RESOLVED)
    assert "No failures here. Nothing needs your attention." in admin_client.get("/failures/").content.decode()


def test_the_lists_an_overview_figure_opens_say_how_many_match_as_the_figure_does(admin_client, monkeypatch):
    from conversations import views
    from conversations.tests.factories import ConversationFactory, FailureFactory

    recent = ConversationFactory.create_batch(3)
    ConversationFactory(last_message_at=timezone.now() - timedelta(days=9))
    FailureFactory(conversation=recent[0], type="refusal")
    overview = admin_client.get("/?timeframe=7d").content.decode()
    assert re.search(r'<a href="/conversations/\?timeframe=7d">3</a>', overview)
    assert "3 conversations match." in admin_client.get("/conversations/?timeframe=7d").content.decode()
    assert "1 failure matches." in admin_client.get("/failures/?type=refusal").content.decode()
    monkeypatch.setattr(views, "MATCHING_COUNTED_UP_TO", 2)  # counted no further: a bounded cost on any table
    assert "2+ conversations match." in admin_client.get("/conversations/").content.decode()


def test_overview_of_a_new_install_tells_how_to_send_a_first_conversation(admin_client):
    page = admin_client.get("/").content.decode()
    assert "No conversations yet" in page
    assert "/api/v1/conversations/track" in page


def _snippet_body(page: str) -> dict:
    """The JSON the page's first-conversation snippet sends (its curl -d '...')."""
    return json.loads(html.unescape(re.search(r"-d '(.*?)'</pre>", page, re.DOTALL).group(1)))


def test_the_overview_snippet_sent_as_it_is_makes_the_overview_show_its_conversation(admin_client, client):
    from accounts.services import api_key_create

    _, key = api_key_create(name="first app")
    body = _snippet_body(admin_client.get("/").content.decode())
    response = client.post(
        "/api/v1/conversations/track", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 202
    assert "No conversations yet" not in admin_client.get("/").content.decode()


def test_the_overview_snippet_sends_to_the_address_the_page_was_asked_on(admin_client, settings):
    settings.DASHBOARD_BASE_URL = "http://127.0.0.1:8000"  # `make run`'s default, while it serves another port
    page = admin_client.get("/", HTTP_HOST="127.0.0.1:8010").content.decode()
    assert "curl -X POST http://127.0.0.1:8010/api/v1/conversations/track" in page


def test_conversations_filtered_by_health_show_only_matching_rows(admin_client, demo):
    page = admin_client.get("/conversations/?health_min=20&health_max=60").content.decode()
    scores = _badge_scores(page)
    assert scores
    assert all(20 <= score <= 60 for score in scores)


def test_conversations_sorted_by_health_ascending(admin_client, demo):
    scores = _badge_scores(admin_client.get("/conversations/?ordering=health_score").content.decode())
    assert scores == sorted(scores)


def test_the_list_pages_take_every_filter_of_the_api_from_and_to_included(admin_client):
    from conversations.tests.factories import ConversationFactory, FailureFactory, hours_ago

    ConversationFactory(external_id="recent", last_message_at=hours_ago(1))
    ConversationFactory(external_id="older", last_message_at=hours_ago(30))
    Failure.objects.filter(id=FailureFactory(conversation__external_id="failed-long-ago").id).update(
        detected_at=hours_ago(30)  # detected_at is set on insert
    )
    FailureFactory(conversation__external_id="failed-just-now")
    since = (timezone.now() - timedelta(hours=2)).isoformat()
    listed = admin_client.get("/conversations/", {"from": since}).content.decode()
    assert ("recent" in listed, "older" in listed) == (True, False)
    inbox = admin_client.get("/failures/", {"to": since, "ordering": "detected_at"}).content.decode()
    assert ("failed-long-ago" in inbox, "failed-just-now" in inbox) == (True, False)


def test_the_conversations_form_has_a_field_for_every_filter_of_the_api_and_keeps_its_value(admin_client):
    from conversations.filters import ConversationFilterSerializer

    page = admin_client.get("/conversations/", {"external_id": "support-4711"}).content.decode()
    form = re.search(r'<form method="get" class="filters.*?</form>', page, re.S).group(0)
    names = set(re.findall(r'name="([a-z_]+)"', form))
    # The window is an include of its own; a pattern is chosen on the Patterns page (a hidden field once chosen).
    assert set(ConversationFilterSerializer().fields) - {"from", "to", "timeframe", "pattern"} <= names
    assert 'name="external_id" value="support-4711"' in form


def test_invalid_filter_shows_the_field_error(admin_client, demo):
    response = admin_client.get("/conversations/?health_min=lots")
    assert response.status_code == 400
    assert "health_min" in response.content.decode()


def test_conversation_detail_highlights_the_failure_on_its_message(admin_client, demo):
    failure = Failure.objects.select_related("message").first()
    page = admin_client.get(f"/conversations/{failure.conversation_id}/").content.decode()
    message_block = page[page.index(f'id="message-{failure.message_id}"') :]
    assert "msg" in page
    assert message_block.index("failure-note") < message_block.index("</li>")
    assert escape(failure.description[:30]) in message_block


@pytest.mark.parametrize(
    ("feature", "says"),
    [(False, "Answers were judged by their words"), (True, "Answers were judged by meaning")],
)
def test_conversation_detail_says_how_answers_were_judged(admin_client, settings, feature, says):
    settings.FEATURE_EMBEDDINGS = feature
    conversation = conversation_with_turns("Can I change my delivery address?", "Yes, under Orders, then Address.")
    conversation_score(conversation_id=conversation.id)
    assert says in admin_client.get(f"/conversations/{conversation.id}/").content.decode()


def test_conversation_detail_shows_each_turns_figure_and_marks_the_notable_ones(admin_client):
    conversation = conversation_with_turns(
        "Where is my refund for order 4711?",
        "Your refund was sent on Monday; it reaches your account within three days.",
        "Ugh, this is useless! Where is my REFUND?",
        "I'm sorry, I can't help with that request.",
    )
    conversation_score(conversation_id=conversation.id)
    page = admin_client.get(f"/conversations/{conversation.id}/").content.decode()
    figure = re.compile(r'<span class="turn-figure( notable)?"[^>]*>(dissatisfaction risk|failure evidence) \d\.\d\d<')
    marks = [
        figure.search(page[page.index(f'id="message-{message.id}"') :].split("</li>", 1)[0]).group(1, 2)
        for message in Message.objects.filter(conversation=conversation).order_by("position")
    ]
    assert marks == [
        (None, "dissatisfaction risk"),
        (None, "failure evidence"),
        (" notable", "dissatisfaction risk"),
        (" notable", "failure evidence"),
    ]


def test_conversation_detail_gives_the_health_components_at_one_precision(admin_client):
    conversation = conversation_with_turns("Where is my refund?", "I'm sorry, I didn't understand that.")
    conversation_score(conversation_id=conversation.id)
    page = admin_client.get(f"/conversations/{conversation.id}/").content.decode()
    table = page[page.index("<tbody>", page.index("Health ")) :].split("</tbody>", 1)[0]
    rows = re.findall(r"</span> (\w+)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", table)
    conversation.refresh_from_db()
    assert {name for name, *_ in rows} == set(conversation.health_breakdown["components"])
    for _, weight, value, points in rows:  # weight and value as 0.00, points lost as 0.0 (one row read 0.8323)
        assert re.fullmatch(r"\d\.\d\d", weight) and re.fullmatch(r"\d\.\d\d", value), (weight, value)
        assert re.fullmatch(r"\d+\.\d", points), points


@pytest.mark.parametrize(
    ("latency_ms", "shown"), [(10.621, "· 11 ms"), (999.7, "· 1.0 s"), (1234, "· 1.2 s"), (38_260, "· 38.3 s")]
)
def test_conversation_detail_rounds_a_messages_latency(admin_client, latency_ms, shown):
    from conversations.tests.factories import MessageFactory

    message = MessageFactory(role=Message.Role.ASSISTANT, metadata={"model": "gpt-test", "latency_ms": latency_ms})
    page = admin_client.get(f"/conversations/{message.conversation_id}/").content.decode()
    meta = page[page.index(f'id="message-{message.id}"') :].split('<div class="content">', 1)[0]
    assert " ".join(meta.split()).endswith(f"· gpt-test {shown} </div>")


def _message_block(admin_client, message: Message) -> str:
    page = admin_client.get(f"/conversations/{message.conversation_id}/").content.decode()
    return page[page.index(f'id="message-{message.id}"') :].split("</li>", 1)[0]


TOOL_CALLS = [
    {"id": "call_1", "type": "function", "function": {"name": "order_status", "arguments": '{"order": 4711}'}}
]


def test_a_message_that_only_calls_tools_says_it_has_no_text_and_shows_its_calls(admin_client):
    from conversations.tests.factories import MessageFactory

    message = MessageFactory(role=Message.Role.ASSISTANT, content="", metadata={"tool_calls": TOOL_CALLS})
    block = _message_block(admin_client, message)
    assert '<div class="content"><span class="no-text">(no text)</span></div>' in block
    assert "<summary>Metadata: tool_calls</summary>" in block
    assert f"<dt>tool_calls</dt><dd><pre>{escape(json.dumps(TOOL_CALLS, indent=2))}</pre></dd>" in block


def test_a_messages_metadata_beside_the_figures_of_its_line_is_shown_once_and_escaped(admin_client):
    from conversations.tests.factories import MessageFactory

    metadata = {"model": "gpt-test", "latency_ms": 120, "output_tokens": 42, "note": "<script>alert(1)</script>"}
    message = MessageFactory(role=Message.Role.ASSISTANT, content="Here it is.", metadata=metadata)
    block = _message_block(admin_client, message)
    meta = " ".join(block.split('<div class="content">', 1)[0].split())
    assert meta.endswith("· gpt-test · 120 ms · 42 tokens </div>")
    assert "<summary>Metadata: note</summary>" in block
    assert "<pre>&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;</pre>" in block and "<script>alert" not in block


def test_a_latency_the_line_cannot_show_stays_in_the_metadata(admin_client):
    from conversations.tests.factories import MessageFactory

    message = MessageFactory(metadata={"latency_ms": "fast"})
    assert "<summary>Metadata: latency_ms</summary>" in _message_block(admin_client, message)


def test_a_huge_metadata_value_is_cut_with_a_note(admin_client):
    from conversations.tests.factories import MessageFactory

    message = MessageFactory(metadata={"context": "x" * 5_000})
    block = _message_block(admin_client, message)
    assert f'<pre>&quot;{"x" * 1_999}</pre><span class="muted">The first 2,000 of 5,002 characters.</span>' in block


def test_a_message_with_text_and_no_metadata_shows_just_its_text(admin_client):
    from conversations.tests.factories import MessageFactory

    message = MessageFactory(content="Where is my order?", metadata={})
    block = _message_block(admin_client, message)
    assert ('<div class="content">Where is my order?</div>' in block, "<details" in block) == (True, False)


def test_conversation_detail_dates_the_first_message_and_each_that_starts_another_day(admin_client):
    conversation = conversation_with_turns(
        "Where is my order?", "It ships tomorrow.", "Did it ship?", start=datetime(2026, 11, 2, 23, 58, tzinfo=UTC)
    )  # 23:58 and 23:59 on the 2nd, 00:00 on the 3rd (UTC, the tests' dashboard zone)
    page = admin_client.get(f"/conversations/{conversation.id}/").content.decode()
    metas = [" ".join(part.split('<div class="content">', 1)[0].split()) for part in page.split('class="meta">')[1:]]
    assert [meta.split(" · ")[1].removesuffix(" </div>") for meta in metas] == [
        "2026-11-02 23:58:00",
        "23:59:00",
        "2026-11-03 00:00:00",
    ]


def test_unknown_conversation_is_404(admin_client):
    assert admin_client.get(f"/conversations/{uuid.uuid4()}/").status_code == 404


def test_acknowledging_a_failure_removes_it_from_the_open_list(admin_client, demo):
    failure = Failure.objects.filter(status="open").first()
    admin_client.post("/failures/status", {"ids": [str(failure.id)], "status": "ack", "next": "/failures/"})
    assert str(failure.id) not in admin_client.get("/failures/").content.decode()
    assert str(failure.id) in admin_client.get("/failures/?status=ack").content.decode()


def test_the_failures_inbox_lists_every_status_when_asked_for_any(admin_client):
    from conversations.tests.factories import FailureFactory

    FailureFactory(conversation__external_id="still-open")
    FailureFactory(conversation__external_id="fixed-already", status=Failure.Status.RESOLVED)
    page = admin_client.get("/failures/?status=all").content.decode()
    assert ("still-open" in page, "fixed-already" in page) == (True, True)


@pytest.mark.parametrize("page", ["/conversations/", "/failures/"])
def test_a_filtered_list_offers_a_reset_to_its_unfiltered_page(admin_client, page):
    filtered = admin_client.get(f"{page}?timeframe=24h").content.decode()
    form = re.search(r'<form method="get" class="filters.*?</form>', filtered, re.S).group(0)
    assert f'<a href="{page}" class="button">Reset</a>' in form


def test_resolving_many_failures_at_once(admin_client, demo):
    ids = [str(i) for i in Failure.objects.filter(status="open").values_list("id", flat=True)[:3]]
    admin_client.post("/failures/status", {"ids": ids, "status": "resolved"})
    assert Failure.objects.filter(id__in=ids, status="resolved", resolved_at__isnull=False).count() == 3


def test_a_saved_view_is_saved_applied_and_deleted(admin_client, demo):
    admin_client.post("/conversations/views/save", {"name": "Unhappy", "health_max": "40"})
    view = SavedView.objects.get(name="Unhappy")
    assert admin_client.get(f"/conversations/views/{view.id}/")["Location"] == "/conversations/?health_max=40"
    admin_client.post(f"/conversations/views/{view.id}/delete")
    assert not SavedView.objects.exists()


def test_a_failures_view_is_saved_listed_and_applied_on_the_failures_page(admin_client):
    response = admin_client.post(
        "/conversations/views/save",
        {"scope": "failures", "name": "High, any status", "status": "all", "severity": "high"},
    )
    view = SavedView.objects.get(name="High, any status")
    # Stored in the API's terms (any status is no status); it opens the failures page, which names any status so.
    assert (response["Location"], view.scope, view.config) == (
        "/failures/?status=all&severity=high",
        "failures",
        {"severity": "high"},
    )
    assert (
        f'<a href="/conversations/views/{view.id}/">High, any status</a>'
        in admin_client.get("/failures/").content.decode()
    )
    assert "High, any status" not in admin_client.get("/conversations/").content.decode()
    location = urlsplit(admin_client.get(f"/conversations/views/{view.id}/")["Location"])
    assert (location.path, dict(parse_qsl(location.query))) == ("/failures/", {"severity": "high", "status": "all"})
    assert admin_client.post(f"/conversations/views/{view.id}/delete")["Location"] == "/failures/"


def test_a_failures_view_made_with_the_api_opens_on_the_failures_page(admin_client):
    config = {"status": "open", "type": "refusal"}
    view = SavedView.objects.create(name="Open refusals", scope="failures", config=config)
    location = urlsplit(admin_client.get(f"/conversations/views/{view.id}/")["Location"])
    assert (location.path, dict(parse_qsl(location.query))) == ("/failures/", config)


def test_a_saved_view_without_a_name_is_not_saved(admin_client):
    admin_client.post("/conversations/views/save", {"name": "", "health_max": "40"})
    assert not SavedView.objects.exists()


def _flash(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_saved_view_named_with_spaces_only_says_plainly_why_it_was_not_saved(admin_client):
    response = admin_client.post("/conversations/views/save", {"name": "   ", "health_max": "40"}, follow=True)
    assert _flash(response) == ["The view was not saved: Give the view a name."]


def test_a_saved_view_of_an_invalid_filter_says_plainly_which_and_why(admin_client):
    response = admin_client.post("/conversations/views/save", {"name": "Unhappy", "health_min": "lots"}, follow=True)
    assert _flash(response) == ["The view was not saved: Health from: A valid number is required."]


def test_invalid_filters_are_named_as_the_form_labels_them(admin_client):
    page = admin_client.get("/conversations/?health_min=80&health_max=20").content.decode()
    assert "<li>Health to: Must be at least “Health from”.</li>" in page
    page = admin_client.get("/failures/?severity=dire").content.decode()
    assert "<p>Severity: " in page
    page = admin_client.get("/failures/?conversation=chat-1").content.decode()
    assert "<p>Conversation: Must be a valid UUID.</p>" in page


def test_saving_a_view_under_a_name_taken_replaces_its_filters(admin_client):
    admin_client.post("/conversations/views/save", {"name": "Unhappy", "health_max": "40"})
    response = admin_client.post("/conversations/views/save", {"name": "Unhappy", "health_max": "30"}, follow=True)
    assert _flash(response)[-1] == "Updated the view “Unhappy”."
    assert list(SavedView.objects.values_list("name", "config")) == [("Unhappy", {"health_max": "30"})]


def test_patterns_page_lists_patterns_with_a_trend(admin_client):
    now = timezone.now()
    lineage = uuid.uuid4()
    for weeks, size in ((2, 10), (1, 14)):
        UsagePattern.objects.create(
            lineage_id=lineage, label="refund order", keywords=["refund", "order"], size=size, avg_health=55,
            failure_rate=0.2, period_start=now - timedelta(weeks=weeks + 1), period_end=now - timedelta(weeks=weeks),
            analysis_run=uuid.uuid4(),
        )  # fmt: skip
    page = admin_client.get("/patterns/").content.decode()
    assert "refund order" in page
    assert "<polyline points=" in page


def _sparkline(page: str) -> list[str]:
    return re.search(r'<polyline points="([^"]*)"', page).group(1).split()


def test_a_patterns_trend_counts_a_week_analysed_twice_once_and_a_pattern_page_stops_at_its_own_week(admin_client):
    monday = timezone.now() - timedelta(weeks=4)
    lineage = uuid.uuid4()

    def pattern(week: int, size: int, *, days: int = 7) -> UsagePattern:
        end = monday + timedelta(weeks=week)
        return UsagePattern.objects.create(
            lineage_id=lineage, label="refund order", size=size, period_start=end - timedelta(days=days),
            period_end=end, analysis_run=uuid.uuid4(),
        )  # fmt: skip

    pattern(1, 10)
    pattern(2, 14)  # the weekly run of week 2 ...
    by_hand = pattern(2, 6, days=3)  # ... and a run by hand over its last three days, later: it stands for week 2
    pattern(3, 30)
    assert len(_sparkline(admin_client.get("/patterns/").content.decode())) == 3  # weeks 1, 2 and 3
    page = admin_client.get(f"/patterns/{by_hand.id}/").content.decode()
    assert "Size over 2 periods" in page  # weeks 1 and 2, not the week after it
    assert _sparkline(page) == ["0.0,1.0", "100.0,9.8"]  # 10 (the top), then 6


def test_a_new_patterns_trend_is_a_flat_line_not_an_empty_card(admin_client):
    now = timezone.now()
    pattern = UsagePattern.objects.create(
        label="refund order", size=5, period_start=now - timedelta(weeks=1), period_end=now, analysis_run=uuid.uuid4()
    )
    assert _sparkline(admin_client.get(f"/patterns/{pattern.id}/").content.decode()) == ["0.0,1.0", "100.0,1.0"]
    assert _sparkline(admin_client.get("/patterns/").content.decode()) == ["0.0,1.0", "100.0,1.0"]


def _patterns_intro(page: str) -> str:
    return page.split("<h1>Usage patterns</h1>", 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize(
    ("feature", "space", "says"),
    [
        (True, "tfidf-hash-16384", "grouped every week by the words they use (TF-IDF)"),
        (False, "all-MiniLM-L6-v2", "grouped every week by meaning"),
    ],
)
def test_the_patterns_page_says_how_the_listed_patterns_were_grouped(admin_client, settings, feature, space, says):
    settings.FEATURE_EMBEDDINGS = feature  # the setting may have changed since: the stored patterns tell
    now = timezone.now()
    UsagePattern.objects.create(
        label="refund order", size=10, centroid={"space": space, "values": [1.0]},
        period_start=now - timedelta(weeks=1), period_end=now, analysis_run=uuid.uuid4(),
    )  # fmt: skip
    assert says in _patterns_intro(admin_client.get("/patterns/").content.decode())


def test_the_empty_patterns_page_without_embeddings_says_they_will_be_grouped_by_words(admin_client, settings):
    settings.FEATURE_EMBEDDINGS = False
    intro = _patterns_intro(admin_client.get("/patterns/").content.decode())
    assert "grouped every week by the words they use (TF-IDF)" in intro


def test_the_empty_patterns_page_finds_them_with_the_readmes_command(admin_client):
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"`([^`]*manage\.py analyze_patterns)[^`]*`", readme).group(1)
    hint = admin_client.get("/patterns/").content.decode().split('<pre class="snippet">', 1)[1].split("</pre>", 1)[0]
    assert hint.startswith(f"{command} --since ")


def test_the_empty_patterns_page_finds_them_over_the_last_seven_days_today_included(admin_client, settings):
    settings.DASHBOARD_TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: its today is often UTC's tomorrow
    today = timezone.localdate(timezone=ZoneInfo("Pacific/Kiritimati"))
    hint = admin_client.get("/patterns/").content.decode().split('<pre class="snippet">', 1)[1].split("</pre>", 1)[0]
    assert hint.endswith(f" --since {today - timedelta(days=6):%Y-%m-%d} --until {today + timedelta(days=1):%Y-%m-%d}")


def test_a_pattern_page_links_to_its_conversations(admin_client):
    now = timezone.now()
    pattern = UsagePattern.objects.create(
        label="password reset", size=3, period_start=now - timedelta(days=7), period_end=now, analysis_run=uuid.uuid4()
    )
    page = admin_client.get(f"/patterns/{pattern.id}/").content.decode()
    assert f"/conversations/?pattern={pattern.id}" in page


def test_a_pattern_page_names_the_first_and_the_last_day_of_its_week(admin_client):
    pattern = UsagePattern.objects.create(
        label="password reset",
        size=3,
        period_start=datetime(2026, 11, 9, tzinfo=UTC),
        period_end=datetime(2026, 11, 16, tzinfo=UTC),  # excluded: the week is Monday 9 to Sunday 15
        analysis_run=uuid.uuid4(),
    )
    page = admin_client.get(f"/patterns/{pattern.id}/").content.decode()
    assert "2026-11-09 to 2026-11-15" in page


def test_conversations_of_a_pattern(admin_client, demo):
    now = timezone.now()
    pattern = UsagePattern.objects.create(
        label="billing", size=1, period_start=now - timedelta(days=7), period_end=now, analysis_run=uuid.uuid4()
    )
    member = Conversation.objects.first()
    pattern.memberships.create(conversation=member, similarity=0.9)
    page = admin_client.get(f"/conversations/?pattern={pattern.id}").content.decode()
    assert re.findall(r'<td><a href="/conversations/[0-9a-f-]+/">([^<]+)</a></td>', page) == [member.external_id]


def _pattern_with(conversation: Conversation) -> UsagePattern:
    now = timezone.now()
    pattern = UsagePattern.objects.create(
        label="billing", size=1, period_start=now - timedelta(days=7), period_end=now, analysis_run=uuid.uuid4()
    )
    pattern.memberships.create(conversation=conversation, similarity=0.9)
    return pattern


def test_the_filter_form_keeps_the_pattern_it_lists(admin_client, demo):
    pattern = _pattern_with(Conversation.objects.first())
    page = admin_client.get(f"/conversations/?pattern={pattern.id}").content.decode()
    form = page[page.index('aria-label="Filters"') :].split("</form>", 1)[0]
    assert f'<input type="hidden" name="pattern" value="{pattern.id}">' in form


def test_the_list_of_a_pattern_names_it_with_a_link_that_removes_the_filter(admin_client, demo):
    pattern = _pattern_with(Conversation.objects.first())
    page = admin_client.get(f"/conversations/?pattern={pattern.id}&health_max=90").content.decode()
    chip = re.search(r'<p class="active-filter">(.*?)</p>', page, re.DOTALL).group(1)
    assert f'Pattern: <a href="/patterns/{pattern.id}/">billing</a>' in chip
    assert '<a href="?health_max=90" class="remove" aria-label="Remove the pattern filter">' in chip


def test_a_conversations_page_links_to_its_own_failures_in_the_inbox(admin_client):
    from conversations.tests.factories import FailureFactory

    mine = FailureFactory(conversation__external_id="chat-mine", status="resolved")
    other = FailureFactory(conversation__external_id="chat-other")
    page = admin_client.get(f"/conversations/{mine.conversation_id}/").content.decode()
    link = f"/failures/?conversation={mine.conversation_id}&amp;status=all"
    assert link in page
    inbox = admin_client.get(html.unescape(link)).content.decode()
    # Its failures whatever their status, not the others'; the filter named, with a way to drop it.
    assert str(mine.id) in inbox and str(other.id) not in inbox
    assert 'Conversation: <a href="/conversations/' in inbox and "chat-mine" in inbox
    assert f'<input type="hidden" name="conversation" value="{mine.conversation_id}">' in inbox


@pytest.mark.parametrize("path", ["/conversations/", "/failures/"])
def test_a_list_asked_for_a_page_it_cannot_read_says_so_and_keeps_the_filters(admin_client, path):
    response = admin_client.get(path, {"cursor": "not-a-cursor", "timeframe": "7d"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Page: This link to a further page is not valid" in page
    assert '<option value="7d" selected>' in page


@pytest.mark.parametrize(("path", "what"), [("/conversations/", "Last message"), ("/failures/", "Detected")])
def test_a_list_of_a_time_window_names_it_and_its_form_keeps_it(admin_client, path, what):
    page = admin_client.get(path, {"from": "2026-11-20T08:00:00Z", "to": "2026-11-21T08:00:00Z"}).content.decode()
    form = page[page.index('aria-label="Filters"') :].split("</form>", 1)[0]
    chip = re.search(r'<p class="active-filter">(.*?)</p>', form, re.DOTALL).group(1)
    assert f"{what} from 2026-11-20 08:00 before 2026-11-21 08:00" in chip
    assert '<input type="hidden" name="from" value="2026-11-20T08:00:00Z">' in form
    assert '<input type="hidden" name="to" value="2026-11-21T08:00:00Z">' in form
    assert 'name="timeframe"' not in form  # one time filter at once: the window, until it is removed


def test_removing_the_time_window_keeps_the_other_filters(admin_client):
    page = admin_client.get("/conversations/", {"from": "2026-11-20T08:00:00Z", "health_max": "40"}).content.decode()
    assert '<a href="?health_max=40" class="remove" aria-label="Remove the time window">' in page


def test_the_export_link_exports_the_window_the_list_shows_in_the_dashboard_zone(admin_client, settings):
    from conversations.tests.factories import ConversationFactory

    settings.DASHBOARD_TIME_ZONE = "Europe/Berlin"
    ConversationFactory(
        external_id="half-past-midnight-in-berlin", last_message_at=datetime(2026, 11, 19, 23, 30, tzinfo=UTC)
    )
    # A window without an offset (a saved view's, a typed URL's) is read in the dashboard's zone by the page; the API
    # reads it in UTC, so the link must carry the bounds the page read.
    page = admin_client.get("/conversations/", {"from": "2026-11-20T00:00:00"}).content.decode()
    assert "half-past-midnight-in-berlin" in page
    export = html.unescape(re.search(r'href="(/api/v1/conversations/export\?[^"]*)"', page).group(1))
    assert "half-past-midnight-in-berlin" in b"".join(admin_client.get(export).streaming_content).decode()


def test_a_bulk_action_on_a_failure_gone_since_the_list_was_shown_changes_nothing_and_says_why(admin_client):
    from conversations.tests.factories import FailureFactory

    kept, gone = FailureFactory(), FailureFactory()
    chosen = [str(kept.id), str(gone.id)]
    gone.delete()  # what scoring its conversation again does to a failure it no longer finds
    response = admin_client.post("/failures/status", {"ids": chosen, "status": "resolved"}, follow=True)
    assert _flash(response) == [
        "1 of the chosen failures no longer exists (its conversation was scored again since the list was shown), "
        "so nothing was changed: choose again in the list below."
    ]
    kept.refresh_from_db()
    assert kept.status == Failure.Status.OPEN


def test_a_search_box_holding_only_spaces_is_no_filter(admin_client):
    from conversations.tests.factories import ConversationFactory

    ConversationFactory(external_id="chat-1")
    response = admin_client.get("/conversations/", {"q": "  ", "environment": " "})
    assert (response.status_code, "chat-1" in response.content.decode()) == (200, True)


def test_a_saved_view_made_with_the_api_opens_with_its_filters_chosen_in_the_form(admin_client):
    view = SavedView.objects.create(name="Failing", scope="conversations", config={"has_failures": True})
    location = admin_client.get(f"/conversations/views/{view.id}/")["Location"]
    assert location == "/conversations/?has_failures=true"
    assert '<option value="true" selected>With failures</option>' in admin_client.get(location).content.decode()


@pytest.mark.parametrize(("count", "says"), [(1, "1 message ·"), (2, "2 messages ·")])
def test_a_conversation_page_counts_its_messages_in_words(admin_client, count, says):
    from conversations.tests.factories import ConversationFactory

    conversation = ConversationFactory(message_count=count)
    assert says in admin_client.get(f"/conversations/{conversation.id}/").content.decode()


def test_the_overview_refreshed_after_the_session_ended_sends_the_browser_to_the_login_form(client):
    response = client.get("/?timeframe=30d", HTTP_HX_REQUEST="true")  # what the page's htmx timer asks
    assert (response.status_code, response["HX-Redirect"]) == (200, "/login/?next=/%3Ftimeframe%3D30d")


def test_a_page_asked_for_without_htmx_after_the_session_ended_is_redirected_as_before(client):
    response = client.get("/?timeframe=30d")
    assert (response.status_code, response.has_header("HX-Redirect")) == (302, False)


def test_a_page_that_is_not_there_says_what_was_not_found_within_the_dashboard(admin_client):
    response = admin_client.get(f"/conversations/{uuid.uuid4()}/")
    page = response.content.decode()
    assert (response.status_code, "<h1>Not found</h1>" in page) == (404, True)
    assert "No such conversation." in page
    assert 'aria-label="Main"' in page  # the navigation, to go on from there


def test_an_address_no_page_has_gets_the_dashboards_404_page(admin_client):
    page = admin_client.get("/conversations/not-an-id/").content.decode()
    assert "There is no page at this address." in page


@pytest.mark.parametrize(
    ("size_change", "shown"), [(0.4, "<td>+40%</td>"), (-0.2, "<td>-20%</td>"), (0.0, "<td>0%</td>")]
)
def test_the_patterns_page_gives_a_growth_with_its_sign_as_it_gives_a_fall(admin_client, size_change, shown):
    now = timezone.now()
    UsagePattern.objects.create(
        label="refund order", size=14, size_change=size_change, period_start=now - timedelta(weeks=1), period_end=now,
        analysis_run=uuid.uuid4(),
    )  # fmt: skip
    assert shown in admin_client.get("/patterns/").content.decode()


@pytest.mark.parametrize("back", ["//example.com/", "/\\example.com/", "https://example.com/"])
def test_a_bulk_action_goes_back_only_to_a_page_of_the_dashboard(admin_client, back):
    response = admin_client.post("/failures/status", {"ids": [str(uuid.uuid4())], "status": "ack", "next": back})
    assert response["Location"] == "/failures/"


def test_the_patterns_page_names_the_period_its_patterns_are_of(admin_client):
    UsagePattern.objects.create(
        label="password reset", size=3, period_start=datetime(2026, 11, 9, tzinfo=UTC),
        period_end=datetime(2026, 11, 16, tzinfo=UTC), analysis_run=uuid.uuid4(),
    )  # fmt: skip
    page = admin_client.get("/patterns/").content.decode()
    assert "The latest analysis, of 2026-11-09 to 2026-11-15;" in page


def test_a_page_that_fails_on_the_server_says_so_in_the_dashboards_look_with_its_request_id(admin_client, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("the overview's summary failed")

    monkeypatch.setattr("analytics.views.analytics_summary", fail)
    admin_client.raise_request_exception = False
    response = admin_client.get("/", headers={"X-Request-ID": "req-500-test"})
    page = response.content.decode()
    assert (response.status_code, "<h1>Something went wrong</h1>" in page, "req-500-test" in page) == (500, True, True)
    assert 'rel="stylesheet"' in page and "summary failed" not in page


def test_a_page_whose_database_is_out_of_reach_says_so_with_a_503_and_retry_after(admin_client, monkeypatch):
    def fail(**kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr("analytics.views.analytics_summary", fail)
    admin_client.raise_request_exception = False
    response = admin_client.get("/")
    page = response.content.decode()
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert "<h1>The database is unavailable</h1>" in page and "Connection refused" not in page


@pytest.mark.parametrize(
    ("score", "badge"),
    [
        (69.6, '<span class="badge good">70</span>'),
        (69.4, '<span class="badge warn">69</span>'),
        (39.5, '<span class="badge warn">40</span>'),
        (39.4, '<span class="badge bad">39</span>'),
    ],
)
def test_a_health_badge_is_coloured_by_the_score_it_shows(admin_client, score, badge):
    conversation = conversation_with_turns("Hi", "Hello!", health_score=score)
    assert badge in admin_client.get(f"/conversations/{conversation.id}/").content.decode()


def test_a_later_page_of_the_conversations_links_back_to_the_first_with_the_same_filters(admin_client):
    from analytics.tests.factories import ConversationFactory
    from conversations.views import PAGE_SIZE_DEFAULT

    for _ in range(PAGE_SIZE_DEFAULT + 1):
        ConversationFactory(last_message_at=timezone.now() - timedelta(hours=1), health_score=50.0)
    first = admin_client.get("/conversations/", {"timeframe": "24h"}).content.decode()
    next_link = html.unescape(re.search(r'href="\?([^"]*)" rel="next"', first).group(1))
    later = admin_client.get(f"/conversations/?{next_link}").content.decode()
    assert ('rel="first"' in first, re.search(r'href="\?([^"]*)" rel="first"', later).group(1)) == (
        False,
        "timeframe=24h",
    )


def test_a_long_transcript_comes_in_parts_each_linking_on_to_the_next(admin_client, monkeypatch):
    monkeypatch.setattr("conversations.views.MAX_TRANSCRIPT_MESSAGES", 2)
    conversation = conversation_with_turns("one", "two", "three", "four", "five")
    url = f"/conversations/{conversation.id}/"
    first = admin_client.get(url).content.decode()
    later = html.unescape(re.search(r'href="(\?messages=[^"]*)" rel="next"', first).group(1))
    second = admin_client.get(url + later).content.decode()
    contents = [re.findall(r'<div class="content">(\w+)</div>', page) for page in (first, second)]
    assert contents == [["one", "two"], ["three", "four"]]
    assert "Showing 2 of 5 messages." in second and '<a href="?">First messages</a>' in second


def test_a_link_to_later_messages_that_cannot_be_read_is_a_404_naming_it(admin_client):
    conversation = conversation_with_turns("one", "two")
    response = admin_client.get(f"/conversations/{conversation.id}/", {"messages": "not-a-cursor"})
    assert response.status_code == 404
    assert "This link to later messages of the conversation is not valid." in response.content.decode()


def _transcript_of(count: int, failing: list[int]) -> tuple[Conversation, list[Failure]]:
    """A conversation of `count` messages ("turn 1", "turn 2", … a second apart), with a failure on each of the
    `failing` turns (1 for the first)."""
    from conversations.tests.factories import ConversationFactory, FailureFactory

    conversation = ConversationFactory(message_count=count)
    messages = Message.objects.bulk_create(
        Message(
            conversation=conversation,
            position=index,
            role=Message.Role.USER if index % 2 == 0 else Message.Role.ASSISTANT,
            content=f"turn {index + 1}",
            timestamp=datetime(2026, 11, 16, 9, 0, tzinfo=UTC) + timedelta(seconds=index),
            dedupe_key=f"turn:{index}",
        )
        for index in range(count)
    )
    failures = [FailureFactory(conversation=conversation, message=messages[turn - 1]) for turn in failing]
    return conversation, failures


def _link_to(page: str, message_id: int) -> str:
    """The address of the page's one link to the message."""
    (link,) = re.findall(rf'href="([^"]*#message-{message_id})"', page)
    return html.unescape(link)


@pytest.mark.parametrize("path", ["/failures/", "/", "/conversations/{conversation.id}/"])
def test_a_failure_beyond_the_first_part_of_a_long_transcript_links_to_the_part_holding_its_message(admin_client, path):
    # The reported case: 523 messages, the failures on the last but one two, past the first part of 500.
    conversation, failures = _transcript_of(523, failing=[521, 522])
    page = admin_client.get(path.format(conversation=conversation)).content.decode()
    for failure in failures:
        link = _link_to(page, failure.message_id)
        assert urlsplit(link)._replace(fragment="").geturl() == (
            f"/conversations/{conversation.id}/?message={failure.message_id}"
        )
        target = admin_client.get(link).content.decode()
        assert f'id="message-{failure.message_id}"' in target
        assert "Showing 23 of 523 messages." in target and '<a href="?">First messages</a>' in target


@pytest.mark.parametrize(
    ("turn", "part"), [(1, ["one", "two"]), (4, ["three", "four"]), (5, ["five"])], ids=["first", "middle", "last"]
)
def test_a_link_to_a_message_shows_the_part_holding_it_as_the_links_to_later_messages_reach_it(
    admin_client, monkeypatch, turn, part
):
    from conversations.tests.factories import FailureFactory

    monkeypatch.setattr("conversations.views.MAX_TRANSCRIPT_MESSAGES", 2)
    conversation = conversation_with_turns("one", "two", "three", "four", "five")
    message = Message.objects.get(conversation=conversation, position=turn - 1)
    failure = FailureFactory(conversation=conversation, message=message)
    page = admin_client.get(failure.message_url).content.decode()
    assert re.findall(r'<div class="content">(\w+)</div>', page) == part
    assert ('rel="next"' in page, '<a href="?">First messages</a>' in page) == (turn < 5, turn > 2)


def test_a_later_part_of_a_long_transcript_links_to_the_part_before_it(admin_client, monkeypatch):
    monkeypatch.setattr("conversations.views.MAX_TRANSCRIPT_MESSAGES", 2)
    conversation = conversation_with_turns("one", "two", "three", "four", "five", "six", "seven")
    url = f"/conversations/{conversation.id}/"

    def part(page: str) -> list[str]:
        return re.findall(r'<div class="content">(\w+)</div>', page)

    page = admin_client.get(url).content.decode()
    seen = [part(page)]
    while 'rel="next"' in page:  # forwards to the last part
        page = admin_client.get(url + html.unescape(re.search(r'href="([^"]*)" rel="next"', page).group(1))).content
        page = page.decode()
        seen.append(part(page))
    assert seen == [["one", "two"], ["three", "four"], ["five", "six"], ["seven"]]
    backwards = []
    while 'rel="prev"' in page:  # then back, one part at a time, to the second
        page = admin_client.get(url + html.unescape(re.search(r'href="([^"]*)" rel="prev"', page).group(1))).content
        page = page.decode()
        backwards.append(part(page))
    assert backwards == [["five", "six"], ["three", "four"]]  # the second links to the first as "First messages"
    assert '<a href="?">First messages</a>' in page


def test_a_link_to_a_message_finds_its_part_in_transcript_order_when_an_earlier_message_arrived_late(
    admin_client, monkeypatch
):
    from conversations.tests.factories import FailureFactory, MessageFactory

    monkeypatch.setattr("conversations.views.MAX_TRANSCRIPT_MESSAGES", 2)
    conversation = conversation_with_turns("one", "two", "three", "four")
    # Sent last (position 4) with the earliest time: first in the transcript, so "four" is 5th, in the third part.
    MessageFactory(conversation=conversation, position=4, content="zero", timestamp=datetime(2026, 11, 16, tzinfo=UTC))
    failure = FailureFactory(conversation=conversation, message=Message.objects.get(content="four"))
    page = admin_client.get(failure.message_url).content.decode()
    assert re.findall(r'<div class="content">(\w+)</div>', page) == ["four"]


def test_a_conversations_failure_list_jumps_within_the_page_to_a_failure_on_the_part_shown(admin_client):
    conversation, (shown, later) = _transcript_of(523, failing=[2, 522])
    page = admin_client.get(f"/conversations/{conversation.id}/").content.decode()
    sidebar = page[page.index('aria-label="Failures"') :]
    assert (_link_to(sidebar, shown.message_id), _link_to(sidebar, later.message_id)) == (
        f"#message-{shown.message_id}",
        later.message_url,
    )


@pytest.mark.parametrize("message", ["not-a-number", "{other.id}"], ids=["not-a-number", "of-another-conversation"])
def test_a_link_to_a_message_the_conversation_does_not_have_is_a_404_naming_it(admin_client, message):
    from conversations.tests.factories import MessageFactory

    conversation = conversation_with_turns("one", "two")
    other = MessageFactory()
    response = admin_client.get(f"/conversations/{conversation.id}/", {"message": message.format(other=other)})
    assert response.status_code == 404
    assert "This link to a message of the conversation is not valid." in response.content.decode()


def test_the_failure_inbox_can_be_ordered_oldest_first_and_its_form_keeps_the_order(admin_client):
    from analytics.tests.factories import FailureFactory

    older = FailureFactory(detected_at=timezone.now() - timedelta(hours=2))
    newer = FailureFactory(detected_at=timezone.now() - timedelta(hours=1))
    page = admin_client.get("/failures/", {"ordering": "detected_at"}).content.decode()
    assert page.index(str(older.id)) < page.index(str(newer.id))
    assert '<option value="detected_at" selected>Oldest first</option>' in page


def test_with_embeddings_on_but_no_pgvector_the_pages_say_pgvector_is_missing_not_to_turn_them_on(
    admin_client, settings, monkeypatch
):
    settings.FEATURE_EMBEDDINGS = True
    # The database's answer to "is conversation_embeddings.embedding a vector column?" (this one has pgvector).
    monkeypatch.setattr("analytics.embeddings.embeddings_available", lambda: False)
    conversation = conversation_with_turns("Can I change my delivery address?", "Yes, under Orders, then Address.")
    conversation_score(conversation_id=conversation.id)
    pages = admin_client.get(f"/conversations/{conversation.id}/").content.decode()
    pages += admin_client.get("/patterns/").content.decode()
    # Scoring reads messages by meaning without pgvector (it stores no vector); similar conversations and patterns
    # by meaning need the stored ones.
    assert ("Answers were judged by meaning" in pages, "Turn on embeddings" in pages) == (True, False)
    assert pages.count("the database needs pgvector: FEATURE_EMBEDDINGS is on") == 2


def test_the_failure_inbox_with_an_invalid_filter_still_shows_its_default_status_open(admin_client):
    page = admin_client.get("/failures/", {"severity": "dire"}).content.decode()
    assert '<option value="open" selected>' in page
