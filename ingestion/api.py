"""The ingestion endpoints: POST /api/v1/conversations/track and /track/batch (API keys only)."""

from __future__ import annotations

import zlib

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from pydantic import ValidationError
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyAuthentication
from convosensei.errors import ErrorEnvelopeSerializer, envelope
from convosensei.exceptions import LengthRequired, PayloadTooLarge
from convosensei.parsers import parse_json
from ingestion.openapi import IngestAutoSchema
from ingestion.ratelimit import rate_limit_check
from ingestion.schemas import BatchIn, BatchResult, ConversationIn, TrackResult, field_errors
from ingestion.services import conversations_ingest

ERRORS = {
    400: OpenApiResponse(ErrorEnvelopeSerializer, description="Malformed JSON or invalid fields (see details)."),
    401: OpenApiResponse(ErrorEnvelopeSerializer, description="Missing, unknown, revoked or malformed API key."),
    411: OpenApiResponse(ErrorEnvelopeSerializer, description="A chunked body this server cannot read."),
    413: OpenApiResponse(ErrorEnvelopeSerializer, description="Body over INGEST_MAX_BODY_BYTES (default 5 MiB)."),
    415: OpenApiResponse(ErrorEnvelopeSerializer, description="A Content-Encoding other than gzip."),
    429: OpenApiResponse(ErrorEnvelopeSerializer, description="Rate limit of the key; see Retry-After."),
    503: OpenApiResponse(ErrorEnvelopeSerializer, description="The database is unavailable."),
}


def _size(limit: int) -> str:
    """The body limit as the README gives it ("5 MiB (5242880 bytes, INGEST_MAX_BODY_BYTES)")."""
    mib = limit / 1024**2
    return (
        f"{mib:g} MiB ({limit} bytes, INGEST_MAX_BODY_BYTES)" if mib >= 1 else f"{limit} bytes (INGEST_MAX_BODY_BYTES)"
    )


def _chunked(request) -> bool:
    return not request.META.get("CONTENT_LENGTH") and "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _chunked_body(request, limit: int) -> bytes:
    """A body sent chunked (Node's http.request does unless told the length), which Django reads as empty: it
    reads Content-Length bytes. A server that ends the decoded body (gunicorn: wsgi.input_terminated) lets it be
    read, up to the limit; another cannot tell where it ends (411)."""
    if not request.META.get("wsgi.input_terminated"):
        raise LengthRequired("Send the body with a Content-Length header: this server cannot read it chunked.")
    body = request.META["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body is larger than {_size(limit)}.")
    return body


def read_json_body(request) -> object:
    """The request's JSON body, gunzipped when `Content-Encoding: gzip`; 413 over the size limit
    (checked on Content-Length before reading, and on the decompressed size), 400 if malformed, 415 for another
    Content-Encoding.

    The body is read as JSON whatever its Content-Type says: `navigator.sendBeacon` sends a string as
    text/plain and `curl -d` without a header sends it as a form, and refusing those with a 415 would lose
    conversations over a label. A body that is not JSON still gets a 400 that says so."""
    limit = settings.INGEST_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise exceptions.ParseError("Invalid Content-Length header.") from None
    if declared > limit:
        raise PayloadTooLarge(f"The request body is larger than {_size(limit)}.")
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip"):
        # Read as JSON, a deflate or br body would be "not UTF-8 text", and plain JSON under such a header would
        # be taken; both hide what the sender got wrong.
        raise exceptions.UnsupportedMediaType(
            encoding,
            detail=f"The Content-Encoding {encoding} is not supported: send the body as it is, or gzip-compressed.",
        )
    body = _chunked_body(request, limit) if _chunked(request) else request.body
    if encoding in ("gzip", "x-gzip"):
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            body = decompressor.decompress(body, limit + 1)
        except zlib.error:
            raise exceptions.ParseError("The body is not valid gzip.") from None
        if len(body) > limit or decompressor.unconsumed_tail:
            raise PayloadTooLarge(f"The decompressed request body is larger than {_size(limit)}.")
    if not body:
        raise exceptions.ParseError("The request body is empty; send a JSON object.")
    # NaN and Infinity are read here and refused where they land (metadata), so a batch keeps its other items.
    return parse_json(body, allow_nan=True)


