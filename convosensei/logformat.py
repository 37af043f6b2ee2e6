"""The one format of every log line, JSON on stderr: the application's (settings.LOGGING) and gunicorn's own
(gunicorn.conf.py). Imports nothing of Django, as gunicorn reads it before any setting."""

import logging

JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}


class WithoutTraceback:
    """A logging filter keeping a record's message but not its traceback. Django logs each request whose Host
    header ALLOWED_HOSTS does not list (every scanner on a public address) with the same stack through Django's own
    code; the message names the host and the setting, the 30 lines after it only bury other logs."""

    def filter(self, record) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


class AsWarning:
    """A logging filter lowering a record to WARNING: a Host header ALLOWED_HOSTS does not list is what scanners send
    to every public address, all day; logged as an ERROR it fills the error log and its alerts."""

    def filter(self, record) -> bool:
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


class Without503:
    """A logging filter dropping django.request's line for a 503: every 503 is the app's own answer (the database or
    a sign-in service out of reach, a probe saying not ready), logged once by what gave it and by the request log.
    Repeated for each request, and with the traceback when it came from an exception, it turned an outage into a
    flood of errors."""

    def filter(self, record) -> bool:
        return getattr(record, "status_code", None) != 503


class DatabaseOutage:
    """A logging filter for libraries' error records: one whose exception says the database is out of reach becomes
    the once-a-minute `database.unavailable` line of convosensei.database (naming the logger it came from); any other
    record passes. While the database is away, django-celery-beat logged a traceback at every tick (every 5 s) and
    Celery one for each periodic task that failed on it."""

    def filter(self, record) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        from convosensei.database import connection_lost, database_outage_logged  # Django's, imported late

        if not connection_lost(exc):  # a statement that failed on a working connection keeps its traceback
            return True
        database_outage_logged(exc, source=record.name)
        return False
