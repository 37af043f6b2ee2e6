from django.urls import path

from analytics import api

urlpatterns = [
    path("analytics/summary", api.SummaryApi.as_view(), name="api-analytics-summary"),
    path("analytics/patterns", api.PatternListApi.as_view(), name="api-analytics-patterns"),
    path("analytics/failures/trends", api.FailureTrendsApi.as_view(), name="api-analytics-failure-trends"),
]
