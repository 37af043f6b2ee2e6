"""The one format of every log line, JSON on stderr: the application's (settings.LOGGING) and gunicorn's own
(gunicorn.conf.py). Imports nothing of Django, as gunicorn reads it before any setting."""

JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
