"""Lexical building blocks: tokenising, content words, and the compiled cue patterns the detectors share."""

from __future__ import annotations

import re

import Stemmer  # PyStemmer: the Snowball stemmers in C ("bookings", "booked" -> "book")

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# Function words and chat filler: two messages sharing only these share no topic.
_STOPWORD_TEXT = """
a an the i you he she it we they me my your yours our their his her its them us is are was were be been
being am do does did doing done have has had having to of in on at for with and or but so if then that this
these those there here what which who whom whose when where why how not no yes ok okay oh well just really
very too also as by from about into over than can could would should will shall may might must i'm you're
it's that's don't i'll let's what's lol haha hahaha hi hello hey please thanks thank sure yeah yep nope
get got go going want like know think say said tell one some any all more much many other else again
now then need let make see look something anything thing things way good great nice fine right sorry
would've i've you've i'd you'd you'll we're they're can't won't didn't doesn't isn't aren't wasn't
im dont cant wont didnt doesnt isnt u ur r y
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


_STEMMER = Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Return the lower-cased word tokens of `text`."""
    return _WORD.findall(text.lower())


def content_words(text: str) -> frozenset[str]:
    """Return the Snowball stems of the words of `text` that carry topic (no stopwords, at least three letters),
    so that "cinemas" meets "cinema" and "booking" meets "booked"."""
    return frozenset(_STEMMER.stemWords([w for w in set(words(text)) if len(w) > 2 and w not in STOPWORDS]))


# Code is what a message quotes or shows, not what its author says: "```except KeyError:```", "`timeout=10`",
# "`Could not find a version`" carry no cue. Fenced blocks (an unclosed fence runs to the end) and inline spans.
_CODE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]+`", re.DOTALL)


def prose(text: str) -> str:
    """Return `text` with its code blocks and inline code spans blanked (one space each)."""
    return _CODE.sub(" ", text) if "`" in text or "~~~" in text else text


_LETTERS = re.compile(r"[^\W\d_]{2,}")


def shouts(text: str) -> bool:
    """Return whether `text` is written in capitals: three or more words of two letters or more, none in lower
    case ("WHY IS MY ACCOUNT STILL LOCKED"; not "OK" or "FYI")."""
    return text.isupper() and len(_LETTERS.findall(text)) >= 3


def reads_english(text: str) -> bool:
    """Return whether `text` looks English enough for topic words to be compared: a text of four words or more
    needs one English function word ("Wie kann ich meine Rechnungsadresse ändern?" has none)."""
    tokens = words(text)
    return len(tokens) < 4 or any(t in STOPWORDS for t in tokens)


def containment(part: frozenset[str], whole: frozenset[str]) -> float:
    """Return the share of `part` found in `whole` (0.0 when `part` is empty)."""
    if not part:
        return 0.0
    return len(part & whole) / len(part)


def _rx(pattern: str) -> re.Pattern[str]:
    # The cue patterns are written in lower case and searched in lower-cased text (`View.lower`): Python's
    # re runs case-insensitive alternations three to four times slower than case-sensitive ones.
    return re.compile(pattern)


# --- user-side cues -------------------------------------------------------------------------------------

