"""Each detector fires on a conversation written to trigger it and stays quiet on a near miss."""

import pytest

from analytics.scoring import ScoringSettings, score_conversation


def _types(messages, *, ended=True, **kwargs):
    return [f.type for f in score_conversation(messages, ended=ended, **kwargs).failures]


def _chat(*turns):
    roles = ("user", "assistant")
    return [{"role": roles[i % 2], "content": text} for i, text in enumerate(turns)]


FIRES = [
    pytest.param(
        "bot_fallback",
        ["Can I move my delivery slot?", "Sorry, I didn't understand that. Could you rephrase?"],
        id="bot_saying_it_did_not_understand_is_a_fallback",
    ),
    pytest.param(
        "bot_fallback",
        ["Book the table at Nopa for 8 pm.", "Sorry, I still couldn't book that table. Try 9 pm?"],
        id="bot_failing_to_do_what_was_asked_is_a_fallback",
    ),
    pytest.param(
        "refusal",
        ["Write my exam essay for me.", "I'm sorry, I can't help with that request."],
        id="bot_declining_to_help_is_a_refusal",
    ),
    pytest.param(
        "refusal",
        ["What do your competitors pay you?", "Unfortunately I can't share internal pricing."],
        id="bot_saying_it_cant_share_something_is_a_refusal",
    ),
    pytest.param(
        "bot_fallback",
        ["A hotel in the centre under 80 pounds?", "I'm sorry, I can't find any hotels that match that."],
        id="bot_saying_it_cant_find_anything_is_a_fallback",
    ),
    pytest.param(
        "user_frustration",
        ["Where is my refund?", "Your order has shipped.", "Ugh, this is useless! Where is my REFUND?"],
        id="user_cursing_the_bot_is_frustration",
    ),
    pytest.param(
        "bot_fallback",
        ["Can I pay with crypto?", "I'm not sure I can help with that."],
        id="bot_not_sure_it_can_help_is_a_fallback",
    ),
    pytest.param(
        "irrelevant_answer",
        [
            "How do I return the shoes?",
            "Our stores are open from 9am to 8pm.",
            "That has nothing to do with my question.",
        ],
        id="answer_the_user_says_missed_the_request_is_irrelevant_whatever_its_form",
    ),
    pytest.param(
        "user_correction",
        [
            "How do I return the shoes?",
            "Our stores are open from 9am to 8pm.",
            "That has nothing to do with my question.",
        ],
        id="user_saying_the_answer_has_nothing_to_do_with_the_question_is_a_correction",
    ),
    pytest.param(
        "repetition",
        ["I forgot my password", "Sorry, I didn't understand that.", "I forgot my password"],
        id="user_asking_a_short_request_again_word_for_word_is_repetition",
    ),
    pytest.param(
        "user_frustration",
        ["Where is my order?", "Your order has shipped.", "Terrible service."],
        id="user_calling_the_service_terrible_is_frustration",
    ),
    pytest.param(
        "user_frustration",
        ["Can I change my plan?", "Please rephrase.", "You are the worst chatbot I have used."],
        id="user_calling_the_bot_the_worst_is_frustration",
    ),
    pytest.param(
        "user_correction",
        ["What time do you open on Sunday?", "We are located on Main Street.", "No, that's not what I asked."],
        id="user_saying_that_is_not_what_they_asked_is_a_correction",
    ),
    pytest.param(
        "human_handoff_request",
        ["My card was charged twice.", "Please check your statement.", "I want to talk to a real person."],
        id="user_asking_for_a_real_person_is_a_handoff_request",
    ),
    pytest.param(
        "human_handoff_request",
        ["Can I speak to someone from customer service, please?", "One moment."],
        id="user_asking_for_customer_service_is_a_handoff_request",
    ),
    pytest.param(
        "repetition",
        [
            "How do I reset my router password?",
            "Routers are networking devices.",
            "How do I reset the router password?",
        ],
        id="user_repeating_a_request_is_repetition",
    ),
    pytest.param(
        "repetition",
        [
            "Book a table for two tonight.",
            "Which restaurant in town should I book for tonight?",
            "The Italian place on Main Street.",
            "Which restaurant in town should I book for tonight?",
        ],
        id="bot_saying_the_same_thing_again_is_repetition",
    ),
    pytest.param(
        "irrelevant_answer",
        [
            "What is the baggage allowance on economy flights?",
            "Our newsletter brings weekly recipes and gardening tips.",
        ],
        id="off_topic_answer_is_irrelevant_by_lexical_fallback",
    ),
    pytest.param(
        "irrelevant_answer",
        ["What is the baggage allowance on economy flights?", "Yes, our newsletter brings weekly recipes."],
        id="answer_opening_with_yes_to_an_open_question_can_be_irrelevant",
    ),
]

