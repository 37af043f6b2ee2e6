"""Per-turn interpretable features: what each message says and how it relates to its neighbours."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from . import text
from .sentiment import compound
from .types import Message

WEIGHTS_PATH = Path(__file__).with_name("model_weights.json")

# How many messages before a bot turn make up the context its relevance is judged against.
CONTEXT = 3

# Cue patterns run on every message once; detectors and features read the flags.
_USER_CUES = {
    "negation": text.NEGATION_OPENING,
    "closing": text.CLOSING,
    "correction": text.CORRECTION,
    "rejection": text.REJECTION,
    "retry": text.RETRY,
    "frustration": text.FRUSTRATION,
    "confusion": text.CONFUSION,
    "handoff": text.HANDOFF,
    "missed": text.MISSED,
    "thanks": text.THANKS,
    "negated": text.NEGATED,
    "alternative": text.ALTERNATIVE,
}
_BOT_CUES = {
    "fallback": text.FALLBACK,
    "unable": text.UNABLE,
    "refusal": text.REFUSAL,
    "apology": text.APOLOGY,
    "confirm": text.CONFIRM_QUESTION,
    "wrap_up": text.WRAP_UP_QUESTION,
    "error_text": text.ERROR_TEXT,
    "proposal": text.PROPOSAL,
}
# All the bot cues in one pattern, searched first: it matches exactly when one of them would, and most bot turns
# carry none (23% of the labelled files' bot turns carry any), so one search replaces eight for the rest. User
# turns carry a cue too often (31% there, 84% in bench/ text) for such a pre-check to pay.
_ANY_BOT_CUE = re.compile("|".join(f"(?:{rx.pattern})" for rx in _BOT_CUES.values()))
# Cues that react to something the bot said: on a turn before the bot has said anything, "I'm confused about
# merge and rebase", "Can you change it to annual billing?" or "No idea how to start" describe the user's own
# question, not the bot.
_REACTIONS = frozenset({"negation", "correction", "rejection", "retry", "confusion", "missed"})


@dataclass(frozen=True, slots=True)
class View:
    """A message with everything the scorer derives from it once."""

    index: int
    role: str
    content: str
    content_words: frozenset[str]
    sentiment: float | None
    cues: frozenset[str]
    is_question: bool
    previous_user: int | None
    previous_bot: int | None
    next_user: int | None


def build_views(messages: Sequence[Message], sentiments: Sequence[float | None] | None = None) -> list[View]:
    """Return one View per message, with the indexes of the neighbouring user and bot turns.

    `sentiments`, one per message, are compound scores computed earlier (stored with the message); a None
    among them is computed here. A message's text never changes, so neither does its score.
    """
    views: list[View] = []
    last_user: int | None = None
    last_bot: int | None = None
    next_user: list[int | None] = [None] * len(messages)
    upcoming: int | None = None
    for i in range(len(messages) - 1, -1, -1):
        next_user[i] = upcoming
        if messages[i].role == "user":
            upcoming = i
    for i, m in enumerate(messages):
        lower = m.content.lower()
        said = text.prose(lower)
        patterns = _USER_CUES if m.role == "user" else _BOT_CUES if m.role == "assistant" else {}
        if m.role == "assistant" and not _ANY_BOT_CUE.search(said):
            patterns = {}
        cues = frozenset(name for name, rx in patterns.items() if rx.search(said))
        if m.role == "assistant" and text.ERROR_OPENING.match(said):
            cues |= {"error_text"}
        if m.role == "user":
            if last_bot is None:
                cues -= _REACTIONS
            if len(said) <= 24 and text.ACK_ONLY.match(said):
                cues |= {"closing"}
            if text.shouts(m.content if said is lower else text.prose(m.content)):
                cues |= {"frustration"}
            if last_bot is not None and text.NOT_HELPED.search(said):
                cues |= {"frustration"}
        # Sentiment is about people and answers; system prompts and tool payloads have none.
        sentiment = None
        if m.role in ("user", "assistant"):
            known = sentiments[i] if sentiments is not None else None
            sentiment = compound(m.content) if known is None else known
        views.append(
            View(
                index=i,
                role=m.role,
                content=m.content,
                content_words=text.content_words(lower),
                sentiment=sentiment,
                cues=cues,
                is_question="?" in m.content,
                previous_user=last_user,
                previous_bot=last_bot,
                next_user=next_user[i],
            )
        )
        if m.role == "user":
            last_user = i
        elif m.role == "assistant":
            last_bot = i
    return views


# What a user turn says when it is upset: it cannot close the conversation.
UPSET = frozenset({"frustration", "confusion", "correction", "handoff"})


def signs_off(view: View) -> bool:
    """Return whether a user turn closes the conversation, needing no answer: "That's all, thanks", "Perfect,
    thanks.", "ok cool", "ok that worked", "ah ok, archiving now"; not a question, a request ("ok, now cancel my
    order") nor a complaint."""
    if view.cues & UPSET:
        return False
    if "closing" in view.cues:
        return True
    if view.is_question:
        return False
    said = text.prose(view.content.lower())
    if text.REQUEST.search(said):
        return False
    return "thanks" in view.cues or bool(text.ACKNOWLEDGED.search(said)) or (view.sentiment or 0.0) >= 0.5


