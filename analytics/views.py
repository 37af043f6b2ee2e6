"""Dashboard pages of the analytics app: the overview and the usage patterns."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from analytics.embeddings import embeddings_missing_because
from analytics.patterns import TFIDF_SPACE
from analytics.selectors import (
    analytics_summary,
    failure_trend_points,
    overview_health_distribution,
    overview_series,
    pattern_get,
    pattern_size_history,
    pattern_top_list,
    pipeline_attention,
)
from conversations.filters import TIMEFRAMES
from conversations.selectors import conversations_exist, failure_list

DEFAULT_TIMEFRAME = "7d"
REFRESH_SECONDS = 60
# A conversation is scored within a second of arriving, and the sweep sends again any left a minute: one waiting this
# long means no worker is running, or the workers fall behind, and the overview says so.
WAITING_NOTICE_AFTER = timedelta(minutes=5)


def _chart_buckets(end: datetime, timeframe: str, zone: tzinfo) -> tuple[str, list[datetime]]:
    """(bucket, the start of each bucket as a wall-clock time in `zone`, oldest first) of the overview's charts,
    the last one holding `end`.

    An hour each for a timeframe of a day or less, else a day, as many as the timeframe holds. Calendar buckets
    ending with the current one: "7d" draws the last seven days, today's so far included, not the 168 hours
    of the figures above them, whose first bar would be the last hours of a day, read as a quiet day. The steps
    are taken on the wall clock (naive times), so a day across a daylight-saving change is still one bar.
    """
    span = TIMEFRAMES[timeframe]
    bucket, step = ("hour", timedelta(hours=1)) if span <= timedelta(days=1) else ("day", timedelta(days=1))
    current = timezone.make_naive(end, zone).replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        current = current.replace(hour=0)
    count = span // step
    return bucket, [current - step * (count - 1 - i) for i in range(count)]


def _charts(start: datetime, end: datetime, timeframe: str, zone: tzinfo | None = None) -> dict:
    """The overview's chart data, one value per bucket of `zone` (default: the current time zone, which is the
    dashboard's): a bucket without conversations or failures is a zero (and no average health), not a gap that
    joins the buckets on either side of it."""
    zone = zone or timezone.get_current_timezone()
    bucket, starts = _chart_buckets(end, timeframe, zone)
    index = {at: i for i, at in enumerate(starts)}

    def slot(bucket_start: datetime) -> int:  # a row's bucket (aware, from the database) -> its position
        return index[timezone.make_naive(bucket_start, zone)]

    since = timezone.make_aware(starts[0], zone)
    conversations, health = [0] * len(starts), [None] * len(starts)
    for row in overview_series(start=since, end=end, bucket=bucket, zone=zone):
        i = slot(row["bucket_start"])
        conversations[i] = row["conversations"]
        health[i] = round(row["avg_health"], 1) if row["avg_health"] is not None else None
    failures: dict[str, list[int]] = {}
    for row in failure_trend_points(start=since, end=end, bucket=bucket, zone=zone):
        failures.setdefault(row["type"], [0] * len(starts))[slot(row["bucket_start"])] = row["count"]
    return {
        "bucket": bucket,
        "time_zone": str(zone),
        "labels": [at.strftime("%H:00" if bucket == "hour" else "%Y-%m-%d") for at in starts],
        "conversations": conversations,
        "health": health,
        "failures": [{"type": kind, "counts": failures[kind]} for kind in sorted(failures)],
        "distribution": overview_health_distribution(start=start, end=end),  # the figures' window
    }


def _kpi(
    label: str,
    current,
    previous,
    *,
    timeframe: str,
    higher_is_better: bool,
    percent: bool = False,
    score: bool = False,
    href: str | None = None,
) -> dict:
    """A KPI card: the value, and its change against the previous period of the same length.

    The change of a rate (`percent`) is in percentage points: 20% of conversations failing after 25% is 5 points
    fewer, where a relative change ("-20%") would read as a rate itself; so is the change of a score on a 0-100
    scale (`score`: average health 80 after 70 is 10 points more, not "14.3%"). Counts change relatively, in %.
    The change is shown without its sign (`change_shown`): the card's arrow gives the direction. Without a change
    (nothing scored in one of the periods, or a count that was 0 before), `change_note` says which figure is missing:
    there always is a previous period, it may only have had nothing in it. `href` is the list the value counts.
    """
    change = None
    if current is not None and previous is not None:
        if percent:
            change = round((current - previous) * 100, 1)
        elif score:
            change = round(current - previous, 1)
        elif previous != 0:
            change = round((current - previous) / abs(previous) * 100, 1)
    better = None if not change else (change > 0) == higher_is_better  # a change that rounds to 0.0 has no arrow
    shown = (
        None if current is None else (f"{current * 100:.1f}%" if percent else f"{current:,.1f}".rstrip("0").rstrip("."))
    )
    change_shown = None if change is None else (f"{abs(change):.1f} pts" if percent or score else f"{abs(change):.1f}%")
    change_note = None
    if change is None:
        if current is None:
            change_note = "nothing scored in this period"
        elif previous is None:
            change_note = f"nothing scored in the previous {timeframe}"
        else:  # a count, 0 in the previous period: no relative change
            change_note = f"none in the previous {timeframe}"
    return {
        "label": label,
        "value": shown,
        "change": change,
        "change_shown": change_shown,
        "change_note": change_note,
        "better": better,
        "href": href,
    }


@login_required
@require_GET
def overview_page(request):
    timeframe = request.GET.get("timeframe", DEFAULT_TIMEFRAME)
    if timeframe not in TIMEFRAMES:
        timeframe = DEFAULT_TIMEFRAME
    end = timezone.now()
    start = end - TIMEFRAMES[timeframe]
    summary = analytics_summary(start=start, end=end)
    current, previous = summary["current"], summary["previous"]

    def kpi(label: str, figure: str, **shown) -> dict:
        return _kpi(label, current[figure], previous[figure], timeframe=timeframe, **shown)

    kpis = [
        kpi("Conversations", "conversations", higher_is_better=True, href=f"/conversations/?timeframe={timeframe}"),
        kpi("Average health", "avg_health", higher_is_better=True, score=True),
        kpi("With failures", "failure_share", higher_is_better=False, percent=True),
        # Failures detected in the period and still open, not every open failure (the inbox's default list, and
        # the "Latest open failures" below): the label says so, and the value links to the inbox listing them.
        kpi(
            "New failures still open",
            "open_failures",
            higher_is_better=False,
            href=f"/failures/?status=open&timeframe={timeframe}",
        ),
    ]
    charts = _charts(start, end, timeframe)
    _, patterns = pattern_top_list(limit=5)
    context = {
        "timeframe": timeframe,
        "timeframes": list(TIMEFRAMES),
        "kpis": kpis,
        "charts": charts,
        "chart_bucket": charts["bucket"],
        "patterns": patterns,
        "open_failures": list(failure_list(status="open").order_by("-detected_at")[:8]),
        # The first-run guide only on a new install: a quiet day (a bot down, a weekend) shows its zeros, and the
        # open failures of before it.
        "has_data": current["conversations"] > 0 or previous["conversations"] > 0 or conversations_exist(),
        "pipeline": pipeline_attention(waiting_longer_than=WAITING_NOTICE_AFTER),
        "waiting_notice_minutes": int(WAITING_NOTICE_AFTER.total_seconds() // 60),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return render(request, "dashboard/overview.html", context)


def _sparkline_points(sizes: list[int], *, width: int = 100, height: int = 24) -> str:
    """SVG polyline points for a list of sizes (a flat line for one value)."""
    if not sizes:
        return ""
    if len(sizes) == 1:  # one point draws nothing: a new pattern's card was empty
        sizes = sizes * 2
    top = max(sizes) or 1
    step = width / max(len(sizes) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - (size / top) * (height - 2) - 1:.1f}" for i, size in enumerate(sizes))


@login_required
@require_GET
def patterns_page(request):
    _, patterns = pattern_top_list(limit=50)
    history = pattern_size_history(lineage_ids=[pattern.lineage_id for pattern in patterns])
    for pattern in patterns:
        pattern.sparkline = _sparkline_points(history.get(pattern.lineage_id, [pattern.size]))
    # The command the empty page gives finds patterns over the last seven days, today's so far included (the days of
    # the dashboard's zone, which the request runs in and analyze_patterns reads its dates in).
    today = timezone.localdate()
    # How they were grouped: as the latest analysis did (one run clusters in one space), else as the next one will,
    # which falls back to the words (TF-IDF) without embeddings.
    space = patterns[0].vector_space if patterns else None
    embeddings_missing = embeddings_missing_because()
    context = {
        "patterns": patterns,
        "grouped_by_meaning": space != TFIDF_SPACE if space else embeddings_missing is None,
        "embeddings_missing": embeddings_missing,
        "analyze_since": today - timedelta(days=6),
        "analyze_until": today + timedelta(days=1),
    }
    return render(request, "dashboard/patterns.html", context)


@login_required
@require_GET
def pattern_page(request, pattern_id):
    pattern = pattern_get(pattern_id=pattern_id)
    if pattern is None:
        raise Http404("No such usage pattern.")
    # Its size up to its own period: an older pattern's page does not run on into the weeks after it.
    history = pattern_size_history(lineage_ids=[pattern.lineage_id], until=pattern.period_end).get(
        pattern.lineage_id, [pattern.size]
    )
    pattern.sparkline = _sparkline_points(history)
    return render(request, "dashboard/pattern.html", {"pattern": pattern, "history": history})
