"""The Celery app: Redis broker, one queue per kind of work, django-celery-beat's database scheduler."""

import os

from celery import Celery
from kombu import Queue as KombuQueue

from convosensei.queues import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convosensei.settings")

app = Celery("convosensei")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [KombuQueue(queue.value, routing_key=queue.value) for queue in Queue]
app.autodiscover_tasks()
