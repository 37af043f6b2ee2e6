"""Reads of conversations, messages, failures and saved views (every read of the dashboard API).

Lists are keyset-paginated (`keyset_page`): a page costs the same at row 50 and at row 90,000, because
it is an index range scan from the cursor's position, never an OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.postgres.search import SearchQuery
from django.db import connection, models
from django.db.models import Exists, F, Model, OuterRef, Q, QuerySet
from django.utils import timezone
from rest_framework import exceptions

from analytics.scoring import ScoringSettings
from conversations.models import SEARCH_CONFIG, Conversation, Failure, Message, SavedView


def _text_search(conversations: QuerySet, q: str) -> QuerySet:
    """Conversations whose search document matches `q` (websearch syntax: words, "phrases", -not, or).

    The document is built when a conversation is analysed, so a conversation is found once it has been
    scored (within a second or so of arriving while the workers keep up).
    """
    return conversations.filter(search=SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch"))


# --- keyset pagination -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()  # full microseconds: DjangoJSONEncoder would cut them, and skip rows
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _cursor_encode(ordering: str, values: list) -> str:
    raw = json.dumps({"o": ordering, "v": [_json_value(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_decode(cursor: str, ordering: str, model: type[Model], fields: list[str]) -> list:
    invalid = exceptions.ValidationError({"cursor": ["Invalid cursor: use the next_cursor of the same list."]})
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if raw["o"] != ordering or len(raw["v"]) != len(fields):
            raise invalid
        values = []
        for name, value in zip(fields, raw["v"], strict=True):
            values.append(None if value is None else model._meta.get_field(name).to_python(value))
        return values
    except (ValueError, TypeError, KeyError, binascii.Error, json.JSONDecodeError) as exc:
        raise invalid from exc
    except Exception as exc:  # to_python raises django's ValidationError for a malformed value
        if type(exc).__name__ == "ValidationError":
            raise invalid from exc
        raise


def _after(fields: list[str], values: list, descending: bool) -> Q:
    """Rows strictly after `values` in (fields...) order: a row comparison an index can range-scan."""
    op = "lt" if descending else "gt"
    condition = Q()
    for i in range(len(fields)):
        equal = {fields[j]: values[j] for j in range(i)}
        condition |= Q(**equal, **{f"{fields[i]}__{op}": values[i]})
    # The leading bound lets PostgreSQL start the index scan at the cursor instead of filtering.
    return Q(**{f"{fields[0]}__{op}e": values[0]}) & condition


def keyset_page(
    *, queryset: QuerySet, ordering: str, cursor: str | None, page_size: int, tiebreak: tuple[str, ...] = ("id",)
) -> Page:
    """One page of `queryset` in `ordering` (a field, `-` for descending), then by `tiebreak`.

    NULLs of the ordering field come last in both directions: the non-null rows are read first, then
    the null ones (by tiebreak), so each part is a plain range scan of an index on (field, *tiebreak).
    Raises ValidationError (400) for a cursor that is not this list's.
    """
    descending = ordering.startswith("-")
    field = ordering.lstrip("-")
    fields = [field, *tiebreak]
    nullable = queryset.model._meta.get_field(field).null
    after = _cursor_decode(cursor, ordering, queryset.model, fields) if cursor else None
    order = [F(name).desc() if descending else F(name).asc() for name in fields]

    items: list = []
    if after is None or after[0] is not None:
        part = queryset.filter(**{f"{field}__isnull": False}) if nullable else queryset
        if after is not None:
            part = part.filter(_after(fields, after, descending))
        items = list(part.order_by(*order)[: page_size + 1])
    if nullable and len(items) <= page_size:
        rest = queryset.filter(**{f"{field}__isnull": True})
        if after is not None and after[0] is None:
            rest = rest.filter(_after(list(tiebreak), after[1:], descending))
        items += list(rest.order_by(*order[1:])[: page_size + 1 - len(items)])
    if len(items) <= page_size:
        return Page(items=items, next_cursor=None)
    items = items[:page_size]
    last = items[-1]
    return Page(items=items, next_cursor=_cursor_encode(ordering, [getattr(last, name) for name in fields]))


# --- conversations ---------------------------------------------------------------------------------------

LIST_FIELDS = (
    "id",
    "external_id",
    "environment",
    "end_user_id",
    "started_at",
    "last_message_at",
    "message_count",
    "health_score",
    "has_failures",
    "failure_count",
    "processing_state",
)


def conversation_list(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    health_min: float | None = None,
    health_max: float | None = None,
    has_failures: bool | None = None,
    failure_type: str | None = None,
    environment: str | None = None,
    pattern: uuid.UUID | None = None,
    external_id: str | None = None,
    q: str | None = None,
    **_ignored,
) -> QuerySet[Conversation]:
    """Conversations matching every given filter (unordered; the caller pages or orders it).

    The time window applies to `last_message_at` (a conversation is in a window when it was active in it).
    """
    conversations = Conversation.objects.all()
    if start is not None:
        conversations = conversations.filter(last_message_at__gte=start)
    if end is not None:
        conversations = conversations.filter(last_message_at__lt=end)
    # The bounds apply to the score as pages show it, in whole points (59.5 shows as 60: "from 60" takes it, "to 59"
    # does not), written as a range of the stored score so that its index serves.
    if health_min is not None:
        conversations = conversations.filter(health_score__gte=math.ceil(health_min) - 0.5)
    if health_max is not None:
        conversations = conversations.filter(health_score__lt=math.floor(health_max) + 0.5)
    if has_failures is not None:
        conversations = conversations.filter(has_failures=has_failures)
    if failure_type:
        conversations = conversations.filter(
            Exists(Failure.objects.filter(conversation_id=OuterRef("pk"), type=failure_type))
        )
    if environment is not None:
        conversations = conversations.filter(environment=environment)
    if pattern is not None:
        conversations = conversations.filter(pattern_memberships__pattern_id=pattern)
    if external_id is not None:
        conversations = conversations.filter(external_id=external_id)
    if q and q.strip():
        conversations = _text_search(conversations, q)
    return conversations


def conversations_exist() -> bool:
    """Whether any conversation has been sent: a new install has none."""
    return Conversation.objects.exists()


def count_up_to(queryset: QuerySet, *, limit: int) -> int:
    """How many rows `queryset` holds, counted no further than `limit`: a list's total at a bounded cost whatever the
    table's size (COUNT over a LIMIT subquery)."""
    return queryset.order_by().values("pk")[:limit].count()