STAYS_QUIET = [
    pytest.param(
        "bot_fallback",
        ["Can I move my delivery slot?", "Yes, your slot is now Friday 10:00."],
        id="bot_answering_plainly_is_no_fallback",
    ),
    # An assistant's how-to answer: "if you can't find…" and "there is no need…" are advice, not a failure.
    pytest.param(
        "bot_fallback",
        [
            "How do I reset my password?",
            "Open Settings, then Account, and click Reset password. If you can't find the option, make sure you "
            "are logged in as the owner. There is no need to contact support for this.",
        ],
        id="bot_advising_what_to_do_if_the_user_cannot_find_something_is_no_fallback",
    ),
    pytest.param(
        "refusal",
        ["I ordered the new blender.", "Great choice, I can't wait to hear how you like it!"],
        id="bot_saying_it_cannot_wait_is_no_refusal",
    ),
    pytest.param(
        "user_frustration",
        ["Where is my refund?", "It was sent yesterday.", "Oh nice, thank you so much!"],
        id="user_who_is_pleased_shows_no_frustration",
    ),
    pytest.param(
        "irrelevant_answer",
        [
            "How do I return the shoes?",
            "Return the shoes from the Orders page.",
            "Thanks, that answers my question. Can you answer my question about refunds?",
        ],
        id="user_asking_a_new_question_says_nothing_of_the_previous_answer",
    ),
    pytest.param(
        "repetition",
        [
            "A table for two at eight?",
            "Booked. Is that right?",
            "Yup, sounds good.",
            "Anything else?",
            "Yup, sounds good.",
        ],
        id="user_agreeing_twice_in_the_same_words_is_no_repetition",
    ),
    pytest.param(
        "repetition",
        [
            "When shall we come?",
            "Which day suits you?",
            "Yes, Tuesday morning.",
            "Tuesday? Morning?",
            "Yes, Tuesday morning.",
        ],
        id="user_giving_the_same_answer_twice_is_no_repetition",
    ),
    pytest.param(
        "user_correction",
        ["Is the jacket waterproof?", "Yes, fully.", "Great. The colour has nothing to do with the weather, right?"],
        id="nothing_to_do_with_something_else_is_no_correction",
    ),
    pytest.param(
        "user_frustration",
        ["I've had a terrible experience at the Gold Wok. Another restaurant nearby?", "Try Nopa, two blocks north."],
        id="user_telling_of_a_bad_experience_elsewhere_shows_no_frustration",
    ),
    pytest.param(
        "user_frustration",
        ["Their customer service was terrible, can you help me file a complaint?", "Sure: what is the order number?"],
        id="user_complaining_about_someone_elses_service_shows_no_frustration",
    ),
    pytest.param(
        "user_correction",
        ["What time do you open on Sunday?", "We open at 10 on Sundays.", "No worries, thanks!"],
        id="user_saying_no_worries_is_no_correction",
    ),
    pytest.param(
        "user_correction",
        ["Book me a table for two.", "Done! Anything else I can help with?", "No, that's all."],
        id="user_saying_no_to_anything_else_is_no_correction",
    ),
    pytest.param(
        "human_handoff_request",
        ["My brother is a real person of habit, he loves your pasta.", "Glad to hear it!"],
        id="user_mentioning_a_person_is_no_handoff_request",
    ),
    pytest.param(
        "human_handoff_request",
        ["Does the Grand Hotel have good customer service?", "Guests rate its staff 4.6 of 5."],
        id="user_asking_about_a_hotels_customer_service_is_no_handoff_request",
    ),
    pytest.param(
        "repetition",
        [
            "How do I reset my router password?",
            "Hold the reset button for 10 seconds.",
            "Which cable goes into the modem?",
        ],
        id="user_asking_a_new_question_is_no_repetition",
    ),
    # A bot's turns share their template; one that takes in what the user changed is not repeating itself.
    pytest.param(
        "repetition",
        [
            "Book the return flight from Las Vegas on Friday morning.",
            "Please confirm: return flight from Las Vegas, Friday, 8 am, economy class.",
            "No, make it Monday at 6 pm.",
            "Please confirm: return flight from Las Vegas, Monday, 6 pm, economy class.",
        ],
        id="bot_confirming_again_with_the_changed_detail_is_no_repetition",
    ),
    pytest.param(
        "irrelevant_answer",
        [
            "What is the baggage allowance on economy flights?",
            "Economy flights include one 23 kg checked baggage item.",
        ],
        id="on_topic_answer_is_relevant_by_lexical_fallback",
    ),
    pytest.param(
        "irrelevant_answer",
        ["Which cinemas show comedies tonight?", "The Odeon cinema shows one comedy film after eight."],
        id="answer_sharing_a_word_stem_with_the_question_is_relevant",
    ),
    pytest.param(
        "irrelevant_answer",
        [
            "I need a hotel room in Cambridge for Friday.",
            "Sure. How many nights will you stay?",
            "Just one. Is breakfast included there?",
            "Yes, breakfast comes with every hotel room.",
        ],
        id="answer_returning_to_the_earlier_subject_is_relevant",
    ),
    # A request for a human asks for no information: human_handoff_request reports it, whatever the reply says.
    pytest.param(
        "irrelevant_answer",
        ["Can I talk to a human please?", "I'm connecting you with a support agent now."],
        id="reply_to_a_request_for_a_human_is_not_judged_for_topic_words",
    ),
    # A user saying the bot got it wrong is a correction; the same words are not reported as confusion too.
    pytest.param(
        "user_frustration",
        [
            "How do I return the shoes I bought?",
            "We have a new spring collection online!",
            "No, that's not what I asked.",
        ],
        id="correction_is_not_also_reported_as_confusion",
    ),
    # An error message is reported as an error; its topic words are not judged as well.
    pytest.param(
        "irrelevant_answer",
        ["Do you ship to Canada?", "Sorry, something went wrong on our side. Please try again later."],
        id="error_message_is_not_also_an_irrelevant_answer",
    ),
    pytest.param(
        "abandonment",
        ["Can you cancel my order?", "Which order?", "Order 1234, the blue shoes."],
        id="ongoing_conversation_is_never_abandoned",
    ),
]


