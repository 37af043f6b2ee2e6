"""The dashboard's pages (server-rendered, behind the admin's login); each app's views.py serves its own."""

from django.templatetags.static import static
from django.urls import path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from accounts import views as accounts_views

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page links; answer with the real icon, not a 404.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True)),
    # Until the overview page exists, the dashboard opens on the admin site.
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="overview"),
    path("settings/", accounts_views.api_keys_page, name="settings"),
    path("settings/api-keys/<uuid:key_id>/revoke", accounts_views.api_key_revoke_view, name="api-key-revoke"),
]
