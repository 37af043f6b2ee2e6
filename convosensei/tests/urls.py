"""The project's URLs plus views that fail on purpose, for the error-envelope tests."""

from django.db import OperationalError, connection
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


class QueryFailsApi(APIView):
    """A query that fails on its own, on a working connection (a deployment without `migrate`, say)."""

    permission_classes = [AllowAny]

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_after_a_deployment")


class DiskFullApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$")


def plain_boom(request):
    raise ValueError("plain view internal detail")


urlpatterns = [
    path("api/v1/test/boom", BoomApi.as_view()),
    path("api/v1/test/database-down", DatabaseDownApi.as_view()),
    path("api/v1/test/plain-boom", plain_boom),
    path("api/v1/test/query-fails", QueryFailsApi.as_view()),
    path("api/v1/test/disk-full", DiskFullApi.as_view()),
    *project_urlpatterns,
]