@pytest.mark.parametrize(("failure_type", "turns"), FIRES)
def test_detector_fires_on_a_conversation_written_to_trigger_it(failure_type, turns):
    assert failure_type in _types(_chat(*turns), ended=False)


@pytest.mark.parametrize(("failure_type", "turns"), STAYS_QUIET)
def test_detector_stays_quiet_on_a_near_miss(failure_type, turns):
    assert failure_type not in _types(_chat(*turns), ended=False)


def test_bot_introducing_itself_as_an_ai_or_using_an_idiom_is_no_refusal():
    intro = _chat("Can you help me plan a trip?", "As an AI assistant, I can help you plan it: here are three ideas.")
    idiom = _chat("You keep saying 'awesome'.", "I know, I can't help it. It's a great word.")
    assert "refusal" not in _types(intro, ended=False)
    assert "refusal" not in _types(idiom, ended=False)


def test_answer_whose_form_answers_the_question_is_relevant():
    # A number for "what is their phone number?", a yes or a no for a yes-no question: no shared word needed.
    number = _chat("May I know their phone number?", "It's 408-729-7690, open until nine.")
    yes_no = _chat("Does the guesthouse allow pets at all?", "No, sadly animals must stay home.")
    assert "irrelevant_answer" not in _types(number, ended=False)
    assert "irrelevant_answer" not in _types(yes_no, ended=False)


def test_dissimilar_embeddings_make_an_answer_irrelevant():
    messages = _chat("What is the baggage allowance?", "The allowance is one bag.")
    assert "irrelevant_answer" in _types(messages, ended=False, embeddings=[[1.0, 0.0], [0.0, 1.0]])


