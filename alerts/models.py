from django.db import models
from django.db.models import Q

from convosensei.encryption import EncryptedTextField

SINGLETON_ID = 1

# The same values as a failure's severity, read as a threshold (so a choice set of its own in the schema).
ALERT_MIN_SEVERITY_CHOICES = [("low", "Every failure"), ("medium", "Medium and high"), ("high", "High only")]


class AppSettings(models.Model):
    """The one row of product settings (id 1, enforced by a check constraint and the primary key)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    # A credential (whoever has it posts to the channel): stored encrypted, never shown whole.
    slack_webhook_url = EncryptedTextField(blank=True, default="")
    alert_on_new_failures = models.BooleanField(default=True)
    alert_min_severity = models.CharField(max_length=8, choices=ALERT_MIN_SEVERITY_CHOICES, default="high")
    health_alert_threshold = models.FloatField(default=40.0)
    # The morning summary of the previous day (alerts.daily_summary). A database default as well, so that a row
    # written without the column (an older release during a deploy) reads as off.
    daily_summary = models.BooleanField(default=False, db_default=False)
    features = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "app_settings"
        verbose_name = "app settings"
        verbose_name_plural = "app settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=SINGLETON_ID), name="app_settings_single_row"),
            # The alert evaluation reads these as they are: a value it cannot use is refused on write.
            models.CheckConstraint(
                condition=Q(alert_min_severity__in=[value for value, _ in ALERT_MIN_SEVERITY_CHOICES]),
                name="app_settings_alert_min_severity_valid",
            ),
            models.CheckConstraint(
                condition=Q(health_alert_threshold__gte=0, health_alert_threshold__lte=100),
                name="app_settings_health_alert_threshold_0_100",
            ),
        ]

    def __str__(self) -> str:
        return "App settings"


class AlertDelivery(models.Model):
    """One alert, recorded before it is sent, then marked sent or failed; `dedupe_key` makes it happen once."""

    class Kind(models.TextChoices):
        FAILURE = "failure", "New failure"
        LOW_HEALTH = "low_health", "Health below the threshold"
        DAILY_SUMMARY = "daily_summary", "Summary of the previous day"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    # What the alert is about, once ever: `failure:<failure id>`, `low_health:<conversation id>`, or
    # `daily_summary:<YYYY-MM-DD>` (the day of DASHBOARD_TIME_ZONE it sums up).
    dedupe_key = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When a retry of a pending delivery is due (null: its first attempt, due at created_at). One still pending well
    # after it lost its task (a worker killed whole, a Redis that lost its data): the sweep sends it again.
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "alert_deliveries"
        ordering = ["-created_at"]
        verbose_name_plural = "alert deliveries"

    def __str__(self) -> str:
        return f"{self.kind} ({self.status})"
