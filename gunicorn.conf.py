"""gunicorn's settings, read from the working directory by `gunicorn convosensei.wsgi` (the README, the Dockerfile,
docker-compose.yml and `make run` all start it from the project root).

Its own log lines (its start, workers booting, timing out or exiting, errors that escape Django) go to stderr as JSON,
in the format of the application's (settings.LOGGING), so that one log stream is one format.
"""

from convosensei.logformat import JSON_FORMATTER

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": JSON_FORMATTER},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"]},
    "loggers": {
        # No level: gunicorn's --log-level (info unless given) stays in force.
        "gunicorn.error": {"handlers": ["stderr"], "propagate": False},
        # A log configuration turns gunicorn's access log on; it stays off: the request log (convosensei.request)
        # says the same once, without the query string, which may hold a secret.
        "gunicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
    },
}