def conversation_page(*, filters: dict, cursor: str | None, page_size: int) -> Page:
    """A page of the filtered conversations in `filters["ordering"]` (default newest activity first)."""
    queryset = conversation_list(**filters).only(*LIST_FIELDS)
    return keyset_page(
        queryset=queryset, ordering=filters.get("ordering") or "-last_message_at", cursor=cursor, page_size=page_size
    )


# Exports are rendered by PostgreSQL, row by row, and only streamed through Python: turning thousands of
# rows into Python objects and back into text cost more than the query itself.
_EXPORT_CHUNK_ROWS = 2000
_EXPORT_CHUNK_BYTES = 64 * 1024
# A cell a spreadsheet would run as a formula (client-controlled text) is written with a leading '.
_FORMULA_PATTERN = r"^[-=+@\t\r]"


def _export_select(filters: dict, fields: tuple[str, ...]) -> tuple[str, list, str]:
    """The SQL of the filtered conversations' `fields`, its parameters, and the list's ORDER BY over `t`."""
    ordering = filters.get("ordering") or "-last_message_at"
    direction = "DESC" if ordering.startswith("-") else "ASC"
    column = connection.ops.quote_name(ordering.lstrip("-"))
    sql, params = conversation_list(**filters).order_by().values(*fields).query.sql_with_params()
    return sql, list(params), f"ORDER BY t.{column} {direction} NULLS LAST, t.id {direction}"


def _export_value_sql(name: str) -> str:
    """The SQL of column `name` of `t` as an export writes it: a time as the API writes it (ISO-8601 in UTC,
    2026-11-26T09:28:25.679175Z, without the fraction when it is zero); any other value as it is."""
    column = f"t.{connection.ops.quote_name(name)}"
    if not isinstance(Conversation._meta.get_field(name), models.DateTimeField):
        return column
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN date_trunc('second', {column}) = {column}"
        f' THEN to_char({utc}, \'YYYY-MM-DD"T"HH24:MI:SS"Z"\')'
        f' ELSE to_char({utc}, \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') END'
    )


def _csv_cell_sql(name: str) -> str:
    """The SQL of column `name` of `t` as a CSV cell: times as the API writes them, true/false, formulas defused."""
    column = f"t.{connection.ops.quote_name(name)}"
    field = Conversation._meta.get_field(name)
    if isinstance(field, models.BooleanField):
        return f"{column}::text"
    if isinstance(field, models.CharField | models.TextField):
        return f"CASE WHEN {column} ~ E'{_FORMULA_PATTERN}' THEN '''' || {column} ELSE {column} END"
    return _export_value_sql(name)


