from django.urls import path

from alerts import api

urlpatterns = [
    path("settings", api.SettingsApi.as_view(), name="api-settings"),
]