# "No", "Nope" … opening the turn: a rejection of what the bot just said or proposed.
NEGATION_OPENING = _rx(r"^\W*(?:no+|nope|nah|negative|not really|not quite|wrong)\b")
# A turn that only winds the conversation down ("no, that's all, thanks"): a negation that is not a complaint.
CLOSING = _rx(
    r"\b(?:that(?:'?s| is| was| will be| would be|'ll be) (?:all|it|everything)|nothing else|"
    r"i'?m (?:all )?(?:good|done|set|all set)|that'?s (?:all|it) for (?:now|today)|"
    r"no,? (?:thanks?(?: you)?|thx|gracias|merci|danke)\W*$|no,? (?:that'?s|it'?s|i'?m) (?:fine|ok|okay|good)\b|"
    r"no worries|no problem|bye|goodbye|have a (?:good|great|nice)|"
    # An acknowledgement closing the turn ("… so it keeps a reference. Got it."): the user has what they came for.
    r"(?:got it|cheers|will do|noted|understood|makes sense|appreciate (?:it|that|you)|much appreciated)\W*$)"
)
# An acknowledgement that is the whole turn ("ok", "cool", "👍"): also a closing (features.build_views tries it on
# short turns only, with match: it cannot start anywhere else).
ACK_ONLY = _rx(
    r"\W*(?:ok(?:ay)?|k|kk|cool|alright|all right|roger|fine|sure|great|nice|perfect|ty|tysm)\W*$|"
    r"[\s👍🙏👌✅🙂😊😀😄❤️+1!.]+$"
)
# The user says the previous answer was wrong or re-states what they asked for.
CORRECTION = _rx(
    r"\b(?:that'?s not (?:right|correct|true|what i|it)|that is not (?:right|correct|what i)|(?:you'?re|"
    r"you are|that'?s|that is) wrong|"
    # "That's incorrect", not a quoted message ("I keep getting 'Incorrect password'").
    r"(?:(?:that|it|this|which|is|was|be|you)(?:'?s|'?re| are)? )incorrect|incorrect\W*$|"
    r"not what i (?:asked|meant|wanted|said|need)|i (?:said|meant|asked|told you)|"
    r"as i said|i already (?:said|told|gave|mentioned)|let me clarify|i misspoke|"
    r"you misunderstood|that'?s not it|change (?:it|that|this) to|make it (?:for|on|at)|"
    r"i want(?:ed)? .{0,30}\binstead|no,? i (?:want|need|said|meant|asked)|"
    r"nothing to do with (?:my (?:question|request)|what i (?:asked|said|wanted|need))|"
    r"i (?:don'?t|do not) think (?:that'?s|that is|this is|it'?s|it is|you'?re|you are) (?:right|correct|true|"
    r"accurate)|that'?s not what (?:your|the) (?:website|site|docs|documentation|page|app|policy|faq|manual|"
    r"terms|email|invoice) says|(?:still|same) (?:the same )?(?:error|problem|issue)|"
    r"(?:link|url|page) (?:is |gives (?:me )?|returns |leads to )?(?:a )?(?:404|broken|dead)\b|"
    r"(?:that|this|the|your) (?:flag|option|function|method|setting|command|button|menu|endpoint|page|field|"
    r"parameter|tab|link|feature) (?:doesn'?t|does not|did ?n[o']?t) exist|i just (?:gave|told|said|sent|provided) "
    r"(?:it|you|that)|i (?:did|tried) (?:that|this|it) already|i already (?:did|tried)|(?:it|that|this) (?:still|"
    r"again) (?:says|shows|fails|does ?n[o']?t work|is ?n[o']?t working|won'?t))\b"
)
# The user turns down an offer or a result ("I don't like it", "something else").
REJECTION = _rx(
    r"\b(?:(?:do not|don'?t|didn'?t) (?:like|want) (?:it|that|this|them|those)|not interested|(?:that|it|"
    r"this) (?:won'?t|doesn'?t|does not|will not) (?:work|do)|no good|not good enough|not (?:suitable|"
    r"what i'?m looking)|too (?:early|late|expensive|far|pricey|much|small|big)|something else|"
    r"someone else|somewhere else|(?:any|some) other (?:options?|ones?|places?)|more options|"
    r"other options|another (?:one|option|place)|anything else (?:available|there)|what else (?:is there|"
    r"do you have|did you find))\b"
)
# The user doubts the answer or asks the bot to try again.
RETRY = _rx(
    r"\b(?:are you (?:sure|certain)|(?:check|search|look|try|find) (?:it )?again|double[- ]check|"
    r"there must be|really\?|please (?:check|look) (?:again|harder)|nothing at all)\b"
)
# Disappointment and frustration.
FRUSTRATION = _rx(
    r"\b(?:ugh+|argh+|come on|ridiculous|useless|stupid|dumb|idiot\w*|annoy\w*|frustrat\w*|"
    r"waste of (?:my )?time|taking (?:too|so) long|this is (?:really |so )?(?:confusing|annoying|terrible|"
    r"awful|horrible|bad)|"
    # Said of the service or the bot itself ("Terrible service.", "worst bot ever"), not of anything bad: "I had
    # a bad experience at the Gold Wok" is a request for another restaurant.
    r"(?:terrible|awful|horrible|lousy|pathetic|worst) (?:customer )?(?:service|support|bot|chatbot|assistant)|"
    r"you(?:'re| are) (?:terrible|awful|horrible|pathetic|the worst)|"
    r"disappoint\w*|too bad|that'?s a (?:shame|pity)|bummer|oh no|damn|wtf|"
    r"hate (?:this|you|it)|not helpful|unhelpful|you(?:'re| are) (?:not|no) help\w*|"
    r"thanks? for nothing|(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time (?:i'?ve |i'?m |i )?(?:ask|tri|"
    r"said|explain|told|contact|writ)\w*|how many times (?:do|have|must|should) i|(?:you )?keep (?:giving|saying|"
    r"telling|sending|repeating|showing) (?:me )?(?:the same|that)|(?:running out of|losing|lost) (?:my )?patience|"
    r"are you (?:kidding|serious)|seriously\?|you don'?t understand|pointless|forget it|"
    r"never ?mind(?! my (?:other|last|previous|earlier))|i(?:'ll| will)? give up|giving up)\b"
)
# Not helped by the answer ("that doesn't help"), not by what the user tried ("clearing the cache doesn't help"):
# frustration only after a bot turn (features.build_views), as a first message tells of what the user tried.
NOT_HELPED = _rx(
    r"\b(?:that|this|it|you|which) (?:doesn'?t|does not|didn'?t|did not|isn'?t|is not) help(?:ing|ful)?\b(?! you)"
)
# The user does not follow what the bot said.
# (One leading \b for all the phrases: an alternation whose every branch starts with \b is tried branch by
# branch at every position, four times slower.)
CONFUSION = _rx(
    r"^\W*(?:what|huh|eh|hm+|pardon|sorry)\W*$|\?{2,}|"
    r"\b(?:what do you mean|what are you talking about|(?:doesn'?t|does not|makes no) (?:make )?sense|"
    r"i don'?t (?:understand|get it|follow)|you didn'?t answer|answer (?:me|my question)|"
    r"what does that (?:mean|have to do)|who (?:is|are) you talking about|"
    r"nonsense|out of nowhere|confus(?:ed|ing))\b"
)
# The user asks for a person.
HANDOFF = _rx(
    r"\b(?:(?:talk|speak|chat) (?:to|with) (?:a |an |some |your )?(?:human|person|real person|agent|"
    r"representative|rep|manager|supervisor|operator|someone)|(?:want|need|get me|give me|is there) (?:a |"
    r"an |to (?:a |an )?)?(?:real |live )?(?:human|agent|representative|operator)\b(?=\s*(?:$|[.,!?;:)]|please|"
    r"now|asap|immediately|instead|here|on the (?:phone|line)|to (?:talk|speak|chat|help|look|handle|call|sort)|"
    r"who can help))|(?:want|need|get|have|is there|reach|contact) (?:a |an |to (?:talk|speak) (?:to|with) a )?"
    r"(?:real|live|actual) (?:person|human|agent|someone)|(?:contact|reach) (?:a |an )?(?:human|person|agent|"
    r"representative|someone)\b|escalate (?:this |it |me |my \w+ )?to (?:a |an |your )?(?:real |live )?"
    r"(?:person|human|agent|someone|manager|supervisor|team|support)|transfer me|connect me (?:to|with)|"
    # Customer service asked for, not talked about ("does the hotel have good customer service?").
    r"(?:talk|speak|chat|connect|transfer|put|get|reach|contact|call|email)\b[^.?!]{0,25}\bcustomer "
    r"(?:service|support|care)|customer (?:service|support|care),? please|"
    r"(?:human|agent|representative|operator),? please)\b"
)
# A last user turn that needs no answer: it acknowledges ("ok cool", "yep", "ah ok, archiving now"), reports that
# the advice worked ("ok that worked", "fixed"), or settles on a choice ("going with the fried rice").
ACKNOWLEDGED = _rx(
    r"^\W*(?:ok(?:ay)?|k|kk|ah|oh|yep|yup|yes|yeah|cool|great|nice|perfect|alright|all right|got it|np|sure|fine|"
    r"sounds good|makes sense|love it|works|worked|fixed|done|right|awesome|excellent|brilliant|noted|"
    r"understood|will do|going with)\b|\b(?:(?:that|it|this)(?: one)? (?:worked|works|fixed it|did the trick)|"
    r"works now|working now|(?:all )?(?:fixed|solved|sorted)|it is)\W*$"
)
# The turn asks for something even without a question mark ("ok, now cancel my order", "I need the invoice").
REQUEST = _rx(
    r"\b(?:can (?:you|i|we|u)|could (?:you|i|u)|would you|will you|i (?:want|need|would like|'d like)|"
    r"i'?m looking for|help me|how (?:do|can|should|to)|what (?:is|are|about)|tell me|show me|give me|send me|"
    r"book|find|cancel|change|reset|refund)\b"
)
# The user says the reply did not address what they asked (irrelevant_answer takes their word for it): "that's not
# what I asked", "I asked about the refund", "I didn't ask for a history lesson", "I don't need a PDF, I need the
# charge refunded", "not my password, my badge", "I said savings not current", "I know what bash is", "cool story".
# ("Can you answer my question about returns?" asks; "that's not what I wanted to hear" is bad news: neither.)
MISSED = _rx(
    r"\b(?:not what i (?:asked|meant)|nothing to do with (?:my (?:question|request)|what i (?:asked|said|wanted|"
    r"need))|you (?:didn'?t|did not|haven'?t|have not) answer\w*|(?:that|it|this) (?:doesn'?t|does not|didn'?t|"
    r"did not) answer|i (?:didn'?t|did not) ask (?:about|for|how|what|you)|"
    r"i (?:just |only )?asked (?:you )?(?:to|about|how|what|when|where|why|whether|if)|"
    r"i (?:don'?t|do not) (?:need|want) [^.!?\n]{1,40}[,.;!?] *i (?:need|want|asked)|"
    r"not my \w+[,.;]? (?:my|the) \w+|i said \w+,? not \w+|i know what \w+ (?:is|are|means)|"
    r"(?:cool|nice|great|fascinating|interesting) story)\b"
)
# A negated statement anywhere ("I do not like hondas", "not right now").
NEGATED = _rx(r"\b(?:not|never|n'?t|nothing|none)\b")
# Asking for alternatives or a change ("anything else available?", "actually, make it 7 pm instead").
ALTERNATIVE = _rx(r"\b(?:other|others|else|another|more|different|instead|actually|rather|change|prefer)\b")
THANKS = _rx(
    r"\b(?:thanks|thank you|thx|ty|great|perfect|awesome|excellent|wonderful|that works|sounds good|danke|merci|"
    r"gracias|grazie|obrigad[oa])\b(?! for nothing)"
)

