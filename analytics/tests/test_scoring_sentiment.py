"""The fast VADER compound score gives exactly what vaderSentiment's own analyzer gives."""

import random

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from analytics.scoring import score_conversation
from analytics.scoring.sentiment import compound, vader_compound

# VADER's own examples of each rule it applies, plus edge cases of tokenising.
RULE_EXAMPLES = (
    "VADER is smart, handsome, and funny.",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "👍great",
    "Not bad at all",
    "Sentiment analysis has never been this good!",
    "Most automated sentiment analysis tools are shit.",
    "With VADER, sentiment analysis is the shit!",
    "On the other hand, VADER is quite bad ass",
    "Without a doubt, excellent idea.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "no no no, bad but good good good",
    "No problem, no worries, no good",
    "yeah right, that's to die for",
    "Why??? What??!! NO!!!!",
    "",
    "   ",
    "ok",
)

_VOCABULARY_TEXT = """
good great bad terrible love hate help helpful useless not never no nope isn't don't without doubt
very really so this kind of sort least at but and or nor the a it is was refund order thanks sorry
please wrong fine happy sad angry :) :( 😁 💔 GOOD BAD NOT Very
"""
VOCABULARY = _VOCABULARY_TEXT.split()
PUNCTUATION = ("", "", "", ".", ",", "!", "?", "!!", "??", "...")


def _random_texts(count: int, *, longest: int = 30, seed: int = 4711) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        words = [rng.choice(VOCABULARY) + rng.choice(PUNCTUATION) for _ in range(rng.randint(1, longest))]
        texts.append(" ".join(words))
    return texts


@pytest.fixture(scope="module")
def analyzer():
    return SentimentIntensityAnalyzer()


@pytest.mark.parametrize("text", RULE_EXAMPLES)
def test_each_vader_rule_example_scores_as_vader_scores_it(analyzer, text):
    assert vader_compound(text) == analyzer.polarity_scores(text)["compound"]


def test_random_texts_dense_in_rule_words_score_as_vader_scores_them(analyzer):
    texts = _random_texts(3000)
    assert [vader_compound(t) for t in texts] == [analyzer.polarity_scores(t)["compound"] for t in texts]


def test_long_texts_with_many_buts_and_emojis_score_as_vader_scores_them(analyzer):
    # Hundreds of equal sentiment values around several "but"s: VADER rescales the first equal value each time.
    texts = [*_random_texts(25, longest=1500, seed=8), "😁😁 good😁 but 💔bad " * 200, "but " + "good bad " * 300]
    assert [vader_compound(t) for t in texts] == [analyzer.polarity_scores(t)["compound"] for t in texts]


def test_blank_text_has_a_neutral_score():
    assert compound("  \n") == 0.0


def test_a_stored_sentiment_is_used_instead_of_running_vader_again():
    messages = [
        {"role": "user", "content": "This is great, thanks!"},
        {"role": "assistant", "content": "Glad to help."},
    ]
    assert score_conversation(messages, ended=True, sentiments=[-0.5, None]).sentiments[0] == -0.5


def test_stored_sentiments_give_the_same_score_as_computing_them():
    messages = [
        {"role": "user", "content": "Where is my refund? This is useless."},
        {"role": "assistant", "content": "Sorry, I didn't understand that."},
        {"role": "user", "content": "No, that's not what I asked!"},
    ]
    computed = score_conversation(messages, ended=True)
    stored = score_conversation(messages, ended=True, sentiments=list(computed.sentiments))
    assert stored.to_dict() == computed.to_dict()


def test_sentiments_of_another_length_than_the_messages_are_refused():
    with pytest.raises(ValueError, match="sentiments"):
        score_conversation([{"role": "user", "content": "Hi"}], ended=True, sentiments=[0.1, 0.2])