def conversation_export_csv(*, filters: dict, fields: tuple[str, ...]) -> Iterator[bytes]:
    """The filtered conversations as CSV, a header line then one line each, in the list's ordering.

    PostgreSQL writes the CSV (COPY ... TO STDOUT) and it is streamed on as it arrives.
    """
    sql, params, order = _export_select(filters, fields)
    cells = ", ".join(_csv_cell_sql(name) for name in fields)
    yield (",".join(fields) + "\n").encode()  # as COPY ends its lines
    with connection.cursor() as cursor:
        # Only model column names and Django-compiled SQL are interpolated; every value is a parameter.
        copy_sql = f"COPY (SELECT {cells} FROM ({sql}) AS t {order}) TO STDOUT (FORMAT csv)"  # noqa: S608
        with cursor.cursor.copy(copy_sql, params) as copy:
            # COPY hands over one row at a time; a response chunk per row would be a socket write per row.
            buffer = bytearray()
            for row in copy:
                buffer += row
                if len(buffer) >= _EXPORT_CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
            yield bytes(buffer)


def conversation_export_jsonl(*, filters: dict, fields: tuple[str, ...]) -> Iterator[bytes]:
    """The filtered conversations as JSON lines, one object of `fields` each, in the list's ordering.

    PostgreSQL writes each line (json_build_object, which keeps the fields' order); they are read through a
    server-side cursor.
    """
    sql, params, order = _export_select(filters, fields)
    pairs = ", ".join(f"'{name}', {_export_value_sql(name)}" for name in fields)
    with connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT json_build_object({pairs})::text FROM ({sql}) AS t {order}", params)  # noqa: S608
        while rows := cursor.fetchmany(_EXPORT_CHUNK_ROWS):
            yield "".join(f"{line}\n" for (line,) in rows).encode()


def conversation_get(*, conversation_id: uuid.UUID) -> Conversation | None:
    return Conversation.objects.defer("search").filter(id=conversation_id).first()


def conversation_exists(*, conversation_id: uuid.UUID) -> bool:
    return Conversation.objects.filter(id=conversation_id).exists()


@dataclass(frozen=True)
class TurnFigure:
    """One scored turn's own figure from the health breakdown: a user turn's dissatisfaction risk, or a bot
    turn's failure evidence; `notable` when it reaches the threshold the conversation page marks."""

    index: int
    message_id: int | None
    role: str
    measure: str
    value: float
    notable: bool


def conversation_scoring(*, conversation: Conversation) -> str:
    """How the stored score read the text: "embeddings" or "lexical" (breakdowns stored before the field were
    lexical), "" while unscored."""
    breakdown = conversation.health_breakdown or {}
    return breakdown.get("scoring", "lexical") if breakdown else ""


def conversation_turn_figures(*, conversation: Conversation) -> list[TurnFigure]:
    """The per-turn figures stored with the conversation's health breakdown, in transcript order."""
    turns = (conversation.health_breakdown or {}).get("turns") or {}
    ids = turns.get("message_ids") or {}
    defaults = ScoringSettings()
    figures = []
    for key, role, measure, threshold in (
        ("user_dissatisfaction", "user", "dissatisfaction_risk", defaults.turn_risk_evidence),
        ("bot_failure_evidence", "assistant", "failure_evidence", defaults.bot_turn_evidence),
    ):
        for index, value in (turns.get(key) or {}).items():
            figures.append(TurnFigure(int(index), ids.get(index), role, measure, value, value >= threshold))
    return sorted(figures, key=lambda f: f.index)


_TRANSCRIPT_ORDER = ("timestamp", "position", "id")


def message_page(*, conversation_id: uuid.UUID, cursor: str | None, page_size: int) -> Page:
    """A page of a conversation's messages in transcript order (timestamp, position)."""
    return keyset_page(
        queryset=Message.objects.filter(conversation_id=conversation_id).defer("dedupe_key"),
        ordering=_TRANSCRIPT_ORDER[0],
        tiebreak=_TRANSCRIPT_ORDER[1:],
        cursor=cursor,
        page_size=page_size,
    )


