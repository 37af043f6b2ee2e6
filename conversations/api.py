"""The dashboard API of conversations, messages, failures and saved views (Supabase token or admin session)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.embeddings import embeddings_enabled
from analytics.selectors import conversation_similar
from conversations import selectors, services
from conversations.filters import (
    ConversationFilterSerializer,
    FailureFilterSerializer,
    PageSerializer,
    config_validate,
    validated_query,
)
from conversations.models import Conversation, Failure, Message, SavedView
from conversations.serializers import ConversationSummarySerializer, FailureOutputSerializer, FailureStatusField
from convosensei.exceptions import Conflict, ServiceUnavailable
from convosensei.openapi import DETAIL_READ_ERRORS, READ_ERRORS, WRITE_ERRORS, error_responses, id_parameter, parse_id
from convosensei.serializers import StrictCharField, StrictUUIDField, page_serializer

logger = logging.getLogger(__name__)


CONVERSATION_ID = id_parameter("conversation_id", "conversation")
FAILURE_ID = id_parameter("failure_id", "failure")
VIEW_ID = id_parameter("view_id", "saved view")


def _conversation_or_404(conversation_id: str) -> Conversation:
    conversation = selectors.conversation_get(conversation_id=parse_id(conversation_id, "conversation"))
    if conversation is None:
        raise exceptions.NotFound("No conversation with this id.")
    return conversation


def _require_conversation(conversation_id: str) -> uuid.UUID:
    conversation_uuid = parse_id(conversation_id, "conversation")
    if not selectors.conversation_exists(conversation_id=conversation_uuid):
        raise exceptions.NotFound("No conversation with this id.")
    return conversation_uuid


# --- conversations ---------------------------------------------------------------------------------------


class ConversationListApi(APIView):
    PageOutputSerializer = page_serializer("ConversationPage", ConversationSummarySerializer())

    @extend_schema(
        operation_id="conversations_list",
        summary="List conversations",
        description=(
            "Filtered, keyset-paginated: follow `next_cursor` (as `cursor`) for the next page; `page_size` "
            "is at most 100. NULL health scores (unscored conversations) come last in either direction."
        ),
        parameters=[ConversationFilterSerializer, PageSerializer],
        responses={200: PageOutputSerializer, **READ_ERRORS},
    )
    def get(self, request):
        filters, page_params = validated_query(request, ConversationFilterSerializer, PageSerializer)
        page = selectors.conversation_page(filters=filters, **page_params)
        data = {"results": page.items, "next_cursor": page.next_cursor}
        return Response(self.PageOutputSerializer(data).data)


EXPORT_FIELDS = tuple(ConversationSummarySerializer.Meta.fields)


class ConversationExportApi(APIView):
    class FormatSerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=["csv", "jsonl"], required=False, default="csv")

        class Meta:
            ref_name = "ExportFormat"

    def perform_content_negotiation(self, request, force=False):
        # `format` is this endpoint's own parameter, not DRF's renderer override; errors are JSON.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        operation_id="conversations_export",
        summary="Export the filtered conversations",
        description="Every conversation matching the filters of GET conversations, streamed as CSV or JSON lines.",
        parameters=[FormatSerializer, ConversationFilterSerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="A header line, then one row each."),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="One JSON object a line."),
            **READ_ERRORS,
        },
    )
    def get(self, request):
        params, filters = validated_query(request, self.FormatSerializer, ConversationFilterSerializer)
        export_format = params["format"]
        if export_format == "csv":
            chunks = selectors.conversation_export_csv(filters=filters, fields=EXPORT_FIELDS)
            response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
        else:
            chunks = selectors.conversation_export_jsonl(filters=filters, fields=EXPORT_FIELDS)
            response = StreamingHttpResponse(chunks, content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="conversations.{export_format}"'
        logger.info("conversations.export_started", extra={"format": export_format})
        return response


class ConversationDetailApi(APIView):
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Conversation
            ref_name = "ConversationDetail"
            fields = [
                *ConversationSummarySerializer.Meta.fields,
                "ended_at",
                "processed_at",
                "sentiment_summary",
                "metadata",
                "created_at",
                "updated_at",
            ]
            read_only_fields = fields

    @extend_schema(
        operation_id="conversations_retrieve",
        parameters=[CONVERSATION_ID],
        summary="One conversation",
        responses={200: OutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request, conversation_id):
        return Response(self.OutputSerializer(_conversation_or_404(conversation_id)).data)


class MessageOutputSerializer(serializers.ModelSerializer):
    metadata = serializers.DictField(read_only=True)

    class Meta:
        model = Message
        ref_name = "Message"
        fields = ["id", "position", "role", "content", "timestamp", "sentiment_score", "metadata"]
        read_only_fields = fields


class ConversationMessagesApi(APIView):
    PageOutputSerializer = page_serializer("MessagePage", MessageOutputSerializer())

    @extend_schema(
        operation_id="conversations_messages_list",
        summary="A conversation's messages, in transcript order",
        parameters=[CONVERSATION_ID, PageSerializer],
        responses={200: PageOutputSerializer, **DETAIL_READ_ERRORS},
    )
    def get(self, request, conversation_id):
        (params,) = validated_query(request, PageSerializer)
        page = selectors.message_page(conversation_id=_require_conversation(conversation_id), **params)
        return Response(self.PageOutputSerializer({"results": page.items, "next_cursor": page.next_cursor}).data)


class HealthComponentSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.FloatField(help_text="0 (fine) … 1 (bad).")
    weight = serializers.FloatField()
    points = serializers.FloatField(help_text="What the component cost: 100 × weight × value.")
    evidence_indexes = serializers.ListField(child=serializers.IntegerField(), help_text="Message indexes.")
    evidence_message_ids = serializers.ListField(child=serializers.IntegerField(), help_text="Message ids.")
    detail = serializers.DictField()

    class Meta:
        ref_name = "HealthComponent"


class HealthTurnSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The message's index in the transcript.")
    message_id = serializers.IntegerField(allow_null=True)
    role = serializers.ChoiceField(choices=["user", "assistant"])
    measure = serializers.ChoiceField(
        choices=["dissatisfaction_risk", "failure_evidence"],
        help_text="A user turn: the probability that the user was dissatisfied there. An assistant turn: the "
        "evidence (0–1) that the turn failed, which ranks the bot's turns.",
    )
    value = serializers.FloatField()
    notable = serializers.BooleanField(help_text="The value reaches the threshold the dashboard marks.")

    class Meta:
        ref_name = "HealthTurn"


class ConversationHealthApi(APIView):
    class OutputSerializer(serializers.Serializer):
        conversation_id = serializers.UUIDField()
        health_score = serializers.FloatField(allow_null=True, help_text="Null until the conversation is scored.")
        processing_state = serializers.ChoiceField(choices=Conversation.ProcessingState.choices)
        processed_at = serializers.DateTimeField(allow_null=True)
        formula = serializers.CharField(allow_blank=True)
        scoring = serializers.ChoiceField(
            choices=["embeddings", "lexical"],
            allow_blank=True,
            help_text="How the text was read: `embeddings` (message vectors: FEATURE_EMBEDDINGS was on) or `lexical` "
            "(words alone); blank until scored.",
        )
        components = HealthComponentSerializer(many=True)
        turns = HealthTurnSerializer(many=True, help_text="Each scored turn's own figure, in transcript order.")

        class Meta:
            ref_name = "ConversationHealth"

    @extend_schema(
        operation_id="conversations_health_retrieve",
        parameters=[CONVERSATION_ID],
        summary="A conversation's health score explained",
        description="The score, per component its value, weight, points and evidence (the messages), and per "
        "scored turn its own figure.",
        responses={200: OutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request, conversation_id):
        conversation = _conversation_or_404(conversation_id)
        breakdown = conversation.health_breakdown or {}
        components = [
            {
                "name": name,
                "value": component.get("value", 0.0),
                "weight": component.get("weight", 0.0),
                "points": component.get("points", 0.0),
                "evidence_indexes": component.get("evidence_indexes", []),
                "evidence_message_ids": component.get("evidence_message_ids", []),
                "detail": component.get("detail", {}),
            }
            for name, component in (breakdown.get("components") or {}).items()
        ]
        data = {
            "conversation_id": conversation.id,
            "health_score": conversation.health_score,
            "processing_state": conversation.processing_state,
            "processed_at": conversation.processed_at,
            "formula": breakdown.get("formula", ""),
            "scoring": selectors.conversation_scoring(conversation=conversation),
            "components": components,
            "turns": [asdict(figure) for figure in selectors.conversation_turn_figures(conversation=conversation)],
        }
        return Response(self.OutputSerializer(data).data)


class ConversationFailuresApi(APIView):
    PageOutputSerializer = page_serializer("FailurePage", FailureOutputSerializer())

    @extend_schema(
        operation_id="conversations_failures_list",
        summary="A conversation's failures, newest first",
        parameters=[CONVERSATION_ID, PageSerializer],
        responses={200: PageOutputSerializer, **DETAIL_READ_ERRORS},
    )
    def get(self, request, conversation_id):
        (params,) = validated_query(request, PageSerializer)
        page = selectors.failure_page(filters={"conversation_id": _require_conversation(conversation_id)}, **params)
        return Response(self.PageOutputSerializer({"results": page.items, "next_cursor": page.next_cursor}).data)


class SimilarConversationSerializer(ConversationSummarySerializer):
    similarity = serializers.FloatField(help_text="Cosine similarity, -1 … 1.")

    class Meta(ConversationSummarySerializer.Meta):
        ref_name = "SimilarConversation"
        fields = [*ConversationSummarySerializer.Meta.fields, "similarity"]
        read_only_fields = fields


class ConversationSimilarApi(APIView):
    class ParamsSerializer(serializers.Serializer):
        limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=10)

        class Meta:
            ref_name = "SimilarParams"

    class OutputSerializer(serializers.Serializer):
        results = SimilarConversationSerializer(many=True)

        class Meta:
            ref_name = "SimilarConversations"

    @extend_schema(
        operation_id="conversations_similar_list",
        summary="Conversations most like this one (embeddings)",
        description=(
            "Nearest conversations by cosine similarity of their embeddings. Empty while this conversation "
            "has no embedding yet; 503 `embeddings_unavailable` when FEATURE_EMBEDDINGS is off or the "
            "database has no pgvector."
        ),
        parameters=[CONVERSATION_ID, ParamsSerializer],
        responses={200: OutputSerializer, **error_responses(400, 401, 404, 503)},
    )
    def get(self, request, conversation_id):
        (params,) = validated_query(request, self.ParamsSerializer)
        limit = params["limit"]
        conversation_uuid = _require_conversation(conversation_id)
        if not embeddings_enabled():
            raise ServiceUnavailable(
                "Similar conversations need embeddings (FEATURE_EMBEDDINGS and pgvector).",
                code="embeddings_unavailable",
            )
        similar = [other for other, _ in conversation_similar(conversation_id=conversation_uuid, limit=limit)]
        return Response(self.OutputSerializer({"results": similar}).data)


# --- failures --------------------------------------------------------------------------------------------


class FailureListApi(APIView):
    PageOutputSerializer = page_serializer("FailureInboxPage", FailureOutputSerializer())

    @extend_schema(
        operation_id="failures_list",
        summary="The failure inbox",
        description="Failures, newest first unless `ordering=detected_at`; the window applies to detected_at.",
        parameters=[FailureFilterSerializer, PageSerializer],
        responses={200: PageOutputSerializer, **READ_ERRORS},
    )
    def get(self, request):
        filters, page_params = validated_query(request, FailureFilterSerializer, PageSerializer)
        page = selectors.failure_page(filters=filters, **page_params)
        return Response(self.PageOutputSerializer({"results": page.items, "next_cursor": page.next_cursor}).data)


class StatusInputSerializer(serializers.Serializer):
    status = FailureStatusField()

    class Meta:
        ref_name = "FailureStatusInput"


def _failure_or_404(failure_id: str) -> Failure:
    failure = selectors.failure_get(failure_id=parse_id(failure_id, "failure"))
    if failure is None:
        raise exceptions.NotFound("No failure with this id.")
    return failure


class FailureDetailApi(APIView):
    @extend_schema(
        operation_id="failures_retrieve",
        parameters=[FAILURE_ID],
        summary="One failure",
        responses={200: FailureOutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request, failure_id):
        return Response(FailureOutputSerializer(_failure_or_404(failure_id)).data)

    @extend_schema(
        operation_id="failures_status_update",
        parameters=[FAILURE_ID],
        summary="Set a failure's status",
        description="Idempotent. `resolved` sets resolved_at (kept if already resolved); other statuses clear it.",
        request=StatusInputSerializer,
        responses={200: FailureOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request, failure_id):
        serializer = StatusInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            failure = services.failure_set_status(
                failure=_failure_or_404(failure_id), status=serializer.validated_data["status"]
            )
        except services.FailuresNotFound:
            raise exceptions.NotFound("No failure with this id.") from None
        return Response(FailureOutputSerializer(failure).data)


class FailureBulkStatusApi(APIView):
    class InputSerializer(StatusInputSerializer):
        ids = serializers.ListField(child=StrictUUIDField(), min_length=1, max_length=500)

        class Meta:
            ref_name = "FailureBulkStatusInput"

    class OutputSerializer(serializers.Serializer):
        status = FailureStatusField()
        requested = serializers.IntegerField(help_text="Distinct ids in the request.")
        changed = serializers.IntegerField(help_text="Failures whose status changed (the others had it already).")

        class Meta:
            ref_name = "FailureBulkStatusResult"

    @extend_schema(
        operation_id="failures_bulk_status",
        summary="Set the status of many failures",
        description="All or nothing: when an id is unknown, nothing changes and the 404 lists the unknown ids.",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids, status = serializer.validated_data["ids"], serializer.validated_data["status"]
        try:
            changed = services.failure_bulk_set_status(failure_ids=ids, status=status)
        except services.FailuresNotFound as exc:
            return Response(
                {
                    "message": "Some failures do not exist; nothing was changed.",
                    "code": "not_found",
                    "details": {"ids": [str(failure_id) for failure_id in exc.missing]},
                },
                status=404,
            )
        return Response(self.OutputSerializer({"status": status, "requested": len(set(ids)), "changed": changed}).data)


# --- saved views -----------------------------------------------------------------------------------------


class SavedViewOutputSerializer(serializers.ModelSerializer):
    config = serializers.DictField(read_only=True)

    class Meta:
        model = SavedView
        ref_name = "SavedView"
        fields = ["id", "name", "scope", "config", "created_at", "updated_at"]
        read_only_fields = fields


class SavedViewInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    scope = serializers.ChoiceField(choices=SavedView.Scope.choices)
    config = serializers.DictField(
        required=False,
        default=dict,
        help_text="The filters of the scope's list (GET conversations or GET failures); unknown keys are refused.",
    )

    class Meta:
        ref_name = "SavedViewInput"

    def validate(self, attrs: dict) -> dict:
        config_validate(scope=attrs["scope"], config=attrs["config"])
        return attrs


def _refuse_a_taken_name(*, scope: str, name: str, view: SavedView | None = None) -> None:
    """Raises Conflict (409), naming the view that holds it, when another view of `scope` is called `name`."""
    taken = selectors.saved_view_named(scope=scope, name=name)
    if taken is not None and taken != view:
        raise Conflict(
            f"A saved view of scope {scope} is named “{name}” already (id {taken.id}): PUT it to change its filters."
        )


def _saved_view_or_404(view_id: str) -> SavedView:
    view = selectors.saved_view_get(view_id=parse_id(view_id, "saved view"))
    if view is None:
        raise exceptions.NotFound("No saved view with this id.")
    return view


class SavedViewListCreateApi(APIView):
    class ParamsSerializer(serializers.Serializer):
        scope = serializers.ChoiceField(choices=SavedView.Scope.choices, required=False)

        class Meta:
            ref_name = "SavedViewParams"

    @extend_schema(
        operation_id="saved_views_list",
        summary="Saved views",
        parameters=[ParamsSerializer],
        responses={200: SavedViewOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request):
        (params,) = validated_query(request, self.ParamsSerializer)
        scope = params.get("scope")
        return Response(SavedViewOutputSerializer(selectors.saved_view_list(scope=scope), many=True).data)

    @extend_schema(
        operation_id="saved_views_create",
        summary="Save a view",
        request=SavedViewInputSerializer,
        responses={201: SavedViewOutputSerializer, **WRITE_ERRORS, **error_responses(409)},
    )
    def post(self, request):
        serializer = SavedViewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _refuse_a_taken_name(scope=data["scope"], name=data["name"])
        view = services.saved_view_create(**data)
        return Response(SavedViewOutputSerializer(view).data, status=201)


class SavedViewDetailApi(APIView):
    @extend_schema(
        operation_id="saved_views_retrieve",
        parameters=[VIEW_ID],
        summary="One saved view",
        responses={200: SavedViewOutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request, view_id):
        return Response(SavedViewOutputSerializer(_saved_view_or_404(view_id)).data)

    @extend_schema(
        operation_id="saved_views_update",
        parameters=[VIEW_ID],
        summary="Replace a saved view",
        request=SavedViewInputSerializer,
        responses={200: SavedViewOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def put(self, request, view_id):
        view = _saved_view_or_404(view_id)
        serializer = SavedViewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _refuse_a_taken_name(scope=data["scope"], name=data["name"], view=view)
        try:
            view = services.saved_view_update(view=view, **data)
        except SavedView.DoesNotExist:
            raise exceptions.NotFound("No saved view with this id.") from None
        return Response(SavedViewOutputSerializer(view).data)

    @extend_schema(
        operation_id="saved_views_delete",
        parameters=[VIEW_ID],
        summary="Delete a saved view",
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(401, 403, 404)},
    )
    def delete(self, request, view_id):
        services.saved_view_delete(view=_saved_view_or_404(view_id))
        return Response(status=204)
