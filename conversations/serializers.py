"""Output serializers shared by several dashboard endpoints, the error responses of the OpenAPI schema,
and schema fixes for endpoints whose views live in other apps.
"""

from __future__ import annotations

import math
import uuid

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers

from conversations.models import Conversation, Failure
from conversations.selectors import LIST_FIELDS
from convosensei.errors import ErrorEnvelopeSerializer

_ERROR_DESCRIPTIONS = {
    400: "Invalid query parameters or body; `details` names each field and what is wrong with it.",
    401: "Missing or invalid credentials (a Supabase access token or the admin session; API keys are refused).",
    403: "The admin session without a valid CSRF token on an unsafe method.",
    404: "No such resource.",
    409: "Conflicts with the current state (e.g. a saved view of that scope and name exists).",
    503: "A dependency is unavailable (the database; for similar conversations, embeddings).",
}


def error_responses(*statuses: int) -> dict:
    """The error envelope for each of `statuses`, for `extend_schema(responses=...)`."""
    return {
        status: OpenApiResponse(ErrorEnvelopeSerializer, description=_ERROR_DESCRIPTIONS[status]) for status in statuses
    }


READ_ERRORS = error_responses(400, 401)
DETAIL_READ_ERRORS = error_responses(400, 401, 404)
WRITE_ERRORS = error_responses(400, 401, 403)


def id_parameter(name: str, what: str) -> OpenApiParameter:
    """A UUID path parameter. The URL takes any segment so that a malformed id gets the same 404
    envelope as an unknown one (see parse_id), rather than falling through to the catch-all route."""
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=f"The {what}'s id.")


def parse_id(value: str, what: str) -> uuid.UUID:
    """`value` as a UUID; raises NotFound (404) when it is not one: no such resource can exist."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise exceptions.NotFound(f"No {what} with this id.") from None


# Body fields that take only their JSON type: DRF would turn 0 into "0", "12" into 12.0 and "yes"
# into True, which the OpenAPI schema (and so every generated client) says is invalid.


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class FiniteFloatField(serializers.FloatField):
    """A number from a query string; "nan" and "inf" are not numbers here."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


def page_serializer(name: str, item: serializers.Serializer) -> type[serializers.Serializer]:
    """The envelope of a keyset-paginated list of `item`, named `name` in the schema."""

    class PageSerializer(serializers.Serializer):
        results = item.__class__(many=True)
        next_cursor = serializers.CharField(
            allow_null=True, help_text="Pass as `cursor` for the next page; null on the last page."
        )

        class Meta:
            ref_name = name

    PageSerializer.__name__ = name
    return PageSerializer


class FailureStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=Failure.Status.choices, **kwargs)


class SeverityField(serializers.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=Failure.Severity.choices, **kwargs)


# The same values as a failure's severity, read as a threshold (so a choice set of its own in the schema).
ALERT_MIN_SEVERITY_CHOICES = [("low", "Every failure"), ("medium", "Medium and high"), ("high", "High only")]


class ConversationSummarySerializer(serializers.ModelSerializer):
    """A conversation as lists show it."""

    class Meta:
        model = Conversation
        ref_name = "ConversationSummary"
        # Exactly what the list query loads (selectors.LIST_FIELDS): a field added here must be loaded there.
        fields = list(LIST_FIELDS)
        read_only_fields = fields


class FailureOutputSerializer(serializers.ModelSerializer):
    conversation_external_id = serializers.CharField(source="conversation.external_id", read_only=True)
    evidence = serializers.DictField(read_only=True)
    status = FailureStatusField(read_only=True)
    severity = SeverityField(read_only=True)

    class Meta:
        model = Failure
        ref_name = "Failure"
        fields = [
            "id",
            "conversation_id",
            "conversation_external_id",
            "message_id",
            "type",
            "severity",
            "description",
            "evidence",
            "status",
            "detected_at",
            "updated_at",
            "resolved_at",
        ]
        read_only_fields = fields


