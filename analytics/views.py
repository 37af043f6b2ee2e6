"""Dashboard pages of the analytics app: the overview and the usage patterns."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from analytics.selectors import (
    analytics_summary,
    failure_trend_points,
    overview_daily_series,
    overview_health_distribution,
    pattern_get,
    pattern_size_history,
    pattern_top_list,
)
from conversations.filters import TIMEFRAMES
from conversations.selectors import failure_list

DEFAULT_TIMEFRAME = "7d"
REFRESH_SECONDS = 60


def _kpi(label: str, current, previous, *, higher_is_better: bool, percent: bool = False) -> dict:
    """A KPI card: the value, and its change against the previous period of the same length."""
    change = None
    if current is not None and previous not in (None, 0):
        change = (current - previous) / abs(previous) * 100
    better = None if change is None or change == 0 else (change > 0) == higher_is_better
    shown = (
        None if current is None else (f"{current * 100:.1f}%" if percent else f"{current:,.1f}".rstrip("0").rstrip("."))
    )
    return {"label": label, "value": shown, "change": change, "better": better}


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
    kpis = [
        _kpi("Conversations", current["conversations"], previous["conversations"], higher_is_better=True),
        _kpi("Average health", current["avg_health"], previous["avg_health"], higher_is_better=True),
        _kpi(
            "With failures", current["failure_share"], previous["failure_share"], higher_is_better=False, percent=True
        ),
        _kpi("Open failures", current["open_failures"], previous["open_failures"], higher_is_better=False),
    ]
    series = overview_daily_series(start=start, end=end)
    trends = failure_trend_points(start=start, end=end, bucket="day")
    charts = {
        "days": [row["day"].date().isoformat() for row in series],
        "conversations": [row["conversations"] for row in series],
        "health": [round(row["avg_health"], 1) if row["avg_health"] is not None else None for row in series],
        "failures": [
            {"day": row["bucket_start"].date().isoformat(), "type": row["type"], "count": row["count"]}
            for row in trends
        ],
        "distribution": overview_health_distribution(start=start, end=end),
    }
    _, patterns = pattern_top_list(limit=5)
    context = {
        "timeframe": timeframe,
        "timeframes": list(TIMEFRAMES),
        "kpis": kpis,
        "charts": charts,
        "patterns": patterns,
        "open_failures": list(failure_list(status="open").order_by("-detected_at")[:8]),
        "has_data": current["conversations"] > 0 or previous["conversations"] > 0,
        "refresh_seconds": REFRESH_SECONDS,
        "base_url": settings.DASHBOARD_BASE_URL,
    }
    return render(request, "dashboard/overview.html", context)


def _sparkline_points(sizes: list[int], *, width: int = 100, height: int = 24) -> str:
    """SVG polyline points for a list of sizes (a flat line for one value)."""
    if not sizes:
        return ""
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
    return render(request, "dashboard/patterns.html", {"patterns": patterns})


@login_required
@require_GET
def pattern_page(request, pattern_id):
    pattern = pattern_get(pattern_id=pattern_id)
    if pattern is None:
        raise Http404("No such usage pattern.")
    history = pattern_size_history(lineage_ids=[pattern.lineage_id]).get(pattern.lineage_id, [pattern.size])
    pattern.sparkline = _sparkline_points(history)
    return render(request, "dashboard/pattern.html", {"pattern": pattern, "history": history})
