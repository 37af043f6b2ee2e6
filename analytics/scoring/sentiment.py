"""Per-message sentiment: the VADER compound score (-1 … 1) from vaderSentiment's shipped lexicon.

`compound` returns exactly what `SentimentIntensityAnalyzer().polarity_scores(text)["compound"]` returns
(analytics/tests/test_scoring_sentiment.py checks it on a few thousand texts), computed the way VADER does
but without its avoidable costs, which made it about 70% of the scoring time: VADER lower-cases the
whole message again for every sentiment word it meets (quadratic in the message length), rebuilds the text
character by character to replace emojis even when it has none, and computes the pos/neu/neg shares we do
not use. Here each message is lower-cased once, the emoji pass runs only when the text holds an emoji, and
only the compound score is computed. The rules, their order and the floating-point operations are VADER's.
"""

from __future__ import annotations

import heapq
import string
from functools import lru_cache

from vaderSentiment import vaderSentiment as vader
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

_BOOSTERS = vader.BOOSTER_DICT
_SPECIAL_CASES = vader.SPECIAL_CASES
_NEGATE = frozenset(vader.NEGATE)
_N_SCALAR = vader.N_SCALAR
_C_INCR = vader.C_INCR
_PUNCTUATION = string.punctuation


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    # Loading the lexicon takes ~50 ms: do it once per process, not per call.
    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def _emoji_chars() -> frozenset[str]:
    # VADER replaces an emoji character by character, so only one-character keys can ever match.
    return frozenset(k for k in _analyzer().emojis if len(k) == 1)


def _without_emojis(text: str, emojis: dict[str, str]) -> str:
    # VADER's emoji pass, verbatim: each emoji becomes its description, space-separated from a preceding word.
    out: list[str] = []
    prev_space = True
    for ch in text:
        if ch in emojis:
            if not prev_space:
                out.append(" ")
            out.append(emojis[ch])
            prev_space = False
        else:
            out.append(ch)
            prev_space = ch == " "
    return "".join(out)


def _negated(word_lower: str) -> bool:
    return word_lower in _NEGATE or "n't" in word_lower


def _negation_check(valence: float, low: list[str], start_i: int, i: int) -> float:
    if start_i == 0 and _negated(low[i - 1]):
        valence = valence * _N_SCALAR
    if start_i == 1:
        if low[i - 2] == "never" and (low[i - 1] == "so" or low[i - 1] == "this"):
            valence = valence * 1.25
        elif low[i - 2] == "without" and low[i - 1] == "doubt":
            pass
        elif _negated(low[i - 2]):
            valence = valence * _N_SCALAR
    if start_i == 2:
        if (low[i - 3] == "never" and (low[i - 2] == "so" or low[i - 2] == "this")) or (
            low[i - 1] == "so" or low[i - 1] == "this"
        ):
            valence = valence * 1.25
        elif low[i - 3] == "without" and (low[i - 2] == "doubt" or low[i - 1] == "doubt"):
            pass
        elif _negated(low[i - 3]):
            valence = valence * _N_SCALAR
    return valence


def _special_idioms_check(valence: float, low: list[str], i: int) -> float:
    onezero = f"{low[i - 1]} {low[i]}"
    twoonezero = f"{low[i - 2]} {low[i - 1]} {low[i]}"
    twoone = f"{low[i - 2]} {low[i - 1]}"
    threetwoone = f"{low[i - 3]} {low[i - 2]} {low[i - 1]}"
    threetwo = f"{low[i - 3]} {low[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in _SPECIAL_CASES:
            valence = _SPECIAL_CASES[seq]
            break
    if len(low) - 1 > i:
        zeroone = f"{low[i]} {low[i + 1]}"
        if zeroone in _SPECIAL_CASES:
            valence = _SPECIAL_CASES[zeroone]
    if len(low) - 1 > i + 1:
        zeroonetwo = f"{low[i]} {low[i + 1]} {low[i + 2]}"
        if zeroonetwo in _SPECIAL_CASES:
            valence = _SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in _BOOSTERS:
            valence = valence + _BOOSTERS[n_gram]
    return valence


def _least_check(valence: float, low: list[str], i: int, lexicon: dict[str, float]) -> float:
    if i > 1 and low[i - 1] not in lexicon and low[i - 1] == "least":
        if low[i - 2] != "at" and low[i - 2] != "very":
            valence = valence * _N_SCALAR
    elif i > 0 and low[i - 1] not in lexicon and low[i - 1] == "least":
        valence = valence * _N_SCALAR
    return valence


