"""The dashboard's pages (server-rendered, behind the admin's login); each app's views.py serves its own."""

from django.urls import path
from django.views.generic import RedirectView

from accounts import views as accounts_views

urlpatterns = [
    # Until the overview page exists, the dashboard opens on the admin site.
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="overview"),
    path("settings/", accounts_views.api_keys_page, name="settings"),
    path("settings/api-keys/<uuid:key_id>/revoke", accounts_views.api_key_revoke_view, name="api-key-revoke"),
]
