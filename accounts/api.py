from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class MeApi(APIView):
    """Who the caller is: the dashboard user behind the token or session."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField(allow_blank=True)
        authenticated_by = serializers.ChoiceField(choices=["token", "session"])

    @extend_schema(operation_id="me_retrieve", responses=OutputSerializer)
    def get(self, request):
        user = request.user
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "email": user.email,
            "authenticated_by": "token" if isinstance(request.auth, dict) else "session",
        }
        return Response(self.OutputSerializer(data).data)
