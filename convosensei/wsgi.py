import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convosensei.settings")

application = get_wsgi_application()

from convosensei.health import static_files_missing  # noqa: E402 (needs the settings get_wsgi_application set up)

# Said once at start, not only in each failing page's traceback: a release deployed without `collectstatic`.
if problem := static_files_missing():
    logging.getLogger("convosensei.wsgi").error("static_files.missing", extra={"problem": problem})
