from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.selectors import api_key_get, api_key_list
from accounts.services import api_key_create, api_key_revoke
from convosensei.openapi import WRITE_ERRORS, error_responses, id_parameter, parse_id
from convosensei.serializers import StrictCharField


class MeApi(APIView):
    """Who the caller is: the dashboard user behind the token or session."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField(allow_blank=True)
        authenticated_by = serializers.ChoiceField(choices=["token", "session"])

        class Meta:
            ref_name = "Me"

    @extend_schema(
        operation_id="me_retrieve",
        summary="Who the caller is",
        responses={200: OutputSerializer, **error_responses(401)},
    )
    def get(self, request):
        user = request.user
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "email": user.email,
            "authenticated_by": "token" if isinstance(request.auth, dict) else "session",
        }
        return Response(self.OutputSerializer(data).data)


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    revoked = serializers.BooleanField(source="is_revoked")

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "revoked"]


class ApiKeyListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = StrictCharField(max_length=100)

        class Meta:
            ref_name = "ApiKeyInput"

    class CreatedSerializer(ApiKeyOutputSerializer):
        key = serializers.CharField(help_text="The full key. Shown only in this response; store it now.")

        class Meta(ApiKeyOutputSerializer.Meta):
            ref_name = "ApiKeyCreated"
            fields = [*ApiKeyOutputSerializer.Meta.fields, "key"]

    @extend_schema(
        operation_id="api_keys_list",
        summary="API keys, newest first",
        responses={200: ApiKeyOutputSerializer(many=True), **error_responses(401)},
    )
    def get(self, request):
        return Response(ApiKeyOutputSerializer(api_key_list(), many=True).data)

    @extend_schema(
        operation_id="api_keys_create",
        summary="Create an ingestion API key",
        description="The full key is in this response only: only a hash of its secret is stored.",
        request=InputSerializer,
        responses={201: CreatedSerializer, **WRITE_ERRORS},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, plaintext = api_key_create(name=serializer.validated_data["name"], created_by=request.user)
        api_key.key = plaintext
        return Response(self.CreatedSerializer(api_key).data, status=201)


class ApiKeyDetailApi(APIView):
    @extend_schema(
        operation_id="api_keys_revoke",
        parameters=[id_parameter("key_id", "API key")],
        summary="Revoke an API key",
        description="Requests with the key fail from the next one on. Idempotent: a revoked key stays revoked.",
        responses={200: ApiKeyOutputSerializer, **error_responses(401, 403, 404)},
    )
    def delete(self, request, key_id):
        api_key = api_key_get(key_id=parse_id(key_id, "API key"))
        if api_key is None:
            raise exceptions.NotFound("No API key with this id.")
        return Response(ApiKeyOutputSerializer(api_key_revoke(api_key=api_key)).data)
