"""The dashboard's pages (server-rendered, behind the admin's login); each app's views.py serves its own."""

from django.templatetags.static import static
from django.urls import path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from accounts import views as accounts_views
from alerts import views as alerts_views
from analytics import views as analytics_views
from conversations import views as conversations_views

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page links; answer with the real icon, not a 404.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True)),
    path("", analytics_views.overview_page, name="overview"),
    path("conversations/", conversations_views.conversations_page, name="conversations"),
    path("conversations/views/save", conversations_views.saved_view_save, name="saved-view-save"),
    path("conversations/views/<uuid:view_id>/", conversations_views.saved_view_apply, name="saved-view-apply"),
    path("conversations/views/<uuid:view_id>/delete", conversations_views.saved_view_remove, name="saved-view-delete"),
    path("conversations/<uuid:conversation_id>/", conversations_views.conversation_detail_page, name="conversation"),
    path("failures/", conversations_views.failures_page, name="failures"),
    path("failures/status", conversations_views.failures_set_status, name="failures-status"),
    path("patterns/", analytics_views.patterns_page, name="patterns"),
    path("patterns/<uuid:pattern_id>/", analytics_views.pattern_page, name="pattern"),
    path("settings/", accounts_views.settings_page, name="settings"),
    path("settings/slack", alerts_views.slack_settings_save, name="slack-settings"),
    path("settings/slack/test", alerts_views.slack_test_message, name="slack-test"),
    path("settings/api-keys/<uuid:key_id>/revoke", accounts_views.api_key_revoke_view, name="api-key-revoke"),
]