def earlier_overlap(views: Sequence[View], view: View, role: str, *, window: int = 6) -> tuple[float, int | None]:
    """Return the highest share of `view`'s content words found in one earlier `role` message, and where."""
    best, where = 0.0, None
    seen = 0
    for j in range(view.index - 1, -1, -1):
        other = views[j]
        if other.role != role:
            continue
        seen += 1
        if seen > window:
            break
        share = text.containment(view.content_words, other.content_words)
        if share > best:
            best, where = share, j
    return best, where


def context_words(views: Sequence[View], view: View) -> frozenset[str]:
    """Return the topic words of the CONTEXT messages before `view`: what a reply is judged against."""
    return frozenset().union(*(views[j].content_words for j in range(max(0, view.index - CONTEXT), view.index)))


def user_turn_features(views: Sequence[View], view: View) -> dict[str, float]:
    """Return the features of one user turn that the dissatisfaction model weighs (all 0..1)."""
    cues = view.cues
    bot = views[view.previous_bot] if view.previous_bot is not None else None
    bot_cues = bot.cues if bot is not None else frozenset()
    negation = "negation" in cues
    closing = "closing" in cues or ("thanks" in cues and len(view.content_words) <= 2)
    after_wrap_up = "wrap_up" in bot_cues
    sentiment = view.sentiment or 0.0
    repeat, _ = earlier_overlap(views, view, "user")
    bot_repeat = 0.0
    if bot is not None and bot.is_question and len(bot.content_words) >= 2:
        bot_repeat, _ = earlier_overlap(views, bot, "assistant")
    return {
        # A "no" rejecting what the bot said; a "no" to "anything else?" or "no, that's all" is a wind-down.
        "rejects_bot": float(negation and not closing and not after_wrap_up),
        "rejects_confirmation": float(negation and "confirm" in bot_cues),
        "declines_wrap_up": float(negation and (closing or after_wrap_up)),
        "correction": float("correction" in cues),
        "rejection": float("rejection" in cues),
        "retry": float("retry" in cues),
        "frustration": float("frustration" in cues or "confusion" in cues or "handoff" in cues),
        "thanks": float("thanks" in cues),
        "negated_statement": float("negated" in cues and not closing),
        "asks_alternative": float("alternative" in cues and not closing),
        "rejects_proposal": float(negation and "proposal" in bot_cues and not closing and not after_wrap_up),
        "no_after_failure": float(negation and bool(bot_cues & {"unable", "fallback", "refusal"})),
        "negative_sentiment": max(0.0, -sentiment),
        "positive_sentiment": max(0.0, sentiment),
        "after_bot_unable": float("unable" in bot_cues or "fallback" in bot_cues or "refusal" in bot_cues),
        "after_bot_apology": float("apology" in bot_cues),
        "repeats_request": float(repeat >= 0.6 and len(view.content_words) >= 2),
        "bot_asked_again": float(bot_repeat >= 0.6),
    }


