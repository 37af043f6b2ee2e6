"""Failure detectors: each reads the precomputed message views and returns the failures it finds."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import features, text
from .features import Vectors, View, context_words, earlier_overlap
from .types import Failure, Message, ScoringSettings

Detector = Callable[["DetectionInput"], list[Failure]]


class DetectionInput:
    """What every detector may read: views, raw messages, unit message vectors, the `ended` flag and settings."""

    __slots__ = ("_by_role", "ended", "messages", "settings", "vectors", "views")

    def __init__(
        self,
        *,
        views: Sequence[View],
        messages: Sequence[Message],
        vectors: Vectors | None,
        ended: bool,
        settings: ScoringSettings,
    ) -> None:
        self.views = views
        self.messages = messages
        self.vectors = vectors  # features.unit_vectors of the embeddings, or None
        self.ended = ended
        self.settings = settings
        self._by_role: dict[str, list[View]] = {}

    def role(self, role: str) -> list[View]:
        """Return the views of one role, in order (computed once: several detectors ask)."""
        if role not in self._by_role:
            self._by_role[role] = [v for v in self.views if v.role == role]
        return self._by_role[role]


def _quote(content: str, limit: int = 80) -> str:
    one_line = " ".join(content.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def _ended(text: str, end: str = "") -> str:
    """Return `text + end` closed by a full stop, unless `text` already ends a sentence ("…that.”", not "…that.”.")."""
    return text + end + ("" if text.endswith((".", "!", "?", "…")) else ".")


def _quoting(lead: str, content: str) -> str:
    """Return the explanation `lead: “content”.`, without a second full stop after a quote that ends a sentence."""
    return _ended(f"{lead}: “{_quote(content)}", "”")


def _error_text(error: Any) -> str:
    """Return a stored error as a person reads it: `{"type": "APIError", "message": "timed out"}` as
    "APIError: timed out", not as a Python dict."""
    if isinstance(error, Mapping):
        parts = [str(error[k]) for k in ("type", "code", "message", "detail") if error.get(k)]
        if parts:
            return ": ".join(parts)
    return str(error)


# Who a message's step is, in an explanation.
_STEP = {"assistant": "The bot's reply", "user": "The user's message", "tool": "A tool call", "system": "A system step"}


def detect_bot_fallback(data: DetectionInput) -> list[Failure]:
    """Flag bot turns that say they did not understand, or could not find or do what was asked."""
    found: list[Failure] = []
    streak = 0
    for v in data.role("assistant"):
        if "fallback" in v.cues:
            streak += 1
            # One "I didn't get that" is recoverable; the second in a row means the bot is stuck.
            severity = "high" if streak >= 2 else "medium"
            # "Sorry, I didn't get that", "I'm not sure I can help with that", "the documentation does not contain…".
            why = "The bot said it could not understand or answer the request"
        elif "unable" in v.cues and "refusal" not in v.cues:
            # "I'm unable to make changes to your account" declines: `refusal` reports it.
            streak = 0
            severity = "low"
            why = "The bot could not find or complete what was asked"
        else:
            streak = 0
            continue
        found.append(
            Failure(
                "bot_fallback",
                severity,
                v.index,
                _quoting(why, v.content),
                {"kind": "not_understood" if "fallback" in v.cues else "could_not_answer"},
                related_index=v.previous_user,
            )
        )
    return found


def detect_refusal(data: DetectionInput) -> list[Failure]:
    """Flag bot turns that decline to help ("I can't help with that"), not mere uses of "can't"."""
    return [
        Failure(
            "refusal",
            "medium",
            v.index,
            _quoting("The bot declined the request", v.content),
            {"apologised": "apology" in v.cues},
            related_index=v.previous_user,
        )
        for v in data.role("assistant")
        if "refusal" in v.cues
    ]


def detect_user_frustration(data: DetectionInput) -> list[Failure]:
    """Flag user turns that voice frustration or confusion; strongly negative ones are high severity."""
    found: list[Failure] = []
    for v in data.role("user"):
        if not v.cues & {"frustration", "confusion"}:
            continue
        sentiment = v.sentiment or 0.0
        shouting = v.content.count("!") >= 2 or (len(v.content) >= 8 and v.content.isupper())
        severity = "high" if sentiment <= -0.5 or shouting else "medium"
        kind = "frustration" if "frustration" in v.cues else "confusion"
        feeling = "frustrated" if kind == "frustration" else "confused"
        found.append(
            Failure(
                "user_frustration",
                severity,
                v.index,
                _quoting(f"The user sounds {feeling}", v.content),
                {"kind": kind, "sentiment": sentiment},
                related_index=v.previous_bot,
            )
        )
    return found


def detect_user_correction(data: DetectionInput) -> list[Failure]:
    """Flag user turns that say the bot got it wrong, or reject what the bot proposed or confirmed."""
    found: list[Failure] = []
    for v in data.role("user"):
        bot = data.views[v.previous_bot] if v.previous_bot is not None else None
        bot_cues = bot.cues if bot is not None else frozenset()
        winds_down = "closing" in v.cues or "wrap_up" in bot_cues
        # A "no" answers a question about the user ("Do you already have an endpoint?" "No, not yet."); it turns
        # something down when the bot proposed or stated it.
        proposed = bot is not None and (not bot.is_question or bool(bot_cues & {"proposal", "confirm"}))
        if "correction" in v.cues:
            severity, why = "medium", "The user says the bot got it wrong"
        elif "negation" in v.cues and "confirm" in bot_cues and not winds_down:
            severity, why = "medium", "The user rejected what the bot asked them to confirm"
        elif "rejection" in v.cues or ("negation" in v.cues and bot is not None and not winds_down and proposed):
            severity, why = "low", "The user turned down what the bot proposed"
        else:
            continue
        found.append(
            Failure(
                "user_correction",
                severity,
                v.index,
                _quoting(why, v.content),
                {"cues": sorted(v.cues & {"correction", "negation", "rejection"})},
                related_index=v.previous_bot,
            )
        )
    return found


def detect_human_handoff_request(data: DetectionInput) -> list[Failure]:
    """Flag user turns that ask for a person (agent, representative, customer service)."""
    return [
        Failure(
            "human_handoff_request",
            "high",
            v.index,
            _quoting("The user asked for a human", v.content),
            {},
            related_index=v.previous_bot,
        )
        for v in data.role("user")
        if "handoff" in v.cues
    ]


def _short_request_asked_again(data: DetectionInput, v: View) -> bool:
    """Return whether a user turn asks again, word for word, what an earlier user turn asked, and is a request, not
    an answer or an acknowledgement ("Yup, sounds good.", "Sounds perfect for me." twice is agreement)."""
    if v.role != "user" or v.cues & {"thanks", "closing", "negation"}:
        return False
    if text.DIRECT_ANSWER.search(v.content.lower()):
        return False
    asked = _words_only(v.content)
    return any(
        other.role == "user" and _words_only(other.content) == asked
        for other in data.views[max(0, v.index - 12) : v.index]
    )


def _words_only(content: str) -> str:
    return " ".join(text.words(content))


def detect_repetition(data: DetectionInput) -> list[Failure]:
    """Flag a user re-asking an earlier request, and a bot repeating an earlier answer or question."""
    thresholds = {"user": data.settings.repetition_overlap, "assistant": data.settings.bot_repetition_overlap}
    found: list[Failure] = []
    for v in data.views:
        if v.role not in thresholds:
            continue
        # Short turns ("yes", "thank you") repeat by nature; only a request with substance can be re-asked: three
        # topic words, or two in a request asked again word for word ("I forgot my password").
        if len(v.content_words) < 2 or (len(v.content_words) == 2 and not _short_request_asked_again(data, v)):
            continue
        share, where = earlier_overlap(data.views, v, v.role)
        if share < thresholds[v.role] or where is None:
            continue
        if v.role == "user":
            why = "The user repeated an earlier request, as if it had not been handled"
            related = v.previous_bot
        else:
            why = "The bot repeated what it had already said"
            related = v.previous_user
        severity = "medium" if share >= 0.9 else "low"
        found.append(
            Failure(
                "repetition",
                severity,
                v.index,
                _quoting(why, v.content),
                {"repeats_index": where, "overlap": round(share, 3), "side": v.role},
                related_index=related,
            )
        )
    return found


# Bot cues of a reply that fails on its face: bot_fallback, refusal or error report it, so irrelevant_answer does
# not judge its topic, and abandonment counts it as a failure the user may have left on.
_FAILING_BOT_CUES = frozenset({"fallback", "unable", "refusal", "error_text"})
# An assistant message that only calls tools has no text by nature (the SDK's wrappers record the calls here).
_TOOL_CALL_KEYS = frozenset({"tool_calls", "function_call", "tool_use"})


def _empty_reply(v: View, metadata: Mapping[str, Any]) -> bool:
    return v.role == "assistant" and not v.content.strip() and not metadata.keys() & _TOOL_CALL_KEYS


def _fails_on_its_face(data: DetectionInput, v: View) -> bool:
    """Return whether a bot turn failed whatever it answered: a failing cue, an error in its metadata, no text."""
    metadata = data.messages[v.index].metadata or {}
    return bool(v.cues & _FAILING_BOT_CUES or metadata.get("error") or _empty_reply(v, metadata))


def _answered_by_form(user: View, bot: View) -> bool:
    """Return whether the reply's form answers the question whatever its words: a number (a phone number, an
    address, a time, a price: "May I know their number?" "It's 408-729-7690"), or a yes or a no to a yes-no
    question ("Is there parking?" "No, but…")."""
    lower = bot.content.lower()
    if any(c.isdigit() for c in lower):
        return True
    return bool(text.YES_NO_QUESTION.search(user.content.lower()) and text.DIRECT_ANSWER.search(lower))


def _asks_nothing(user: View) -> bool:
    """Return whether a user turn asks for nothing a reply could fail to address: an acknowledgement ("Thanks!",
    "Yes, that's right", "No, that's all"), or a request for a human, which human_handoff_request reports (and
    `refusal` a reply that refuses it): "I'm connecting you with an agent" shares no word with "Can I talk to a
    human?"."""
    if "handoff" in user.cues:
        return True
    if user.is_question or len(user.content_words) >= 2:
        return False
    return bool(user.cues & {"thanks", "closing"}) or bool(text.DIRECT_ANSWER.search(user.content.lower()))


