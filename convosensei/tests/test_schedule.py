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