def _valence(item: str, i: int, words: list[str], low: list[str], is_cap_diff: bool, lexicon: dict) -> float:
    """VADER's SentimentIntensityAnalyzer.sentiment_valence for word `i`, with the words lower-cased once."""
    item_lowercase = low[i]
    if item_lowercase not in lexicon:
        return 0
    valence = lexicon[item_lowercase]
    last = len(words) - 1
    if item_lowercase == "no" and i != last and low[i + 1] in lexicon:
        valence = 0.0
    if (
        (i > 0 and low[i - 1] == "no")
        or (i > 1 and low[i - 2] == "no")
        or (i > 2 and low[i - 3] == "no" and low[i - 1] in ("or", "nor"))
    ):
        valence = lexicon[item_lowercase] * _N_SCALAR
    if item.isupper() and is_cap_diff:
        if valence > 0:
            valence += _C_INCR
        else:
            valence -= _C_INCR
    for start_i in range(0, 3):
        if i > start_i and low[i - (start_i + 1)] not in lexicon:
            s = vader.scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
            if start_i == 1 and s != 0:
                s = s * 0.95
            if start_i == 2 and s != 0:
                s = s * 0.9
            valence = valence + s
            valence = _negation_check(valence, low, start_i, i)
            if start_i == 2:
                valence = _special_idioms_check(valence, low, i)
    return _least_check(valence, low, i, lexicon)


def _but_check(low: list[str], sentiments: list[float]) -> list[float]:
    """VADER's `_but_check` (halve what comes before the first "but", raise what follows by half), in n log n time.

    VADER walks the list and rescales the *first* element equal to the current one (list.index, quadratic in the
    message length), popping and re-inserting it; that quirk is kept: `holding` maps each value to a heap of the
    positions that held it, where a position whose value has since changed is skipped when it comes up. Zeros are
    skipped: 0 scaled is 0 again, so the sum cannot change.
    """
    bi = low.index("but")
    holding: dict[float, list[int]] = {}
    for k, value in enumerate(sentiments):
        if value != 0:
            holding.setdefault(value, []).append(k)  # ascending, so already a heap
    for k in range(len(sentiments)):
        value = sentiments[k]
        if value == 0:
            continue
        heap = holding[value]
        while sentiments[heap[0]] != value:
            heapq.heappop(heap)
        si = heap[0]
        if si == bi:
            continue
        scaled = value * 0.5 if si < bi else value * 1.5
        sentiments[si] = scaled
        heapq.heappop(heap)
        heapq.heappush(holding.setdefault(scaled, []), si)
    return sentiments


def vader_compound(text: str) -> float:
    """Return `polarity_scores(text)["compound"]` of VADER, computed without its per-word quadratic costs."""
    analyzer = _analyzer()
    if not _emoji_chars().isdisjoint(text):
        text = _without_emojis(text, analyzer.emojis)
    text = text.strip()
    # SentiText._strip_punc_if_word: strip surrounding punctuation, unless that leaves two characters or fewer.
    words = [w if len(w := t.strip(_PUNCTUATION)) > 2 else t for t in text.split()]
    if not words:
        return 0.0
    low = [w.lower() for w in words]
    is_cap_diff = vader.allcap_differential(words)
    lexicon = analyzer.lexicon
    sentiments: list[float] = []
    last = len(words) - 1
    for i, item in enumerate(words):
        if low[i] in _BOOSTERS or (i < last and low[i] == "kind" and low[i + 1] == "of"):
            sentiments.append(0)
            continue
        # Most words carry no sentiment: only lexicon words go through the rules.
        sentiments.append(_valence(item, i, words, low, is_cap_diff, lexicon) if low[i] in lexicon else 0)
    if "but" in low:
        sentiments = _but_check(low, sentiments)
    sum_s = float(sum(sentiments))
    amplifier = analyzer._punctuation_emphasis(text)
    if sum_s > 0:
        sum_s += amplifier
    elif sum_s < 0:
        sum_s -= amplifier
    return round(vader.normalize(sum_s), 4)


@lru_cache(maxsize=4096)
def compound(text: str) -> float:
    """Return VADER's compound score of `text`, 0.0 for blank text.

    Cached per distinct text (short turns such as "yes" or "thank you" recur in every conversation).
    """
    if not text.strip():
        return 0.0
    return float(vader_compound(text))
