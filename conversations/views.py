"""Dashboard pages of the conversations app: the list, one conversation, and the failures inbox.

The list filters are the API's (conversations/filters.py), so a URL of this page, a saved view and an
API query string all speak one vocabulary.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET
from rest_framework import serializers

from analytics.embeddings import embeddings_missing_because
from analytics.scoring import FAILURE_TYPES
from analytics.selectors import conversation_similar, pattern_get
from conversations.filters import (
    CONVERSATION_ORDERINGS,
    FAILURE_ORDERINGS,
    PAGE_SIZE_DEFAULT,
    TIMEFRAMES,
    ConversationFilterSerializer,
    FailureFilterSerializer,
)
from conversations.models import Failure, Message, SavedView
from conversations.selectors import (
    Page,
    conversation_get,
    conversation_list,
    conversation_page,
    conversation_scoring,
    conversation_turn_figures,
    count_up_to,
    failure_list,
    failure_page,
    message_page,
    message_page_cursor,
    message_page_earlier_cursor,
    saved_view_get,
    saved_view_list,
)
from conversations.services import (
    FailuresNotFound,
    failure_bulk_set_status,
    saved_view_delete,
    saved_view_save_named,
)
from convosensei.decorators import form_post

MAX_TRANSCRIPT_MESSAGES = 500
# A list says how many rows match its filters (the overview's figures open these lists), counted up to this many.
MATCHING_COUNTED_UP_TO = 10_000
ALL_STATUSES = "all"  # the failures page's status filter: every status


def _query(params: dict, **changes) -> str:
    """`params` with `changes` as a query string, empty values left out. A boolean (a saved view's config made with the
    API holds JSON's true) is written as the form sends it, `true`, not Python's `True`, which its select would not
    show as chosen."""
    merged = {key: value for key, value in {**params, **changes}.items() if value not in (None, "")}
    return urlencode({key: str(value).lower() if isinstance(value, bool) else value for key, value in merged.items()})


def _raw_filters(params, serializer_class) -> dict:
    """The non-empty filters among `params` (a QueryDict): the keys the API's filter serializer knows. A field left
    empty, or holding only spaces (a search box), is no filter."""
    return {key: params[key] for key in serializer_class().fields if params.get(key, "").strip() != ""}


def _window(raw: dict, filters: dict) -> dict | None:
    """The `from`/`to` window a list's form names (None without one): its bounds as read (None while invalid), and
    the query string without it."""
    if not (raw.get("from") or raw.get("to")):
        return None
    return {
        "start": filters.get("start") if "from" in raw else None,
        "end": filters.get("end") if "to" in raw else None,
        "without_query": _query(raw, **{"from": None, "to": None}),
    }


def _validated(raw: dict, serializer_class) -> tuple[dict, dict]:
    """(validated filters, {}) or ({}, field errors) of the raw filters."""
    serializer = serializer_class(data=raw)
    if serializer.is_valid():
        return dict(serializer.validated_data), {}
    return {}, serializer.errors


def _pager(raw: dict, page: Page | None, request) -> dict:
    """A list's links on and back: the next page's query, and the first page's once on a later one."""
    return {
        "next_query": _query(raw, cursor=page.next_cursor) if page and page.next_cursor else None,
        "first_query": _query(raw) if request.GET.get("cursor") else None,
    }


# A `cursor` the list cannot read (edited by hand, cut short when copied) is named as a filter error is; the form keeps
# the filters, so Apply starts again from the first page.
CURSOR_ERROR = {"cursor": ["This link to a further page is not valid: apply the filters to start from the first page."]}


def _matching(queryset, noun: str) -> str:
    """The list's total, counted up to MATCHING_COUNTED_UP_TO: "829 conversations match", "10,000+ failures match"."""
    count = count_up_to(queryset, limit=MATCHING_COUNTED_UP_TO)
    shown = f"{count:,}{'+' if count >= MATCHING_COUNTED_UP_TO else ''}"
    return f"{shown} {noun}{'' if count == 1 else 's'} match{'es' if count == 1 else ''}"


def _page_of(selector, *, filters: dict, cursor: str | None, page_size: int) -> tuple[Page | None, dict]:
    """(the page at `cursor` of `selector`'s list, {}), or (None, the field error) for a cursor it cannot read."""
    try:
        return selector(filters=filters, cursor=cursor, page_size=page_size), {}
    except serializers.ValidationError:
        return None, CURSOR_ERROR


def _export_query(raw: dict, filters: dict) -> str:
    """The list's query string for the export link, its `from`/`to` as the page read them: with their offset, since
    the API reads a time without one in UTC where the page reads it in the dashboard's zone."""
    bounds = {
        key: filters[name].isoformat()
        for key, name in (("from", "start"), ("to", "end"))
        if key in raw and filters.get(name)
    }
    return _query(raw, **bounds)


@login_required
@require_GET
def conversations_page(request):
    raw = _raw_filters(request.GET, ConversationFilterSerializer)
    filters, errors = _validated(raw, ConversationFilterSerializer)
    page = None
    if not errors:
        page, errors = _page_of(
            conversation_page,
            filters=filters or {"ordering": "-last_message_at"},
            cursor=request.GET.get("cursor"),
            page_size=PAGE_SIZE_DEFAULT,
        )
    ordering = raw.get("ordering", "-last_message_at")
    # (field, label, query string that sorts by it: descending first, ascending on a second click)
    columns = [
        (field, label, _query(raw, ordering=field if ordering == f"-{field}" else f"-{field}"))
        for field, label in (
            ("health_score", "Health"),
            ("last_message_at", "Last message"),
            ("message_count", "Messages"),
        )
        if f"-{field}" in CONVERSATION_ORDERINGS
    ]
    # The pattern filter has no field of its own (a pattern's page links here): the form carries it hidden, and the
    # page names the pattern, with a link that drops it.
    pattern = pattern_get(pattern_id=filters["pattern"]) if filters.get("pattern") else None
    context = {
        "raw": raw,
        "errors": errors,
        "error_lines": _error_lines(errors),
        "labels": FILTER_LABELS,
        "page": page,
        "matching": _matching(conversation_list(**filters), "conversation") if page else None,
        **_pager(raw, page, request),
        "export_query": _export_query(raw, filters),
        "pattern": pattern,
        "without_pattern_query": _query(raw, pattern=None),
        "window": _window(raw, filters),
        "timeframes": list(TIMEFRAMES),
        "failure_types": FAILURE_TYPES,
        "ordering": ordering,
        "columns": columns,
        "saved_views": saved_view_list(scope=SavedView.Scope.CONVERSATIONS),
    }
    return render(request, "dashboard/conversations.html", context, status=400 if errors else 200)


# The filters' labels: the filter forms show them (`labels` in the pages' context), and the filter serializers'
# messages, which name the API's fields ("health_min"), are given with them.
FILTER_LABELS = {
    "timeframe": "Timeframe",
    "from": "From",
    "to": "To",
    "health_min": "Health from",
    "health_max": "Health to",
    "has_failures": "Failures",
    "failure_type": "Failure type",
    "environment": "Environment",
    "q": "Text in messages",
    "external_id": "Your id",
    "pattern": "Pattern",
    "status": "Status",
    "type": "Type",
    "severity": "Severity",
    "conversation": "Conversation",
    "ordering": "Order",
    "cursor": "Page",
}
# The Failures page's orders, as its form names them (its table has no sortable column but the time).
_FAILURE_ORDER_LABELS = {"-detected_at": "Newest first", "detected_at": "Oldest first"}
FAILURE_ORDER_CHOICES = [(ordering, _FAILURE_ORDER_LABELS[ordering]) for ordering in FAILURE_ORDERINGS]


def _labelled(text: str) -> str:
    """`text` with the API's field names it mentions ("Must be at least health_min.") as the form's labels; only
    names no sentence uses as a word (with an underscore) are replaced."""
    for field, label in FILTER_LABELS.items():
        if "_" in field:
            text = re.sub(rf"\b{field}\b", f"“{label}”", text)
    return text


def _error_lines(errors: dict) -> list[str]:
    """The filter form's field errors, one plain line per field, named by its label."""
    return [_plain_errors({field: problems}) for field, problems in errors.items()]


def _plain_errors(detail) -> str:
    """A ValidationError's messages as plain text, never the repr of its ErrorDetails: "Give the view a name.",
    and a filter's named as the form labels it ("Health from: A valid number is required."); a key holding fields
    of its own (a saved view's `config`) is not named, its fields are."""
    if isinstance(detail, dict):
        return " ".join(
            _plain_errors(value)
            if isinstance(value, dict)
            else f"{FILTER_LABELS.get(key, key)}: {_labelled(_plain_errors(value))}"
            for key, value in detail.items()
        )
    if isinstance(detail, list):
        return " ".join(_plain_errors(item) for item in detail)
    return str(detail)


# Each scope's list page and filters: a saved view opens on its own list (the API makes views of either scope).
_VIEW_LISTS = {
    SavedView.Scope.CONVERSATIONS: ("/conversations/", ConversationFilterSerializer),
    SavedView.Scope.FAILURES: ("/failures/", FailureFilterSerializer),
}


# The saved views' forms are on the failures page too; a GET does not say which page it came from.
@form_post(page="/conversations/")
def saved_view_save(request):
    scope = request.POST.get("scope")
    if scope not in _VIEW_LISTS:
        scope = SavedView.Scope.CONVERSATIONS
    page, filter_serializer = _VIEW_LISTS[scope]
    raw = _raw_filters(request.POST, filter_serializer)
    config = _failures_config(raw) if scope == SavedView.Scope.FAILURES else raw
    name = request.POST.get("name", "").strip()
    try:
        if not name:
            raise serializers.ValidationError("Give the view a name.")
        name = name[:100]
        # Saving under a name already taken replaces that view's filters, as "Save these filters as" says.
        _, created = saved_view_save_named(name=name, scope=scope, config=config)
        messages.success(request, f"{'Saved' if created else 'Updated'} the view “{name}”.")
    except serializers.ValidationError as exc:
        messages.error(request, f"The view was not saved: {_plain_errors(exc.detail)}")
    return redirect(f"{page}?{_query(raw)}")


@login_required
@require_GET
def saved_view_apply(request, view_id):
    view = saved_view_get(view_id=view_id)
    if view is None:
        raise Http404("No such saved view.")
    config = dict(view.config)
    if view.scope == SavedView.Scope.FAILURES:
        config.setdefault("status", ALL_STATUSES)  # the API's "every status", which the page names so
    return redirect(f"{_VIEW_LISTS[view.scope][0]}?{_query(config)}")


def _failures_config(raw: dict) -> dict:
    """The failures page's filters as a saved view's config, in the API's terms: the page's "any status" is the
    API's status left out (the page without one shows the open failures, its default)."""
    config = dict(raw)
    if config.get("status") == ALL_STATUSES:
        del config["status"]
    return config


@form_post(page="/conversations/")
def saved_view_remove(request, view_id):
    view = saved_view_get(view_id=view_id)
    if view is None:
        raise Http404("No such saved view.")
    saved_view_delete(view=view)
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect(_VIEW_LISTS[view.scope][0])


def _latency_shown(latency_ms) -> str | None:
    """A message's latency (an SDK's metadata.latency_ms) as read: "11 ms", from a second on "1.2 s"; None when it is
    not a number of milliseconds (the metadata is the client's JSON), so the page leaves it out."""
    if isinstance(latency_ms, bool):
        return None
    try:
        milliseconds = float(latency_ms)
    except (TypeError, ValueError):
        return None
    if not 0 <= milliseconds < float("inf"):  # negative, NaN or infinite
        return None
    if round(milliseconds) >= 1000:
        return f"{milliseconds / 1000:.1f} s"
    return f"{round(milliseconds)} ms" if milliseconds >= 0.5 else "<1 ms"


# A metadata value is shown up to this many characters of its JSON: a whole object (16 KiB at most) of one would
# fill screens, where the start says what it is.
METADATA_VALUE_MAX_CHARS = 2_000


def _metadata_rest(message) -> list[dict]:
    """The message's metadata the line above its text does not show (tool calls, the client's own keys): each key
    with its value as indented JSON and, when that is cut at METADATA_VALUE_MAX_CHARS, a `note` saying so. A figure
    of that line the page could not show (a latency that is not a number) stays here, so nothing sent is hidden."""
    on_line = {
        "model": bool(message.metadata.get("model")),
        "latency_ms": message.latency_shown is not None,
        "output_tokens": bool(message.metadata.get("output_tokens")),
    }
    rest = []
    for key, value in message.metadata.items():
        if on_line.get(key):
            continue
        text = json.dumps(value, indent=2, ensure_ascii=False)
        note = None
        if len(text) > METADATA_VALUE_MAX_CHARS:
            note = f"The first {METADATA_VALUE_MAX_CHARS:,} of {len(text):,} characters."
        rest.append({"key": key, "value": text[:METADATA_VALUE_MAX_CHARS], "note": note})
    return rest


def _earlier_messages(conversation, transcript: list) -> str | None:
    """The link to the part before a later part of a long transcript; None when that is the first part (which the page
    links to as "First messages")."""
    cursor = message_page_earlier_cursor(
        conversation_id=conversation.id, first=transcript[0], page_size=MAX_TRANSCRIPT_MESSAGES
    )
    return f"?{_query({}, messages=cursor)}" if cursor else None


@login_required
@require_GET
def conversation_detail_page(request, conversation_id: uuid.UUID):
    conversation = conversation_get(conversation_id=conversation_id)
    if conversation is None:
        raise Http404("No such conversation.")
    # A long transcript comes MAX_TRANSCRIPT_MESSAGES at a time: `messages` is the cursor of a later part, and a link
    # to one message (a failure's, Failure.message_url) names it in `message`, for the part that holds it.
    later = request.GET.get("messages")
    if request.GET.get("message"):
        try:
            later = message_page_cursor(
                conversation_id=conversation.id,
                message_id=int(request.GET["message"]),
                page_size=MAX_TRANSCRIPT_MESSAGES,
            )
        except (ValueError, Message.DoesNotExist):
            raise Http404("This link to a message of the conversation is not valid.") from None
    try:
        part = message_page(conversation_id=conversation.id, cursor=later, page_size=MAX_TRANSCRIPT_MESSAGES)
    except serializers.ValidationError:
        raise Http404("This link to later messages of the conversation is not valid.") from None
    transcript = part.items
    shown = {message.id for message in transcript}
    failures = list(failure_list(conversation_id=conversation.id).order_by("detected_at"))
    failures_by_message: dict[int, list[Failure]] = {}
    for failure in failures:
        failures_by_message.setdefault(failure.message_id, []).append(failure)
        # A message of the part shown is a jump within the page; another part is loaded.
        failure.link = f"#message-{failure.message_id}" if failure.message_id in shown else failure.message_url
    figures = {figure.message_id: figure for figure in conversation_turn_figures(conversation=conversation)}
    for message in transcript:
        message.found_failures = failures_by_message.get(message.id, [])
        message.turn_figure = figures.get(message.id)
        message.latency_shown = _latency_shown(message.metadata.get("latency_ms"))
        message.metadata_rest = _metadata_rest(message)
        # An assistant turn that only calls tools has no text: the page says so, not an empty bubble.
        message.has_text = bool(message.content.strip())
    components = (conversation.health_breakdown or {}).get("components", {})
    breakdown = [
        {"name": name, **component, "width": max(0.0, float(component.get("points", 0)))}
        for name, component in components.items()
    ]
    embeddings_missing = embeddings_missing_because()
    similar = None  # the page says why not, from `embeddings_missing`
    if embeddings_missing is None:
        similar = [other for other, _ in conversation_similar(conversation_id=conversation.id, limit=5)]
    memberships = conversation.pattern_memberships.select_related("pattern").order_by("-pattern__period_end")[:1]
    context = {
        "conversation": conversation,
        "transcript": transcript,
        "truncated": conversation.message_count > len(transcript),
        "later_messages": f"?{_query({}, messages=part.next_cursor)}" if part.next_cursor else None,
        "on_later_part": bool(later),
        "earlier_messages": _earlier_messages(conversation, transcript) if later and transcript else None,
        "failures": failures,
        "breakdown": breakdown,
        "read_by_meaning": conversation_scoring(conversation=conversation) == "embeddings",
        "similar": similar,
        "embeddings_missing": embeddings_missing,
        "pattern": memberships[0].pattern if memberships else None,
    }
    return render(request, "dashboard/conversation_detail.html", context)


@login_required
@require_GET
def failures_page(request):
    # The inbox lists the open failures unless asked for a status, or for every status ("all", which the form shows
    # selected and the next page keeps; _failures_config reads it in the API's terms).
    raw = _raw_filters(request.GET, FailureFilterSerializer)
    raw.setdefault("status", Failure.Status.OPEN)
    filters, errors = _validated(_failures_config(raw), FailureFilterSerializer)
    page = None
    if not errors:
        page, errors = _page_of(failure_page, filters=filters, cursor=request.GET.get("cursor"), page_size=50)
    # A conversation's page links here for its failures: the form carries it hidden, and the page names it.
    conversation = (
        conversation_get(conversation_id=filters["conversation_id"]) if filters.get("conversation_id") else None
    )
    context = {
        "raw": raw,
        # An empty list says nothing needs attention only when no filter but the status narrowed it.
        "narrowed": any(value for name, value in raw.items() if name not in ("status", "ordering")),
        "status_label": dict(Failure.Status.choices).get(raw["status"], "").lower(),
        "conversation": conversation,
        "without_conversation_query": _query(raw, conversation=None),
        "window": _window(raw, filters),
        "errors": errors,
        "error_lines": _error_lines(errors),
        "labels": FILTER_LABELS,
        "page": page,
        "matching": _matching(failure_list(**filters), "failure") if page else None,
        **_pager(raw, page, request),
        "statuses": [(ALL_STATUSES, "Any"), *Failure.Status.choices],
        "orderings": FAILURE_ORDER_CHOICES,
        "saved_views": saved_view_list(scope=SavedView.Scope.FAILURES),
        "severities": Failure.Severity.values,
        "failure_types": FAILURE_TYPES,
        "timeframes": list(TIMEFRAMES),
        "back": request.get_full_path(),
    }
    return render(request, "dashboard/failures.html", context, status=400 if errors else 200)


@form_post(page="/failures/")
def failures_set_status(request):
    status = request.POST.get("status", "")
    ids = []
    for value in request.POST.getlist("ids"):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    if status not in Failure.Status.values or not ids:
        messages.error(request, "Choose at least one failure and a status.")
    else:
        try:
            changed = failure_bulk_set_status(failure_ids=ids, status=status)
        except FailuresNotFound as exc:
            # Scoring a conversation again removes the failures it no longer finds, while the inbox is open.
            gone = len(exc.missing)
            why = "exists (its conversation was" if gone == 1 else "exist (their conversations were"
            messages.error(
                request,
                f"{gone} of the chosen failures no longer {why} scored again since the list was shown), so nothing "
                "was changed: choose again in the list below.",
            )
        else:
            label = dict(Failure.Status.choices)[status].lower()
            messages.success(request, f"Marked {changed} failure{'s' if changed != 1 else ''} as {label}.")
    back = request.POST.get("next", "/failures/")
    # Only a path of this site: "/\host" passes a test of its first characters, and browsers read it as "//host".
    local = back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return redirect(back if local else "/failures/")
