"""The project's URLs plus views that fail on purpose, for the error-envelope tests."""

from django.db import OperationalError
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from convosensei.urls import urlpatterns as project_urlpatterns


class BoomApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("internal detail that must not leak")


class DatabaseDownApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise OperationalError('connection to server at "10.0.0.5" failed: password authentication failed')


def plain_boom(request):
    raise ValueError("plain view internal detail")


urlpatterns = [
    path("api/v1/test/boom", BoomApi.as_view()),
    path("api/v1/test/database-down", DatabaseDownApi.as_view()),
    path("api/v1/test/plain-boom", plain_boom),
    *project_urlpatterns,
]
