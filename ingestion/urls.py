from django.urls import path

from ingestion import api

urlpatterns = [
    path("conversations/track", api.TrackApi.as_view(), name="api-track"),
    path("conversations/track/batch", api.TrackBatchApi.as_view(), name="api-track-batch"),
]
