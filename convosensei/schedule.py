"""Every periodic task, in one place.

django-celery-beat's database scheduler syncs these entries into its tables when beat starts;
an operator can then change their timing in the admin.
"""

BEAT_SCHEDULE: dict[str, dict] = {}