# Prototypical complaints. bench/train_scoring.py embeds them and commits their normalised mean
# (`complaint_centroid` in model_weights.json); a user turn close to it reads like one of them.
COMPLAINT_PHRASES = (
    "No, that's not what I asked for.",
    "That's wrong.",
    "You are not listening to me.",
    "I already told you that.",
    "This is not helpful at all.",
    "Are you sure? Please check again.",
    "No, I don't want that.",
    "That doesn't work for me.",
    "Why can't you find anything?",
    "I'm disappointed.",
    "That's not right, I said something else.",
    "Forget it, I give up.",
)

Vectors = Sequence["np.ndarray | None"]


def unit_vectors(embeddings: Sequence[Sequence[float] | None]) -> list[np.ndarray | None]:
    """Return each embedding as a float array of length 1 (None stays None, a zero vector becomes None)."""
    out: list[np.ndarray | None] = []
    for e in embeddings:
        if e is None:
            out.append(None)
            continue
        v = np.asarray(e, dtype=np.float64)
        norm = float(np.linalg.norm(v))
        out.append(v / norm if norm else None)
    return out


def similarity(vectors: Vectors, i: int | None, j: int | None) -> float | None:
    """Return the cosine similarity of messages i and j, None when either has no vector."""
    if i is None or j is None:
        return None
    a, b = vectors[i], vectors[j]
    if a is None or b is None or a.shape != b.shape:
        return None
    return float(a @ b)


def _max_similarity_to_earlier(views: Sequence[View], vectors: Vectors, view: View, *, window: int = 6) -> float:
    best, seen = 0.0, 0
    for j in range(view.index - 1, -1, -1):
        if views[j].role != view.role:
            continue
        seen += 1
        if seen > window:
            break
        best = max(best, similarity(vectors, view.index, j) or 0.0)
    return best


def complaint_similarity(vectors: Vectors, index: int, centroid: np.ndarray | None) -> float:
    """Return how close message `index` is to the complaint prototypes (0 without a vector or centroid)."""
    v = vectors[index]
    if v is None or centroid is None or v.shape != centroid.shape:
        return 0.0
    return max(0.0, float(v @ centroid))


def semantic_user_turn_features(
    views: Sequence[View], vectors: Vectors, view: View, centroid: np.ndarray | None
) -> dict[str, float]:
    """Return the embedding features of one user turn (all 0..1), added when embeddings are on."""
    bot = views[view.previous_bot] if view.previous_bot is not None else None
    answered = similarity(vectors, bot.index, bot.previous_user) if bot is not None else None
    return {
        # The user rephrases an earlier request: the bot did not deliver it the first time.
        "sem_repeats_request": _max_similarity_to_earlier(views, vectors, view),
        # The bot's last turn said again what it had already said (asking again for given information).
        "sem_bot_asked_again": _max_similarity_to_earlier(views, vectors, bot) if bot is not None else 0.0,
        # The bot's last turn was far from the request it answered (it ignored the question).
        "sem_bot_off_request": 1.0 - max(0.0, answered) if answered is not None else 0.0,
        "sem_complaint": complaint_similarity(vectors, view.index, centroid),
    }