class _IngestApi(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = []  # read_json_body decodes the body itself (size limit first, gzip)
    schema = IngestAutoSchema()

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        wait = rate_limit_check(key_id=request.auth.id)
        if wait is not None:
            raise exceptions.Throttled(wait=wait)


def _result(result) -> dict:
    return TrackResult.model_validate(result, from_attributes=True).model_dump(mode="json")


def _validate_conversation(data) -> ConversationIn:
    try:
        return ConversationIn.model_validate(data)
    except ValidationError as exc:
        raise exceptions.ValidationError(field_errors(exc)) from None


def _renderable(value: object) -> bool:
    """Whether `value` can be echoed in a JSON response: a string without an unpaired surrogate."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


class TrackApi(_IngestApi):
    @extend_schema(
        operation_id="conversations_track",
        summary="Send one conversation",
        description=(
            "Upserts the conversation by `external_id` and adds the messages it has not seen (dedupe by "
            "the message `id`, else by role + timestamp + content). Re-sending a whole transcript or "
            "only the new turns both work. Limits: at least one message and at most "
            "INGEST_MAX_MESSAGES_PER_CONVERSATION (default 1000), INGEST_MAX_CONTENT_CHARS per message (32,000), "
            "INGEST_MAX_METADATA_BYTES per metadata object (16 KiB). `Content-Encoding: gzip` is accepted."
        ),
        # As a media type map: with no parser classes drf-spectacular would find no media type for the body.
        request={"application/json": ConversationIn},
        responses={202: TrackResult, **ERRORS},
    )
    def post(self, request):
        conversation = _validate_conversation(read_json_body(request))
        [result] = conversations_ingest(conversations=[conversation.model_dump()], api_key_id=request.auth.id)
        return Response(_result(result), status=202)


class TrackBatchApi(_IngestApi):
    @extend_schema(
        operation_id="conversations_track_batch",
        summary="Send many conversations",
        description=(
            "Up to INGEST_MAX_BATCH_CONVERSATIONS conversations (default 100) in a body of at most "
            "INGEST_MAX_BODY_BYTES (5 MiB). Each item is validated on its own: the result list has one "
            "entry per item, so one invalid item does not reject the valid ones (202). 400 when no item "
            "is valid. `Content-Encoding: gzip` is accepted."
        ),
        request={"application/json": BatchIn},
        responses={202: BatchResult, **ERRORS},
    )
    def post(self, request):
        body = read_json_body(request)
        items = body.get("conversations") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise exceptions.ValidationError({"conversations": ["Send a non-empty list of conversations."]})
        if len(items) > settings.INGEST_MAX_BATCH_CONVERSATIONS:
            raise exceptions.ValidationError(
                {"conversations": [f"At most {settings.INGEST_MAX_BATCH_CONVERSATIONS} conversations per batch."]}
            )
        results: list[dict | None] = [None] * len(items)
        valid: list[tuple[int, dict]] = []
        for index, item in enumerate(items):
            try:
                valid.append((index, ConversationIn.model_validate(item).model_dump()))
                continue
            except ValidationError as exc:
                details = field_errors(exc)
            external_id = item.get("external_id") if isinstance(item, dict) else None
            results[index] = {
                "index": index,
                "status": "error",
                **({"external_id": external_id} if _renderable(external_id) else {}),
                "error": envelope("The conversation has invalid fields.", "validation_error", details),
            }
        if not valid:
            return Response(
                envelope("No conversation in the batch is valid.", "validation_error", {"results": results}),
                status=400,
            )
        stored = conversations_ingest(conversations=[item for _, item in valid], api_key_id=request.auth.id)
        for (index, _), result in zip(valid, stored, strict=True):
            results[index] = {"index": index, "status": "ok", **_result(result)}
        rejected = len(items) - len(valid)
        return Response({"accepted": len(valid), "rejected": rejected, "results": results}, status=202)
