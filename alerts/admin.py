from django.contrib import admin

from alerts.models import AlertDelivery, AppSettings
from alerts.slack import slack_webhook_url_mask


@admin.register(AppSettings)
class AppSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "alert_on_new_failures",
        "alert_min_severity",
        "health_alert_threshold",
        "daily_summary",
        "updated_at",
    ]
    # The webhook URL is a credential: shown masked here, changed on the dashboard's Settings page.
    exclude = ["slack_webhook_url"]
    readonly_fields = ["id", "slack_webhook", "updated_at"]

    @admin.display(description="Slack webhook URL")
    def slack_webhook(self, obj: AppSettings) -> str:
        return slack_webhook_url_mask(obj.slack_webhook_url) if obj.slack_webhook_url else "–"

    def has_add_permission(self, request) -> bool:
        return not AppSettings.objects.exists()  # one row only (also enforced by the database)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    """The alert log: read-only, written by the alerts worker."""

    list_display = ["kind", "status", "attempts", "conversation", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["conversation__external_id", "dedupe_key", "last_error"]
    readonly_fields = ["id", "dedupe_key", "kind", "conversation", "payload", "status", "attempts", "last_error",
                       "created_at", "sent_at"]  # fmt: skip
    list_select_related = ["conversation"]

    def has_add_permission(self, request) -> bool:
        return False
