"""The ingestion endpoints as the OpenAPI schema (/api/schema/, shown at /api/docs/) documents them."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi(client):
    def render() -> dict:
        return client.get("/api/schema/?format=json").json()

    return render


@pytest.mark.parametrize(
    ("path", "component"),
    [("/api/v1/conversations/track", "ConversationIn"), ("/api/v1/conversations/track/batch", "BatchIn")],
)
def test_the_request_body_is_documented_as_required_json(openapi, path, component):
    assert openapi()["paths"][path]["post"]["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
        "required": True,
    }


def test_each_pydantic_input_model_is_one_component(openapi):
    components = openapi()["components"]["schemas"]
    assert {"BatchIn", "ConversationIn", "MessageIn"} <= set(components)
    assert not [name for name in components if name.endswith("InRequest")]


def test_the_limits_in_the_schema_follow_the_settings(openapi, settings):
    settings.INGEST_MAX_CONTENT_CHARS = 500
    settings.INGEST_MAX_MESSAGES_PER_CONVERSATION = 20
    components = openapi()["components"]["schemas"]
    limits = (
        components["MessageIn"]["properties"]["content"]["maxLength"],
        components["ConversationIn"]["properties"]["messages"]["maxItems"],
    )
    assert limits == (500, 20)


def test_the_schema_says_a_conversation_has_at_least_one_message(openapi):
    assert openapi()["components"]["schemas"]["ConversationIn"]["properties"]["messages"]["minItems"] == 1