# --- OpenAPI fixes for views and schemas of other apps ---------------------------------------------------
# These belong beside the code they document (accounts/schema.py, ingestion/); they live here because
# this change may only touch the dashboard API's files. They only change the schema, never behaviour.


def _nullable_30(schema):
    """A pydantic (JSON Schema 2020-12) schema rewritten for OpenAPI 3.0: `anyOf [X, {type: null}]`
    becomes X with `nullable: true`, and `const` becomes a one-value `enum`."""
    if isinstance(schema, list):
        return [_nullable_30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _nullable_30(value) for key, value in schema.items()}
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [option for option in options if option != {"type": "null"}]
            del schema[key]
            if len(rest) == 1 and "$ref" in rest[0]:
                schema["allOf"] = rest
            elif len(rest) == 1:
                schema.update(rest[0])
            else:
                schema[key] = rest
            schema["nullable"] = True
    return schema


class PydanticOpenApi30Extension(OpenApiSerializerExtension):
    """drf-spectacular's pydantic support, with the schemas made valid OpenAPI 3.0 (see _nullable_30)."""

    target_class = "pydantic.BaseModel"
    match_subclasses = True
    priority = 1

    def get_name(self, auto_schema, direction):
        from drf_spectacular.contrib.pydantic import PydanticExtension

        return PydanticExtension(self.target).get_name(auto_schema, direction)

    def map_serializer(self, auto_schema, direction):
        from drf_spectacular.plumbing import ResolvedComponent
        from pydantic.json_schema import model_json_schema

        def register(name: str, schema: dict) -> None:
            component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
            auto_schema.registry.register_on_missing(component)

        schema = model_json_schema(self.target, ref_template="#/components/schemas/{model}", mode="serialization")
        for sub_name, sub_schema in schema.pop("$defs", {}).items():
            register(sub_name, _hoist_enums(_nullable_30(sub_schema), sub_name, register))
        return _hoist_enums(_nullable_30(schema), self.target.__name__, register)


def _hoist_enums(schema: dict, owner: str, register) -> dict:
    """Each enum property of a pydantic model becomes its own component, `<Model><Property>Enum`.

    drf-spectacular names inline enums after the property alone, so ingestion's `status` (ok/error)
    and a failure's `status` (open/ack/resolved) would collide; a referenced enum is left alone.
    """
    for name, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, dict) and "enum" in prop:
            component = "".join(part.capitalize() for part in name.split("_"))
            component_name = f"{owner}{component}Enum"
            enum_schema = {key: prop.pop(key) for key in ("type", "enum") if key in prop}
            register(component_name, enum_schema)
            prop["allOf"] = [{"$ref": f"#/components/schemas/{component_name}"}]
    return schema


class MeApiDocs(OpenApiViewExtension):
    target_class = "accounts.api.MeApi"

    def view_replacement(self):
        target = self.target_class

        @extend_schema_view(get=extend_schema(responses={200: target.OutputSerializer, **error_responses(401)}))
        class Documented(target):
            pass

        return Documented


class ApiKeyListCreateApiDocs(OpenApiViewExtension):
    target_class = "accounts.api.ApiKeyListCreateApi"

    def view_replacement(self):
        from accounts.api import ApiKeyOutputSerializer

        target = self.target_class

        @extend_schema_view(
            get=extend_schema(responses={200: ApiKeyOutputSerializer(many=True), **error_responses(401)}),
            post=extend_schema(responses={201: target.CreatedSerializer, **WRITE_ERRORS}),
        )
        class Documented(target):
            pass

        return Documented


class ApiKeyDetailApiDocs(OpenApiViewExtension):
    target_class = "accounts.api.ApiKeyDetailApi"

    def view_replacement(self):
        from accounts.api import ApiKeyOutputSerializer

        @extend_schema_view(
            delete=extend_schema(responses={200: ApiKeyOutputSerializer, **error_responses(401, 403, 404)})
        )
        class Documented(self.target_class):
            pass

        return Documented
