"""The periodic tasks' timing: crontab entries run on the dashboard's clock (DASHBOARD_TIME_ZONE)."""

import os
import subprocess
import sys

import pytest

# Is the weekly analysis due at two moments a minute either side of Monday 03:00 in Tokyo (Sunday 18:00 UTC),
# having last run the Monday before at 03:00 in the zone? Run in a fresh interpreter: the settings read the
# environment at import.
SCRIPT = """
from datetime import UTC, datetime
import django
django.setup()
from convosensei.celery import app
from convosensei.schedule import BEAT_SCHEDULE
weekly = BEAT_SCHEDULE["analytics.analyze-patterns-weekly"]["schedule"]
last_run = datetime(2026, 11, 9, 3, 0, tzinfo=app.timezone)
for now in (datetime(2026, 11, 15, 17, 59, tzinfo=UTC), datetime(2026, 11, 15, 18, 1, tzinfo=UTC)):
    weekly.nowfun = lambda: now.astimezone(app.timezone)
    print(app.conf.timezone, weekly.is_due(last_run).is_due)
"""


@pytest.mark.parametrize(
    ("zone", "due"),
    [("Asia/Tokyo", ["Asia/Tokyo False", "Asia/Tokyo True"]), ("UTC", ["UTC False", "UTC False"])],
)
def test_the_weekly_usage_patterns_run_on_monday_at_three_in_the_dashboard_zone(zone, due):
    env = {**os.environ, "DASHBOARD_TIME_ZONE": zone, "DJANGO_SETTINGS_MODULE": "convosensei.settings"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == due


# Is the morning summary due a minute either side of 08:00 in Tokyo (23:00 UTC the evening before), having last run
# the morning before at 08:00 in the zone? And which queue does beat send it to?
MORNING_SCRIPT = """
from datetime import UTC, datetime
import django
django.setup()
from convosensei.celery import app
from convosensei.schedule import BEAT_SCHEDULE
entry = BEAT_SCHEDULE["alerts.daily-summary"]
morning = entry["schedule"]
last_run = datetime(2026, 11, 15, 8, 0, tzinfo=app.timezone)
for now in (datetime(2026, 11, 15, 22, 59, tzinfo=UTC), datetime(2026, 11, 15, 23, 1, tzinfo=UTC)):
    morning.nowfun = lambda: now.astimezone(app.timezone)
    print(app.conf.timezone, morning.is_due(last_run).is_due)
print(entry["task"], app.amqp.router.route({}, entry["task"])["queue"].name)
"""


@pytest.mark.parametrize(
    ("zone", "due"),
    [("Asia/Tokyo", ["Asia/Tokyo False", "Asia/Tokyo True"]), ("UTC", ["UTC False", "UTC False"])],
)
def test_the_daily_summary_runs_every_morning_at_eight_in_the_dashboard_zone_on_the_alerts_queue(zone, due):
    env = {**os.environ, "DASHBOARD_TIME_ZONE": zone, "DJANGO_SETTINGS_MODULE": "convosensei.settings"}
    done = subprocess.run([sys.executable, "-c", MORNING_SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == [*due, "alerts.daily_summary alerts"]


def test_every_periodic_task_is_registered_and_routed_to_a_queue_of_its_own_kind():
    """A beat entry whose task no worker knows, or which no queue routes, would be sent and never run."""
    from convosensei.celery import app
    from convosensei.queues import TASK_QUEUES
    from convosensei.schedule import BEAT_SCHEDULE

    app.loader.import_default_modules()  # what a worker does at start: every app's tasks module
    tasks = [entry["task"] for entry in BEAT_SCHEDULE.values()]
    assert [task for task in tasks if task not in app.tasks] == []
    assert [task for task in tasks if task not in TASK_QUEUES] == []
