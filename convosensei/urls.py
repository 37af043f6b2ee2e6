from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from convosensei.errors import api_not_found

handler400 = "convosensei.errors.bad_request_error"
handler404 = "convosensei.errors.page_not_found"
handler500 = "convosensei.errors.server_error"

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("ingestion.urls")),
    path("", include("conversations.urls")),
    path("", include("analytics.urls")),
    path("", include("alerts.urls")),
]

urlpatterns = [
    # /healthz and /readyz are answered by convosensei.middleware.HealthProbeMiddleware, before the Host check.
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Every other path under /api/ answers the JSON 404, so APPEND_SLASH never redirects there (an API client
    # gets the envelope, not an HTML redirect it may not follow with its POST body): these two pages, asked for
    # by people in a browser, are redirected by hand.
    path("api/schema", RedirectView.as_view(pattern_name="api-schema", permanent=True, query_string=True)),
    path("api/docs", RedirectView.as_view(pattern_name="api-docs", permanent=True, query_string=True)),
    path("api/v1/", include(api_v1)),
    re_path(r"^api/", api_not_found),
    path("", include("convosensei.dashboard_urls")),
]