def message_page_cursor(*, conversation_id: uuid.UUID, message_id: int, page_size: int) -> str | None:
    """The `message_page` cursor of the page of `page_size` messages that holds the message (None: the first page),
    the page reached by following `next_cursor` from the first.

    Counted in transcript order when asked, not from `position`: that is the message's place on arrival, and a
    message sent later with an earlier timestamp moves the ones after it into a later page.
    Raises Message.DoesNotExist when the conversation has no such message.
    """
    messages = Message.objects.filter(conversation_id=conversation_id)
    message = messages.values_list(*_TRANSCRIPT_ORDER).get(id=message_id)
    before = messages.filter(_after(list(_TRANSCRIPT_ORDER), list(message), descending=True)).count()
    return _message_page_starting_at(messages, before // page_size * page_size)


def message_page_earlier_cursor(*, conversation_id: uuid.UUID, first: Message, page_size: int) -> str | None:
    """The `message_page` cursor of the page of `page_size` messages before the one that starts with `first` (None:
    the first page): a later part of a long transcript links to the part before it, as to the part after it."""
    messages = Message.objects.filter(conversation_id=conversation_id)
    key = [getattr(first, name) for name in _TRANSCRIPT_ORDER]
    before = messages.filter(_after(list(_TRANSCRIPT_ORDER), key, descending=True)).count()
    return _message_page_starting_at(messages, max(before - page_size, 0))


def _message_page_starting_at(messages: QuerySet, start: int) -> str | None:
    """The cursor of the page whose first message is the `start`-th in transcript order (None: the first page)."""
    if start == 0:
        return None
    # The page starts after the last message of the page before it, as that page's next_cursor says.
    last = messages.order_by(*_TRANSCRIPT_ORDER).values_list(*_TRANSCRIPT_ORDER)[start - 1]
    return _cursor_encode(_TRANSCRIPT_ORDER[0], list(last))


# --- failures --------------------------------------------------------------------------------------------


def failure_list(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    type: str | None = None,
    severity: str | None = None,
    conversation_id: uuid.UUID | None = None,
    **_ignored,
) -> QuerySet[Failure]:
    """Failures matching every given filter; the window applies to `detected_at`."""
    failures = Failure.objects.select_related("conversation").only(
        *[f.name for f in Failure._meta.concrete_fields], "conversation__external_id"
    )
    if conversation_id is not None:
        failures = failures.filter(conversation_id=conversation_id)
    if start is not None:
        failures = failures.filter(detected_at__gte=start)
    if end is not None:
        failures = failures.filter(detected_at__lt=end)
    if status:
        failures = failures.filter(status=status)
    if type:
        failures = failures.filter(type=type)
    if severity:
        failures = failures.filter(severity=severity)
    return failures


def failure_page(*, filters: dict, cursor: str | None, page_size: int) -> Page:
    return keyset_page(
        queryset=failure_list(**filters),
        ordering=filters.get("ordering") or "-detected_at",
        cursor=cursor,
        page_size=page_size,
    )


def failure_get(*, failure_id: uuid.UUID) -> Failure | None:
    return failure_list().filter(id=failure_id).first()


# --- saved views -----------------------------------------------------------------------------------------


def saved_view_list(*, scope: str | None = None) -> QuerySet[SavedView]:
    views = SavedView.objects.order_by("scope", "name")
    return views.filter(scope=scope) if scope else views


def saved_view_get(*, view_id: uuid.UUID) -> SavedView | None:
    return SavedView.objects.filter(id=view_id).first()


def saved_view_named(*, scope: str, name: str) -> SavedView | None:
    return SavedView.objects.filter(scope=scope, name=name).first()


# --- deletion --------------------------------------------------------------------------------------------


def conversations_expired(*, older_than: timedelta) -> QuerySet[Conversation]:
    """Conversations whose last message (or, without messages, whose creation) is older than `older_than`."""
    cutoff = timezone.now() - older_than
    return Conversation.objects.filter(
        Q(last_message_at__lt=cutoff) | Q(last_message_at__isnull=True, created_at__lt=cutoff)
    )


def conversations_for_deletion(
    *,
    ids: Sequence[uuid.UUID] = (),
    external_ids: Sequence[str] = (),
    end_user_ids: Sequence[str] = (),
    older_than: timedelta | None = None,
) -> QuerySet[Conversation]:
    """The conversations any of the criteria names (none: no conversation): by id, by the id their app sent, by
    the end user's id (`user_id` when sent), or older than a time (conversations_expired)."""
    conversations = Conversation.objects.filter(
        Q(id__in=ids) | Q(external_id__in=external_ids) | Q(end_user_id__in=end_user_ids)
    )
    if older_than is not None:
        conversations |= conversations_expired(older_than=older_than)
    return conversations
