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
        "irrelevant_answer",
        [
            "I was charged twice for my March invoice. Can you refund the duplicate?",
            "To download an invoice as a PDF, click the menu next to it.",
            "I don't need a PDF, I need the duplicate charge refunded.",
        ],
        id="user_saying_what_they_need_instead_of_the_answer_makes_it_irrelevant",
    ),
    pytest.param(
        "irrelevant_answer",
        [
            "my badge stopped working at the front door",
            "You can reset your password at https://passwordreset.example.",
            "not my password, my BADGE. the physical card",
        ],
        id="user_naming_what_they_meant_instead_makes_the_answer_irrelevant",
    ),
    pytest.param(
        "irrelevant_answer",
        [
            "What's a good gift for my dad who likes fishing?",
            "Fishing dates back at least 40,000 years, to spears and bone hooks.",
            "cool story. gift ideas?",
        ],
        id="user_answering_a_lecture_with_cool_story_makes_it_irrelevant",
    ),
    pytest.param(
        "irrelevant_answer",
        [
            "Can I change the delivery address on order 90312?",
            "Your order 90312 is on its way! Track it at https://track.example/90312",
            "I asked to CHANGE THE ADDRESS",
        ],
        id="user_saying_what_they_asked_makes_the_answer_irrelevant",
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
        ["My images don't update.", "Try clearing your browser cache.", "That doesn't help, they are still old."],
        id="user_saying_the_answer_did_not_help_is_frustration",
    ),
    pytest.param(
        "bot_fallback",
        ["A table for four at Nopa tonight?", "Sorry, Nopa is unavailable tonight."],
        id="bot_saying_what_was_asked_is_unavailable_is_a_fallback",
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
    # The traffic of LLM assistants and support bots: other wordings of the same failures.
    pytest.param(
        "user_frustration",
        ["Refund the duplicate charge.", "Invoices are under Settings.", "This is the third time I'm asking."],
        id="user_asking_for_the_third_time_is_frustration",
    ),
    pytest.param(
        "user_frustration",
        ["How do I export?", "Use the Export button.", "You keep giving me the same answer."],
        id="user_saying_the_bot_keeps_giving_the_same_answer_is_frustration",
    ),
    pytest.param(
        "user_frustration",
        ["Unlock my account.", "Reset your password.", "I DID THAT ALREADY, UNLOCK IT NOW"],
        id="user_writing_in_capitals_is_frustration",
    ),
    pytest.param(
        "user_frustration",
        ["Where is my parcel?", "Parcels usually arrive in 3-5 days.", "Wow, super helpful. Thanks for nothing."],
        id="thanks_for_nothing_is_frustration",
    ),
    pytest.param(
        "user_correction",
        ["What's the upload limit?", "It's 5 MB.", "I don't think that's correct, the docs say 10 MB."],
        id="user_doubting_the_answer_is_a_correction",
    ),
    pytest.param(
        "user_correction",
        ["How do I read xlsx in pandas?", "Use `pd.read_xlsx()`.", "That function doesn't exist."],
        id="user_saying_the_suggested_function_does_not_exist_is_a_correction",
    ),
    pytest.param(
        "user_correction",
        ["My account is locked.", "Reset your password.", "I already tried that, it still says locked."],
        id="user_saying_the_advice_did_not_work_is_a_correction",
    ),
    pytest.param(
        "human_handoff_request",
        ["How do I contact a human? This bot can't help me."],
        id="user_asking_how_to_contact_a_human_is_a_handoff_request",
    ),
    pytest.param(
        "human_handoff_request",
        ["My payroll is blocked.", "Try again later.", "I'd like to escalate this to a real person please."],
        id="user_escalating_to_a_real_person_is_a_handoff_request",
    ),
    pytest.param(
        "refusal",
        ["What's your view on the election?", "I can only answer questions about Acme Cloud products."],
        id="bot_limiting_itself_to_its_scope_is_a_refusal",
    ),
    pytest.param(
        "refusal",
        ["Raise my card limit.", "I'm unable to make changes to your account limits in chat."],
        id="bot_unable_to_make_changes_is_a_refusal",
    ),
    pytest.param(
        "bot_fallback",
        ["Wht abt the thng?", "Sorry, I didn't quite catch that."],
        id="bot_not_catching_the_request_is_a_fallback",
    ),
    pytest.param(
        "bot_fallback",
        ["What are the API rate limits?", "The provided documentation does not contain information about that."],
        id="documentation_bot_without_an_answer_is_a_fallback",
    ),
    pytest.param(
        "bot_fallback",
        ["When does the Oslo office open?", "I don't have that information."],
        id="bot_without_the_information_is_a_fallback",
    ),
    pytest.param(
        "error",
        ["Summarise this page.", "⚠️ Error: upstream model returned 429 Too Many Requests."],
        id="rate_limit_notice_is_an_error",
    ),
    pytest.param(
        "error",
        ["Summarise this page.", '{"error": {"type": "context_length_exceeded"}}'],
        id="raw_json_error_is_an_error",
    ),
    pytest.param(
        "error",
        ["Fix this regex.", ""],
        id="empty_reply_is_an_error",
    ),
]