# A question that a yes or a no answers ("Is there parking?", "Can you book it?").
YES_NO_QUESTION = _rx(r"^\W*(?:is|are|do|does|did|can|could|will|would|have|has|was|were|should|may|shall)\b")
# A reply that opens with a yes or a no: it answers a yes-no question whatever words follow.
DIRECT_ANSWER = _rx(r"^\W*(?:yes|yeah|yep|yup|no|nope|sure|of course|certainly|absolutely|definitely|not)\b")

# --- assistant-side cues --------------------------------------------------------------------------------

# The bot proposes something specific the user can accept or turn down.
PROPOSAL = _rx(
    r"\b(?:how about|what about|would you like|do you want|shall i|should i|i (?:found|have|recommend|"
    r"suggest)|there (?:is|are)|i can (?:book|reserve|offer))\b"
)
# The bot did not understand the request, or says it cannot answer it.
FALLBACK = _rx(
    r"\b(?:i (?:did ?n[o']?t|do ?n[o']?t|could ?n[o']?t|can(?:'?t|not| not)) (?:quite )?(?:understand|get|"
    r"follow|catch) (?:that|you|what you|your)|i'?m not sure (?:what|i understand|i follow|(?:i|we) can help)|"
    r"i'?m (?:having trouble|struggling) (?:understanding|following)|"
    # A documentation bot with nothing to go on ("The provided documentation does not contain …").
    r"(?:documentation|docs|knowledge base|help cent(?:er|re)|(?:provided|available) (?:context|documents|"
    r"sources|information)) (?:does ?n[o']?t|do ?n[o']?t) (?:contain|include|mention|cover|say)|"
    r"i (?:don'?t|do not) have (?:any |that |this |the |enough |specific )?(?:information|details|data) "
    r"(?:about|on|regarding|for|to answer)|i (?:don'?t|do not) have (?:that|this) information|(?:could|"
    r"can) you (?:please )?(?:rephrase|repeat|clarify|say that again)|i don'?t understand|"
    r"beyond my (?:possibilities|capabilities|abilities)|i can'?t answer|i (?:don'?t|"
    r"do not) know (?:how to|what you)|i have no idea|sorry,? (?:i|what)\?|i'?m (?:just )?a (?:bot|robot|"
    r"machine)|not (?:trained|programmed) (?:to|for))"
)
# An error's or a state's name followed by what it means is an explanation, not a notice: "HTTP 503 Service
# Unavailable means the server was reachable but…", "'Sold out' is shown when…".
_EXPLAINING = (
    r"(?:means|indicates|signals|is (?:returned|raised|thrown|sent|shown) (?:when|if|because)|happens (?:when|if))\b"
)
_EXPLAINED = r"\W{0,3}" + _EXPLAINING
# The bot could not do what was asked (no result, failed action) — a failure even when polite.
UNABLE = _rx(
    # The bot's own failure ("I couldn't find…", "Sorry, couldn't book it"), not advice ("if you can't find it, …").
    # Every branch sits behind the one leading \b, so the search tries word starts only (3x faster than trying a
    # sentence start at every character): the subject "I"/"we", "sorry"/"unfortunately", or no subject right
    # after the text's start or a punctuation mark.
    r"\b(?:(?:(?:i|we)(?:'m| am| are| was| were)?(?: (?:still|just|actually|really|also|again|failed and))? |"
    r"(?:sorry|unfortunately),? ?|(?<![^.!?,;:\n])|(?<=[.!?,;:] ))(?:could ?n[o']?t|(?:was|were) ?n[o']?t able to|"
    r"(?:was|am|are|were) unable to|unable to|can(?:'?t|not| not)|cannot|failed to|did ?n[o']?t) (?:find|book|"
    r"reserve|make|locate|complete|process|get|schedule|purchase|buy|place|search)\b|"
    # "There is no free wifi", "I found nothing": but "there is no need / no limit / no charge" is an answer.
    # A word or two may name what has none: "there are no overdraft fees".
    r"(?:there (?:are|is|were|was)|i (?:have|found)) no(?:thing)?\b(?! (?:[a-z-]+ ){0,2}(?:need|limits?|charges?|"
    r"fees?|costs?|penalty|penalties|problem|issue|risk|difference|doubt|harm|rush|reason|worries|interest|"
    r"commission)\b)|no (?:results|matches|match|availability|options|records?)|"
    r"(?:none|nothing) (?:available|matches|matching|found)|(?:not available|unavailable)(?!"
    + _EXPLAINED
    + r")|fully booked|sold out|"
    r"(?<!if )(?:it|that) did ?n[o']?t (?:work|go through)|"
    r"did ?n[o']?t go through|(?:booking|reservation|request|search|payment) (?:was )?(?:unsuccessful|failed))\b"
)
# The bot declines: "I can't help with that". "I can't wait", "you can't miss it" or "as an AI assistant, I can
# help" are not refusals.
REFUSAL = _rx(
    # Not an offer ("are you sure I can't help you find…?") nor the idiom ("I can't help it").
    r"\b(?:(?<!sure )i(?:'m| am)? (?:can(?:'?t|not| not)|cannot|won'?t|will not|am not able to|'m not able to|"
    r"not able to|unable to|not allowed to|not permitted to) (?:help(?! it\b)|assist|provide(?! (?:a |an )?"
    r"(?:definitive|definite|exact|precise|certain|complete|full)\b)|share|give(?! (?:a |an |you (?:a |an )?)?"
    r"(?:definitive|definite|exact|precise|certain|complete|full)\b)|do that|answer that|discuss|comply|support|"
    r"engage|talk about|make changes|access (?:your|other|personal))|"
    # "As an AI I can't browse": a refusal; "as an AI I don't have personal preferences, but …": a disclaimer.
    r"as an? (?:ai|language model)\b[^.!?]{0,40}\b(?:can(?:'?t|not| not)|won'?t|do(?:n'?t| not)|(?:'m|am) not|"
    r"unable)(?! (?:have|hold|experience|feel) (?:any |personal |real )?(?:opinions?|preferences?|feelings?|"
    r"emotions?|experiences?|beliefs?|favou?rites?))|i can only (?:answer|help|assist|discuss|talk|respond)|"
    r"(?:that'?s|that is) not something i(?:'m| am)? (?:can|able to|allowed to) (?:help|discuss|share|do|answer)|"
    r"i must (?:decline|refuse)|(?:against|violates?) (?:my|our|the) (?:policy|policies|guidelines|rules)|"
    r"i(?:'m| am) not (?:allowed|permitted) to|i (?:can'?t|cannot) (?:do|help with) that)"
)
APOLOGY = _rx(r"\b(?:sorry|apologi[sz]e|apologies|unfortunately|i'?m afraid|regret)\b")
CONFIRM_QUESTION = _rx(
    r"\b(?:please confirm|can you confirm|confirm (?:the|that|your)|is (?:that|this|it) (?:correct|right)|"
    r"(?:correct|right)\?)"
)
# "Anything else?": a "no" after it winds down the conversation and is no rejection.
WRAP_UP_QUESTION = _rx(
    r"\b(?:anything else|something else|any other (?:help|questions?|requests?)|further (?:help|"
    r"assistance|questions)|(?:can|may) i (?:help|assist) (?:you )?(?:with )?(?:anything|something)|"
    r"is that all|anything more|what else can i|(?:help|assist) you (?:further|with anything))\b"
)
# The reply is an error notice ("Error: upstream returned 429", "Something went wrong"), not an answer about errors
# ("Wrap it in try/except to catch the exception", "Pass a timeout of 10 s").
ERROR_TEXT = _rx(
    r"\b(?:internal (?:server )?error|something went wrong|"
    r"an? (?:unexpected |unknown |internal )?error (?:has )?occurred|error code|service (?:is )?(?:temporarily )?"
    r"unavailable|(?:request|connection|operation|server|response|query) (?:has )?timed? ?out|"
    r"(?<!when to )(?<!how to )try again later|"
    r"too many requests|rate limit(?:ed| exceeded| reached)|context[_ ]length[_ ]exceeded|"
    r"(?:model|upstream|server|api) (?:returned|responded with) (?:an? )?(?:error|[45]\d\d))\b(?!" + _EXPLAINED + ")"
)
# A reply that opens as an error does ("Error: …", "Exception in …", a JSON error object): tried with match, apart
# from ERROR_TEXT (a start-anchored branch in features._ANY_BOT_CUE made every bot turn's search 2x slower).
# An opening that goes on to say what the error means explains it ("Error 809 means the VPN client couldn't…").
ERROR_OPENING = _rx(r"\W*(?:error|exception|traceback)\b(?![^.!?\n]{0,40}?\b" + _EXPLAINING + r")|\s*\{\s*\"error\"")