def _echoes_a_request(user: View, bot: View) -> bool:
    """Return whether the bot said back, word for word, a question or a request ("How old are you?" → "How old are
    you?"). A greeting or an acknowledgement said back ("Hello!" → "Hello!", "ok" → "Ok") is the ordinary answer to
    it: on DBDC3 those echoes were breakdowns less often than the average bot turn."""
    said = bot.content.strip().lower()
    return bool(said) and said == user.content.strip().lower() and (user.is_question or len(user.content_words) >= 2)


def detect_irrelevant_answer(data: DetectionInput) -> list[Failure]:
    """Flag answers that do not address the request: by embedding similarity, else by shared topic words.

    Either way a reply whose form answers the question (`_answered_by_form`) is not judged: on the labelled
    task-bot sets, a number given for "what is their phone number?" was the commonest false alarm. Nor is a reply
    to a turn that asks for nothing (`_asks_nothing`), unless it echoes it. But when the user's next turn says the
    reply missed what they asked ("That has nothing to do with my question", "you didn't answer"), the reply is
    flagged on their word, whatever its form or words ("Our stores are open from 9am to 8pm" holds numbers).
    """
    found: list[Failure] = []
    for v in data.role("assistant"):
        if v.previous_user is None or v.previous_user != v.index - 1:
            continue
        user = data.views[v.previous_user]
        reaction = data.views[v.next_user] if v.next_user is not None else None
        if reaction is not None and "missed" in reaction.cues and not _fails_on_its_face(data, v):
            found.append(
                Failure(
                    "irrelevant_answer",
                    "medium",
                    v.index,
                    _quoting("The user said the answer missed their request", reaction.content),
                    {"method": "user", "reaction_index": reaction.index},
                    related_index=user.index,
                )
            )
            continue
        echo = _echoes_a_request(user, v)
        if not echo and (_asks_nothing(user) or _fails_on_its_face(data, v)):
            # A reply that failed on its face ("Sorry, I didn't get that", an empty reply) is reported by its own
            # detector; its topic is not judged, by words or by meaning.
            continue
        similarity = None if echo or data.vectors is None else features.similarity(data.vectors, user.index, v.index)
        if similarity is not None:
            if similarity < data.settings.irrelevant_embedding_similarity and not _answered_by_form(user, v):
                found.append(
                    Failure(
                        "irrelevant_answer",
                        "medium",
                        v.index,
                        f"The answer is semantically far from the request (similarity {similarity:.2f}).",
                        {"method": "embedding", "similarity": round(similarity, 3)},
                        related_index=user.index,
                    )
                )
            continue
        # Lexical: a substantive question answered with a statement that shares no topic word (compared by stem,
        # text.content_words) with it or the two messages before it: not even a return to the earlier subject.
        # A counter-question ("which city?") is a legitimate answer, so it is not judged here.
        off_topic = (
            user.is_question
            and text.reads_english(user.content)
            and len(user.content_words) >= 2
            and len(v.content_words) >= 3
            and not v.is_question
            and not (context_words(data.views, v) & v.content_words)
            and not _answered_by_form(user, v)
        )
        if echo or off_topic:
            why = (
                "The bot echoed the user's words back"
                if echo
                else "The answer shares no topic word with the question or the messages before it"
            )
            found.append(
                Failure(
                    "irrelevant_answer",
                    "low",
                    v.index,
                    _quoting(why, v.content),
                    {"method": "lexical", "echo": echo},
                    related_index=user.index,
                )
            )
    return found


