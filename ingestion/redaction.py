"""PII redaction (REDACT_PII=true): e-mail addresses, phone numbers and Luhn-valid card numbers in
message content become typed placeholders before anything is written anywhere."""

from __future__ import annotations

import re

EMAIL_PLACEHOLDER = "[EMAIL]"
PHONE_PLACEHOLDER = "[PHONE]"
CARD_PLACEHOLDER = "[CARD]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 13–19 digits, optionally grouped by spaces or dashes (the card formats people type).
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# International or national numbers: an optional +country code, then 7–15 digits with the usual separators.
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?!\w)")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_or_keep(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD_PLACEHOLDER if 13 <= len(digits) <= 19 and _luhn_valid(digits) else match.group(0)


_DATE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{4}$")


def _phone_or_keep(match: re.Match) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15 or _DATE.match(text):
        return text
    return PHONE_PLACEHOLDER


def redact_pii(text: str) -> str:
    """`text` with e-mails, card numbers (Luhn-checked) and phone numbers replaced by placeholders."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_PLACEHOLDER, text)
    text = _CARD.sub(_card_or_keep, text)
    return _PHONE.sub(_phone_or_keep, text)
