"""Per-message sentiment: the VADER compound score (-1 … 1) from vaderSentiment's shipped lexicon."""

from __future__ import annotations

from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    # Loading the lexicon takes ~50 ms: do it once per process, not per call.
    return SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """Return VADER's compound score of `text`, 0.0 for blank text."""
    if not text.strip():
        return 0.0
    return float(_analyzer().polarity_scores(text)["compound"])
