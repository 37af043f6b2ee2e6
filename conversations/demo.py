"""A seeded generator of realistic support-bot conversations for the demo data set of `make run`.

Plain Python (no ORM): it returns payloads in the shape of the ingestion API, so the demo goes
through the real ingestion service. Every failure type the detectors know appears, with the
frequencies a typical support bot shows (most conversations go fine).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

# topic -> (question, a good answer to it)
TOPICS: dict[str, list[tuple[str, str]]] = {
    "order status": [
        ("Where is my order {order}?", "Your order {order} shipped on {date}; it should arrive in 2-3 business days."),
        ("Has my order {order} shipped yet?", "Yes, order {order} shipped on {date} with tracking in your e-mail."),
        ("Can you track my package {order}?", "Package {order} is with the carrier and out for delivery today."),
    ],
    "refund": [
        ("I want a refund for order {order}", "I've started the refund for order {order}; expect it within 5 days."),
        ("How do I return the shoes I bought?", "Return the shoes from the Orders page: choose them, then 'Return'."),
        ("Can I get my money back for a damaged item?", "Yes: a damaged item gets a full refund, no return needed."),
    ],
    "password reset": [
        ("I forgot my password", "Click 'Forgot password' on the sign-in page; we'll e-mail you a reset link."),
        ("How do I reset my password?", "Use 'Forgot password' on the sign-in page to get a reset link by e-mail."),
        ("I can't log in to my account", "I've sent a sign-in link to your account's e-mail; it is valid for an hour."),
    ],
    "billing": [
        ("Why was I charged twice?", "One of the two charges is an authorisation hold; it disappears within 3 days."),
        ("Can I change my subscription plan?", "Yes, switch your subscription plan under Settings > Billing."),
        ("Where can I download my invoice?", "Your invoices are under Settings > Billing > Invoices, as PDF."),
    ],
    "shipping": [
        ("Do you ship to Canada?", "Yes, we ship to Canada; delivery takes 5-8 business days."),
        ("How much is express shipping?", "Express shipping costs $12.90 and arrives the next business day."),
        ("Can I change my delivery address?", "Change the delivery address from the order page until it ships."),
    ],
    "product question": [
        ("Is the blue jacket waterproof?", "Yes, the blue jacket is waterproof, with a 10,000 mm membrane."),
        ("What size should I pick for the running shoes?", "The running shoes run true to size; go up if between."),
        ("Is this laptop bag vegan?", "Yes, the laptop bag is vegan: recycled polyester, no animal materials."),
    ],
}

FALLBACKS = ["I'm sorry, I didn't understand that. Could you rephrase?", "I'm not sure I can help with that."]
REFUSALS = ["I'm sorry, but I can't help with that request.", "I am not able to share that information."]
FRUSTRATION = [
    "This is ridiculous, you're useless!",
    "Ugh, this is so frustrating. Nothing works.",
    "Terrible service.",
]
CORRECTIONS = ["No, that's not what I asked.", "That's wrong, I said order {order}.", "No no, I meant my other order."]
HANDOFF = ["Can I talk to a human please?", "Let me speak to a real person.", "Transfer me to an agent."]
OFF_TOPIC = ["Our stores are open from 9am to 8pm, Monday to Saturday.", "We have a new spring collection online!"]
THANKS = ["Thanks, that helps!", "Great, thank you!", "Perfect, thanks.", "ok thanks"]
SCENARIOS = [
    ("fine", 0.58),
    ("bot_fallback", 0.06),
    ("refusal", 0.04),
    ("user_frustration", 0.05),
    ("user_correction", 0.06),
    ("human_handoff_request", 0.05),
    ("repetition", 0.05),
    ("irrelevant_answer", 0.04),
    ("abandonment", 0.04),
    ("error", 0.03),
]
MODELS = ["gpt-4o-mini", "claude-3-5-haiku"]


def _fill(text: str, order: str, when: datetime) -> str:
    return text.format(order=order, date=(when - timedelta(days=1)).strftime("%b %d"))


class _Builder:
    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.at = start
        self.messages: list[dict] = []
        self.order = f"#{rng.randint(10000, 99999)}"  # one order per conversation: a user asking again names it again

    def user(self, text: str) -> None:
        self.at += timedelta(seconds=self.rng.randint(5, 60))
        self.messages.append(
            {"role": "user", "content": _fill(text, self.order, self.at), "timestamp": self.at.isoformat()}
        )

    def bot(self, text: str, *, latency_ms: int | None = None, error: str | None = None) -> None:
        latency_ms = latency_ms or self.rng.randint(400, 2500)
        self.at += timedelta(milliseconds=latency_ms)
        content = _fill(text, self.order, self.at)
        metadata = {
            "model": self.rng.choice(MODELS),
            "latency_ms": latency_ms,
            "input_tokens": self.rng.randint(80, 900),
            "output_tokens": max(1, len(content.split())),
        }
        if error:
            metadata["error"] = {"type": "APIError", "message": error}
        self.messages.append(
            {"role": "assistant", "content": content, "timestamp": self.at.isoformat(), "metadata": metadata}
        )


def demo_conversation(rng: random.Random, index: int, start: datetime) -> dict:
    """One conversation (ingestion payload shape) of a scenario drawn with SCENARIOS' weights."""
    topic = rng.choice(list(TOPICS))
    question, answer = rng.choice(TOPICS[topic])
    other_question = rng.choice([q for q, _ in TOPICS[topic] if q != question])
    scenario = rng.choices([name for name, _ in SCENARIOS], weights=[weight for _, weight in SCENARIOS])[0]
    chat = _Builder(rng, start)
    chat.user(question)
    if scenario == "fine":
        chat.bot(answer)
        chat.user(rng.choice(THANKS))
        chat.bot("You're welcome! Anything else I can help with?")
    elif scenario == "bot_fallback":
        chat.bot(rng.choice(FALLBACKS))
        chat.user(other_question)
        chat.bot(rng.choice(FALLBACKS))
    elif scenario == "refusal":
        chat.bot(rng.choice(REFUSALS))
        chat.user("Why not? I just need help with my " + topic)
        chat.bot(answer)
    elif scenario == "user_frustration":
        chat.bot(rng.choice(FALLBACKS))
        chat.user(rng.choice(FRUSTRATION))
        chat.bot("I'm sorry about that. " + answer)
    elif scenario == "user_correction":
        chat.bot(rng.choice(OFF_TOPIC))
        chat.user(rng.choice(CORRECTIONS))
        chat.bot(answer)
        chat.user(rng.choice(THANKS))
    elif scenario == "human_handoff_request":
        chat.bot(answer)
        chat.user(rng.choice(HANDOFF))
        chat.bot("I'm connecting you with a support agent now.")
    elif scenario == "repetition":
        chat.bot(rng.choice(FALLBACKS))
        chat.user(question)
        chat.bot(rng.choice(FALLBACKS))
        chat.user(question)
        chat.bot(answer)
    elif scenario == "irrelevant_answer":
        chat.bot(rng.choice(OFF_TOPIC))
        chat.user("That has nothing to do with my question.")
        chat.bot(answer)
    elif scenario == "abandonment":
        chat.bot(rng.choice(FALLBACKS + REFUSALS))
    else:  # error
        if rng.random() < 0.5:
            # A timeout takes as long as the upstream's limit; a gateway error comes back at once.
            error, latency_ms = rng.choice([("upstream model timed out", 30_000), ("upstream returned 502", 600)])
            chat.bot("Sorry, something went wrong on our side.", error=error, latency_ms=latency_ms)
        else:
            chat.bot(answer, latency_ms=rng.randint(16_000, 40_000))
        chat.user("Hello? Are you still there?")
        chat.bot(answer)
    return {
        "external_id": f"demo-{index:05d}",
        "environment": "production" if rng.random() < 0.85 else "staging",
        "user_id": f"customer-{rng.randint(1, 600)}",
        # `scenario`: the failure the conversation was written to show ("fine": none), so a reader can check the
        # detectors against it (tests/test_demo_data.py does).
        "metadata": {
            "channel": rng.choice(["web", "ios", "android"]),
            "topic": topic,
            "scenario": scenario,
            "demo": True,
        },
        "messages": chat.messages,
    }


# Hours a demo conversation starts at: the daytime, and a little at night.
HOURS = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 2]


def _start(rng: random.Random, now: datetime, days: int) -> datetime:
    """When a demo conversation starts: more often as the period goes on (the product is growing), at least an
    hour ago (so that the idle sweep can end it), half as often on a weekend day as on a weekday."""
    while True:  # a weekend day is kept one time in two: ends after two draws on average
        start = (now - timedelta(days=days - rng.triangular(0, days, days))).replace(hour=rng.choice(HOURS))
        if start > now - timedelta(hours=1):  # an hour of today still to come: that hour yesterday
            start -= timedelta(days=1)
        if start.weekday() < 5 or rng.random() < 0.5:
            return start


def demo_conversations(
    *, count: int = 2000, days: int = 30, seed: int = 42, now: datetime | None = None
) -> Iterator[dict]:
    """`count` conversations spread over the last `days` days (growing, busier on weekdays and daytime)."""
    rng = random.Random(seed)  # noqa: S311 (demo data, not security)
    now = now or datetime.now(UTC)
    for index in range(count):
        yield demo_conversation(rng, index, _start(rng, now, days))
