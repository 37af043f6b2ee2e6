"""Cluster a period's conversations into labelled usage patterns, on demand (the weekly task does the same)."""

from argparse import ArgumentTypeError
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.services import dashboard_zone, usage_patterns_analyze
from convosensei.progress import StageBars


def _day(value: str) -> datetime:
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
        return timezone.make_aware(day, dashboard_zone())
    except ValueError:
        # argparse turns this one into a usage error naming the option; anything else would be a traceback.
        raise ArgumentTypeError(f"{value!r} is not a date like 2026-11-16") from None


class Command(BaseCommand):
    help = (
        "Cluster the conversations started in [--since, --until) into labelled usage patterns "
        "(days of DASHBOARD_TIME_ZONE)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, type=_day, help="first day, YYYY-MM-DD, included")
        parser.add_argument("--until", required=True, type=_day, help="end day, YYYY-MM-DD, excluded")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args, since, until, no_progress=False, **options):
        if until <= since:
            raise CommandError("--until must be after --since")
        bars = StageBars(disable=no_progress)
        try:
            analysis = usage_patterns_analyze(since=since, until=until, progress=bars)
        finally:
            bars.close()
        if analysis.fallback_reason:
            self.stdout.write(
                self.style.WARNING(
                    f"Embeddings unavailable ({analysis.fallback_reason}): clustered TF-IDF vectors of the text."
                )
            )
        self.stdout.write(
            f"{analysis.conversations} conversation(s) from {since:%Y-%m-%d} to {until:%Y-%m-%d} "
            f"({analysis.space} vectors; {analysis.embedded} embedded now): {len(analysis.patterns)} pattern(s)."
        )
        for pattern in analysis.patterns:
            change = "new" if pattern.size_change is None else f"{pattern.size_change:+.0%}"
            health = "–" if pattern.avg_health is None else f"{pattern.avg_health:.0f}"
            self.stdout.write(
                f"  {pattern.size:>6}  health {health:>3}  failures {pattern.failure_rate:>4.0%}  {change:>6}  "
                f"{pattern.label}"
            )
        self.stdout.write(self.style.SUCCESS(f"Stored analysis run {analysis.run_id}."))