def bot_turn_features(
    views: Sequence[View],
    view: View,
    *,
    risks: Mapping[int, float],
    error: bool,
    blamed: bool,
    struggle: float,
    off_topic_share: float,
) -> dict[str, float]:
    """Return the lexical features of one assistant turn that the bot-turn failure model weighs."""
    user = views[view.previous_user] if view.previous_user is not None else None
    echo = user is not None and view.content.strip().lower() == user.content.strip().lower() != ""
    repeat = 0.0
    if len(view.content_words) >= 2:
        for other in views[: view.index]:
            if other.role == "assistant" and view.content_words <= other.content_words:
                repeat = 1.0
                break
    ignores = (
        user is not None
        and len(user.content_words) >= 1
        and len(view.content_words) >= 2
        and not user.content_words & view.content_words
    )
    # A non-sequitur: no topic word in common with any of the last three messages (the request, the bot's
    # own previous turn and the request before it), so not even a return to an earlier topic.
    context = context_words(views, view)
    next_user = views[view.next_user] if view.next_user is not None else None
    return {
        "user_reaction": risks.get(view.next_user, 0.0) if view.next_user is not None else 0.0,
        "fallback": float("fallback" in view.cues),
        "refusal": float("refusal" in view.cues),
        "unable": float("unable" in view.cues),
        "error": float(error or "error_text" in view.cues),
        "echo": float(echo),
        "self_repetition": repeat,
        "ignores_topic": float(ignores),
        "ignores_context": float(len(view.content_words) >= 2 and bool(context) and not context & view.content_words),
        # Off-context share over the conversation's bot turns; bot_turn_rows fills it in.
        "ignores_context_conversation": 0.0,
        # The user's next turn says they are lost or that the bot got it wrong ("what?", "that's not what I said").
        "next_user_confused": float(
            next_user is not None and bool(next_user.cues & {"confusion", "frustration", "correction"})
        ),
        "blamed_by_failure": float(blamed),
        "struggling_conversation": struggle,
        # A bot that keeps changing the subject in this conversation is likely doing it on this turn too.
        "off_topic_conversation": off_topic_share,
        "answers_a_question": float(user is not None and user.is_question),
    }


def context_similarity(vectors: Vectors, index: int) -> float | None:
    """Return the cosine similarity of message `index` to the mean of the CONTEXT messages before it."""
    v = vectors[index]
    context = [c for c in vectors[max(0, index - CONTEXT) : index] if c is not None and v is not None]
    if v is None or not context or any(c.shape != v.shape for c in context):
        return None
    mean = np.sum(context, axis=0)
    norm = float(np.linalg.norm(mean))
    return float(v @ mean) / norm if norm else None


def semantic_bot_turn_features(
    views: Sequence[View],
    vectors: Vectors,
    view: View,
    *,
    centroid: np.ndarray | None,
    off_request_mean: float,
    off_context_mean: float,
) -> dict[str, float]:
    """Return the embedding features of one assistant turn (0..1), added when embeddings are on."""
    answered = similarity(vectors, view.index, view.previous_user)
    in_context = context_similarity(vectors, view.index)
    return {
        # Far from the user turn it answers: an irrelevant answer, or the question ignored.
        "sem_off_request": 1.0 - max(0.0, answered) if answered is not None else 0.0,
        "sem_off_request_conversation": off_request_mean,
        # Far from the last three messages taken together: a non-sequitur, not only a change of subject.
        "sem_off_context": 1.0 - max(0.0, in_context) if in_context is not None else 0.0,
        "sem_off_context_conversation": off_context_mean,
        "sem_self_repetition": _max_similarity_to_earlier(views, vectors, view),
        "sem_next_user_complaint": (
            complaint_similarity(vectors, view.next_user, centroid) if view.next_user is not None else 0.0
        ),
    }


@lru_cache(maxsize=1)
def committed_weights() -> Mapping[str, Any]:
    """Return the weights committed next to this module (read once per process)."""
    return json.loads(WEIGHTS_PATH.read_text())


def logistic(weights: Mapping[str, float], intercept: float, features: Mapping[str, float]) -> float:
    """Return the logistic-regression probability for `features` (features the weights lack count 0)."""
    z = intercept + sum(w * features.get(name, 0.0) for name, w in weights.items())
    return 1.0 / (1.0 + math.exp(-z))
