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