def test_similar_embeddings_keep_an_answer_relevant():
    messages = _chat("What is the baggage allowance?", "Our newsletter brings weekly recipes.")
    assert "irrelevant_answer" not in _types(messages, ended=False, embeddings=[[1.0, 0.1], [0.9, 0.2]])


def test_ending_on_an_unanswered_user_message_is_abandonment():
    messages = _chat("Can you cancel my order?", "Which order?", "Order 1234, the blue shoes.")
    assert "abandonment" in _types(messages, ended=True)


def test_ending_after_the_user_said_thanks_is_no_abandonment():
    messages = _chat("Can you cancel order 1234?", "Done, it is cancelled.", "Thanks, that's all!")
    assert "abandonment" not in _types(messages, ended=True)


def test_error_in_message_metadata_is_an_error():
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "", "metadata": {"error": "upstream 502"}},
    ]
    assert "error" in _types(messages, ended=False)


def test_slow_reply_is_an_error():
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "metadata": {"latency_ms": 40_000}},
    ]
    assert "error" in _types(messages, ended=False)


def test_reply_within_the_latency_threshold_is_no_error():
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "metadata": {"latency_ms": 900}},
    ]
    assert "error" not in _types(messages, ended=False, settings=ScoringSettings(latency_threshold_ms=1000))


def test_a_user_who_thanks_and_leaves_has_not_abandoned():
    messages = [
        {"role": "user", "content": "Can I get my money back for a damaged item?"},
        {"role": "assistant", "content": "Yes: a damaged item gets a full refund, no return needed."},
        {"role": "user", "content": "Perfect, thanks."},
    ]
    assert "abandonment" not in {f.type for f in score_conversation(messages, ended=True).failures}


def test_a_thanks_with_a_new_question_left_unanswered_is_abandonment():
    messages = [
        {"role": "user", "content": "Can I get my money back for a damaged item?"},
        {"role": "assistant", "content": "Yes: a damaged item gets a full refund, no return needed."},
        {"role": "user", "content": "Thanks, and how long does the refund take?"},
    ]
    assert "abandonment" in {f.type for f in score_conversation(messages, ended=True).failures}


def test_reply_to_an_acknowledgement_is_never_irrelevant():
    # "Thanks!" asks nothing, so "Anything else?" cannot miss it, however far apart their embeddings are.
    messages = _chat("Thanks!", "Is there anything else I can do for you?")
    assert "irrelevant_answer" not in _types(messages, ended=False, embeddings=[[1.0, 0.0], [0.0, 1.0]])


def test_reply_to_a_request_for_a_human_is_never_irrelevant():
    messages = _chat("Can I talk to a human please?", "Please hold on while I connect you.")
    assert "irrelevant_answer" not in _types(messages, ended=False, embeddings=[[1.0, 0.0], [0.0, 1.0]])


def test_bot_echoing_the_user_is_irrelevant_with_embeddings_too():
    messages = _chat("What is the baggage allowance?", "What is the baggage allowance?")
    assert "irrelevant_answer" in _types(messages, ended=False, embeddings=[[1.0, 0.0], [1.0, 0.0]])


BOT_CUE_EXAMPLES = {
    "fallback": "Sorry, I didn't understand that.",
    "unable": "I couldn't find any flights on that day.",
    "refusal": "I'm sorry, I can't help with that.",
    "apology": "Unfortunately the museum is closed.",
    "confirm": "Please confirm: two tickets for Friday.",
    "wrap_up": "Is there anything else I can do?",
    "error_text": "Something went wrong, please try again later.",
    "proposal": "How about the Grand Hotel?",
}


def test_every_bot_cue_passes_the_combined_pre_check():
    # build_views searches the bot cues one by one only when the combined pattern matches: each must pass it.
    from analytics.scoring import Message
    from analytics.scoring.features import _ANY_BOT_CUE, _BOT_CUES, build_views

    assert set(BOT_CUE_EXAMPLES) == set(_BOT_CUES)
    for name, example in BOT_CUE_EXAMPLES.items():
        assert _ANY_BOT_CUE.search(example.lower())
        views = build_views([Message(role="assistant", content=example)])
        assert name in views[0].cues, name