STAYS_QUIET = [
    pytest.param(
        "irrelevant_answer",
        [
            "Can you email me the invoice for March?",
            "Sent to the address on file. Do you also want a paper copy by post?",
            "I don't need a paper copy, thanks.",
        ],
        id="user_declining_an_extra_is_no_sign_the_answer_missed",
    ),
    pytest.param(
        "irrelevant_answer",
        [
            "Is the March invoice correct?",
            "It lists two seats at 20 dollars each.",
            "I asked my manager, she says two seats is right.",
        ],
        id="user_telling_what_they_asked_someone_else_is_no_sign_the_answer_missed",
    ),
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
    # The traffic of LLM assistants and support bots: what describes a problem, explains an error or answers.
    pytest.param(
        "user_frustration",
        ["I'm confused about git merge and rebase. When should I use each?"],
        id="user_confused_about_a_topic_before_the_bot_spoke_is_not_frustrated",
    ),
    pytest.param(
        "user_frustration",
        ["Clearing the cache doesn't help, my images are still old. Any idea?"],
        id="user_saying_what_they_tried_did_not_help_is_not_frustrated",
    ),
    pytest.param(
        "user_frustration",
        ["I tried clearing the browser cache but that doesn't help. Any idea why?"],
        id="user_saying_that_their_own_attempt_did_not_help_before_the_bot_spoke_is_not_frustrated",
    ),
    pytest.param(
        "error",
        [
            "Our API returned 503 last night. What does that code mean?",
            "HTTP 503 Service Unavailable means the server was reachable but could not handle the request. Servers"
            " can send a Retry-After header telling clients when to try again later.",
        ],
        id="bot_explaining_an_error_code_reports_no_error",
    ),
    pytest.param(
        "bot_fallback",
        ["What does 503 mean?", "503 Service Unavailable means the server is overloaded or down for maintenance."],
        id="bot_explaining_unavailable_is_no_fallback",
    ),
    pytest.param(
        "error",
        ["The VPN just says 'Error 809' at the hotel.", "Error 809 means the VPN client could not reach our gateway."],
        id="bot_opening_with_the_error_it_explains_reports_no_error",
    ),
    pytest.param(
        "user_frustration",
        ["How do I make fetch give up after 5 seconds?"],
        id="give_up_in_a_question_is_no_frustration",
    ),
    pytest.param(
        "user_frustration",
        ["Where are tags?", "Under Settings.", "Thanks! Never mind my other question, I found it."],
        id="never_mind_my_other_question_is_no_frustration",
    ),
    pytest.param(
        "user_correction",
        ["Hi, I'm on the monthly plan. Can you change it to annual billing?"],
        id="user_asking_for_a_change_before_the_bot_spoke_corrects_nothing",
    ),
    pytest.param(
        "user_correction",
        ["Set up a webhook.", "Are you behind a custom domain?", "No, it's on the default domain."],
        id="no_answering_a_question_about_the_user_is_no_correction",
    ),
    pytest.param(
        "user_correction",
        ["I can't log in.", "What do you see?", "I keep getting 'Incorrect password' on the login page."],
        id="a_quoted_incorrect_is_no_correction",
    ),
    pytest.param(
        "human_handoff_request",
        ["I need an agent that reads my Gmail and drafts replies. LangChain or LlamaIndex?"],
        id="asking_for_a_software_agent_is_no_handoff_request",
    ),
    pytest.param(
        "human_handoff_request",
        ["For expense reports over $5,000, is there a human review step before payout?"],
        id="asking_about_a_human_review_step_is_no_handoff_request",
    ),
    pytest.param(
        "refusal",
        ["Which language should I learn first?", "As an AI I don't have personal preferences, but Python is easy."],
        id="ai_disclaimer_before_an_answer_is_no_refusal",
    ),
    pytest.param(
        "refusal",
        ["Why does my app crash?", "Without the code I can't give a definitive answer, but it is usually a null."],
        id="hedge_before_an_answer_is_no_refusal",
    ),
    pytest.param(
        "bot_fallback",
        ["Does checking charge overdraft fees?", "There are no overdraft fees on Everyday Checking."],
        id="no_fee_stated_is_an_answer",
    ),
    pytest.param(
        "bot_fallback",
        ["Checkout fails.", "**Unable to complete checkout?** Clear the cart and add the items again."],
        id="a_markdown_heading_that_asks_is_no_fallback",
    ),
    pytest.param(
        "bot_fallback",
        ["pip fails, why?", "The message `Could not find a version` means the name is wrong: use `pyyaml`."],
        id="quoted_code_carries_no_cue",
    ),
    pytest.param(
        "error",
        [
            "How do I catch a KeyError?",
            "Wrap the lookup in try/except, or use `d.get(key)`, which raises no exception.",
        ],
        id="an_answer_about_exceptions_is_no_error",
    ),
    pytest.param(
        "error",
        [
            "Set a timeout on requests.get?",
            "Pass it: ```python\nrequests.get(url, timeout=10)  # Timeout error after 10 s\n```",
        ],
        id="code_about_timeouts_is_no_error",
    ),
    pytest.param(
        "irrelevant_answer",
        ["Wie kann ich meine Rechnungsadresse ändern?", "Gehen Sie zu Einstellungen und klicken Sie auf Bearbeiten."],
        id="topic_words_are_not_compared_in_another_language",
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


@pytest.mark.parametrize("said", ["How old are you?", "My parcel never arrived"])
def test_bot_echoing_a_question_or_request_is_irrelevant(said):
    assert "irrelevant_answer" in _types(_chat(said, said), ended=False)


@pytest.mark.parametrize("said", ["Hello!", "Good evening.", "ok", "Thanks!"])
@pytest.mark.parametrize("embeddings", [None, [[1.0, 0.0], [1.0, 0.0]]])
def test_bot_returning_a_greeting_or_acknowledgement_is_no_echo(said, embeddings):
    assert "irrelevant_answer" not in _types(_chat(said, said.capitalize()), ended=False, embeddings=embeddings)


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


def test_a_tool_call_without_text_is_no_empty_reply():
    messages = [
        {"role": "user", "content": "What's the weather in Oslo?"},
        {"role": "assistant", "content": "", "metadata": {"tool_calls": ["get_weather"]}},
        {"role": "assistant", "content": "It's 4 °C and raining in Oslo."},
    ]
    assert "error" not in _types(messages, ended=False)


@pytest.mark.parametrize(
    "last", ["got it", "👍", "ok cool", "ok that worked", "ah ok, archiving now", "I'll start with LangGraph. Cheers"]
)
def test_a_conversation_ending_on_an_acknowledgement_is_not_abandoned(last):
    messages = _chat("How do I list stopped containers?", "`docker ps -a` lists them all.", last)
    assert "abandonment" not in _types(messages, ended=True)


@pytest.mark.parametrize(
    "last", ["ok, now cancel my order", "Wow, super helpful. Thanks for nothing.", "My order is 1234"]
)
def test_a_conversation_ending_on_a_request_or_complaint_is_abandoned(last):
    messages = _chat("Where is my order?", "Orders ship within 2 days.", last)
    assert "abandonment" in _types(messages, ended=True)


def test_explanations_read_as_sentences():
    messages = [
        {"role": "user", "content": "Can you cancel order 1234 for me"},
        {"role": "assistant", "content": "", "metadata": {"error": {"type": "APIError", "message": "timed out"}}},
        {"role": "user", "content": "Can you cancel order 1234 for me"},
        {"role": "assistant", "content": "Sorry, I didn't understand that."},
        {"role": "user", "content": "useless"},
    ]
    explanations = {f.type: f.explanation for f in score_conversation(messages, ended=False).failures}
    # An error stored as an object reads as its type and message, from the bot's reply.
    assert explanations["error"] == "The bot's reply reported an error: APIError: timed out."
    # A quote that ends a sentence takes no second full stop; one that does not gets one.
    assert explanations["bot_fallback"] == (
        "The bot said it could not understand or answer the request: “Sorry, I didn't understand that.”"
    )
    assert explanations["user_frustration"] == "The user sounds frustrated: “useless”."
    # No message numbers the transcript does not show.
    assert "(message" not in explanations["repetition"]


def test_a_reply_that_failed_on_its_face_is_not_also_irrelevant():
    messages = [
        {"role": "user", "content": "How do I return the shoes?"},
        {"role": "assistant", "content": "", "metadata": {"error": "upstream 502"}},
        {"role": "user", "content": "That's not what I asked."},
    ]
    assert "irrelevant_answer" not in _types(messages, ended=False)


def test_a_conversation_keeps_at_most_the_set_number_of_failures_of_one_type():
    turns = []
    for _ in range(60):
        turns += ["Where is my order 1234 right now please?", "Sorry, I didn't understand that."]
    found = _types(_chat(*turns), ended=False, settings=ScoringSettings(max_failures_per_type=5))
    assert found.count("bot_fallback") == 5
    assert found.count("repetition") == 5
    assert len(_types(_chat(*turns), ended=False)) > 10


@pytest.mark.parametrize("reply", ["Sorry, I didn't quite get that.", "Something went wrong. Please try again later."])
def test_a_reply_that_failed_on_its_face_is_not_judged_by_meaning_either(reply):
    # bot_fallback and error report it; its distance from the request says nothing more.
    messages = _chat("How much data have I used this month?", reply)
    assert "irrelevant_answer" not in _types(messages, ended=False, embeddings=[[1.0, 0.0], [0.0, 1.0]])