def detect_abandonment(data: DetectionInput) -> list[Failure]:
    """Flag an ended conversation whose last turn is an unanswered user message or a failure."""
    if not data.ended:
        return []
    talk = [v for v in data.views if v.role in ("user", "assistant")]
    if not talk:
        return []
    last = talk[-1]
    if last.role == "user":
        upset = bool(last.cues & features.UPSET)
        # "Perfect, thanks." or "ok, that worked" needs no answer: the user has been helped.
        if features.signs_off(last):
            return []
        severity = "high" if upset else "medium"
        return [
            Failure(
                "abandonment",
                severity,
                last.index,
                "The conversation ended on a user message the bot never answered.",
                {"last_role": "user", "upset": upset},
                related_index=last.previous_bot,
            )
        ]
    if _fails_on_its_face(data, last):
        return [
            Failure(
                "abandonment",
                "high",
                last.index,
                "The user left right after the bot failed to help.",
                {"last_role": "assistant", "cues": sorted(last.cues & _FAILING_BOT_CUES)},
                related_index=last.index,
            )
        ]
    return []


def detect_error(data: DetectionInput) -> list[Failure]:
    """Flag messages whose metadata reports an error or a latency over the threshold, and error texts."""
    limit = data.settings.latency_threshold_ms
    found: list[Failure] = []
    for v, m in zip(data.views, data.messages, strict=True):
        meta: Mapping[str, Any] = m.metadata or {}
        if meta.get("error"):
            step = _STEP.get(v.role, f"The {v.role} step")
            found.append(
                Failure(
                    "error",
                    "high",
                    v.index,
                    _ended(f"{step} reported an error: {_quote(_error_text(meta['error']), 60)}"),
                    {"error": str(meta["error"])[:200]},
                    related_index=v.previous_user,
                )
            )
            continue
        latency = meta.get("latency_ms")
        if isinstance(latency, int | float) and latency > limit:
            severity = "high" if latency > 3 * limit else "medium"
            found.append(
                Failure(
                    "error",
                    severity,
                    v.index,
                    f"The reply took {latency / 1000:.1f} s (threshold {limit / 1000:.1f} s).",
                    {"latency_ms": latency},
                    related_index=v.previous_user,
                )
            )
            continue
        if _empty_reply(v, meta):
            found.append(
                Failure(
                    "error",
                    "medium",
                    v.index,
                    "The bot sent an empty reply.",
                    {"source": "empty"},
                    related_index=v.previous_user,
                )
            )
            continue
        if v.role == "assistant" and "error_text" in v.cues:
            found.append(
                Failure(
                    "error",
                    "medium",
                    v.index,
                    _quoting("The bot's reply reads like an error message", v.content),
                    {"source": "text"},
                    related_index=v.previous_user,
                )
            )
    return found


DETECTORS: tuple[Detector, ...] = (
    detect_bot_fallback,
    detect_refusal,
    detect_user_frustration,
    detect_user_correction,
    detect_human_handoff_request,
    detect_repetition,
    detect_irrelevant_answer,
    detect_abandonment,
    detect_error,
)


_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


def detect_failures(data: DetectionInput) -> list[Failure]:
    """Run every detector; return failures ordered by message index, then type, at most
    `settings.max_failures_per_type` of each type (the most severe, then the earliest)."""
    limit = data.settings.max_failures_per_type
    found: list[Failure] = []
    for detector in DETECTORS:
        failures = detector(data)
        if len(failures) > limit:
            failures = sorted(failures, key=lambda f: (_SEVERITY_RANK.get(f.severity, 3), f.message_index))[:limit]
        found.extend(failures)
    return sorted(found, key=lambda f: (f.message_index, f.type))
