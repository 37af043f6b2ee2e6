"""Reading a JSON request body, with one wording for a body that is not JSON, whichever endpoint gets it.

Ingestion reads its bodies itself (size limit first, gzip: ingestion.api.read_json_body); every other API view
goes through DRF's parser, which said "JSON parse error - Expecting value: ..." where ingestion said "Malformed
JSON: ...". Both now call parse_json.
"""

from __future__ import annotations

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from convosensei.exceptions import PayloadTooLarge

# The dashboard API's bodies are settings, filters and names; ingestion reads its own, larger ones itself.
MAX_BODY_BYTES = 1024 * 1024


class _NotAJsonNumber(ValueError):
    pass


def _refuse_constant(name: str) -> float:
    raise _NotAJsonNumber(f"{name} is not a JSON number")


def parse_json(body: bytes | str, *, allow_nan: bool) -> object:
    """The JSON document in `body` (bytes in UTF-8, -16 or -32, or text); ParseError("Malformed JSON: ...",
    saying what and where) when it is not one. `allow_nan` reads NaN and Infinity, which JSON does not have, as
    Python's json does, for a caller that refuses them where they land."""
    try:
        return json.loads(body, parse_constant=None if allow_nan else _refuse_constant)
    except json.JSONDecodeError as exc:
        what = exc.msg[:1].lower() + exc.msg[1:]
        # "Unterminated string starting at" ends in its own "at".
        where = (
            f"line {exc.lineno}, column {exc.colno}"
            if what.endswith(" at")
            else f"at line {exc.lineno}, column {exc.colno}"
        )
        raise ParseError(f"Malformed JSON: {what} {where}.") from None
    except UnicodeDecodeError:
        raise ParseError("Malformed JSON: the body is not UTF-8 text.") from None
    except _NotAJsonNumber as exc:
        raise ParseError(f"Malformed JSON: {exc}.") from None
    except RecursionError:
        raise ParseError("Malformed JSON: nested too deeply.") from None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (the charset of the Content-Type, no NaN with STRICT_JSON), with parse_json's messages,
    reading at most MAX_BODY_BYTES."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        body = stream.read(MAX_BODY_BYTES + 1)  # no further: DRF's own parsers read any size into memory
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            raise ParseError(f"Malformed JSON: the body is not {encoding} text.") from None
        return parse_json(text, allow_nan=not self.strict)
