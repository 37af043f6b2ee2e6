"""The Celery app: Redis broker, one queue per kind of work, django-celery-beat's database scheduler."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging
from kombu import Queue as KombuQueue

from convosensei.queues import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convosensei.settings")

app = Celery("convosensei")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [KombuQueue(queue.value, routing_key=queue.value) for queue in Queue]
app.autodiscover_tasks()


@setup_logging.connect
def use_the_settings_logging(**_kwargs) -> None:
    """The worker and beat log as the web processes do: settings.LOGGING, JSON lines at LOG_LEVEL.

    Left to itself Celery sets the root logger to its --loglevel, WARNING unless given, whatever LOG_LEVEL says:
    the README's `celery -A convosensei worker` logged no task, no start and no `embeddings.model_loaded`.
    """
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
