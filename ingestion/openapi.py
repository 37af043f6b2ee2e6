"""How ingestion's pydantic payloads (ingestion/schemas.py) appear in the OpenAPI 3.0 schema."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema


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

        # A request body is what the model validates; a response is what it dumps.
        mode = "validation" if direction == "request" else "serialization"
        schema = model_json_schema(self.target, ref_template="#/components/schemas/{model}", mode=mode)
        for sub_name, sub_schema in schema.pop("$defs", {}).items():
            register(sub_name, _hoist_enums(_nullable_30(sub_schema), sub_name, register))
        return _hoist_enums(_nullable_30(schema), self.target.__name__, register)


class IngestAutoSchema(AutoSchema):
    """The ingestion views' schema: each pydantic model is one component, named after the model.

    COMPONENT_SPLIT_REQUEST appends "Request" to a request body's component, which suits DRF serializers
    (their read-only fields make two shapes) but not pydantic: BatchIn refers to ConversationIn by the
    model's own name, so the suffixed top-level body would be a second copy, `ConversationInRequest`.
    drf-spectacular appends the suffix after asking the extension for the name, hence this override.
    A model is then one shape in both directions: the *In models are only read, the results only written.
    """

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        extension = None if bypass_extensions else OpenApiSerializerExtension.get_match(serializer)
        if isinstance(extension, PydanticOpenApi30Extension):
            return extension.get_name(self, direction)
        return super()._get_serializer_name(serializer, direction, bypass_extensions)


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
