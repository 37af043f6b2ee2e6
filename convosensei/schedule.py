"""Every periodic task, in one place.

django-celery-beat's database scheduler syncs these entries into its tables when beat starts;
an operator can then change their timing in the admin, until beat starts again and writes these back over it.
"""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    # Conversations whose enqueue failed (broker down) or whose worker died get scored after all.
    "analytics.sweep-unscored": {"task": "analytics.sweep_unscored", "schedule": 60.0},
    # Alerts whose task was lost (a worker killed whole, a Redis that lost its data) are sent after all.
    "alerts.sweep-overdue": {"task": "alerts.sweep_overdue", "schedule": 120.0},
    # Evaluations for new alerts whose message a worker killed whole holds (back only after an hour) are sent again.
    "alerts.sweep-unevaluated": {"task": "alerts.sweep_unevaluated", "schedule": 120.0},
    # Conversations idle for CONVERSATION_IDLE_MINUTES are over: final scoring (abandonment is judged).
    "analytics.mark-idle-ended": {"task": "analytics.mark_idle_conversations_ended", "schedule": 60.0},
    # Usage patterns of the previous week (Monday 00:00 to Monday 00:00), every Monday at 03:00, both in
    # DASHBOARD_TIME_ZONE (CELERY_TIMEZONE).
    "analytics.analyze-patterns-weekly": {
        "task": "analytics.analyze_patterns",
        "schedule": crontab(minute=0, hour=3, day_of_week=1),
    },
    # Conversations older than CONVERSATION_RETENTION_DAYS are deleted, every night at 04:00 (nothing when it is 0).
    "conversations.delete-expired": {"task": "conversations.delete_expired", "schedule": crontab(minute=0, hour=4)},
    # The morning summary of the previous day in Slack, every day at 08:00 in DASHBOARD_TIME_ZONE (nothing unless
    # it is turned on in Settings → Slack alerts).
    "alerts.daily-summary": {"task": "alerts.daily_summary", "schedule": crontab(minute=0, hour=8)},
}
