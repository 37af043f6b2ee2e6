from django.urls import path

from accounts import api

urlpatterns = [
    path("me", api.MeApi.as_view(), name="api-me"),
    path("api-keys", api.ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("api-keys/<str:key_id>", api.ApiKeyDetailApi.as_view(), name="api-key-detail"),
]
