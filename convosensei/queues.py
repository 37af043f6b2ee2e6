"""The Celery queues, named as in the product plan, and which queue each task goes to.

Routing lives here rather than on each task (Celery 5.7 deprecates the task `queue` attribute), so
a task sent by name (`send_task`, a dead-letter replay) lands on the same queue as a direct call.
"""

from enum import StrEnum


class Queue(StrEnum):
    INGEST = "ingest"
    PROCESS_CONVERSATION = "process-conversation"
    EMBED_CONVERSATION = "embed-conversation"
    PATTERN_ANALYZE = "pattern-analyze"
    ALERTS = "alerts"


TASK_QUEUES: dict[str, Queue] = {
    "analytics.process_conversation": Queue.PROCESS_CONVERSATION,
    "analytics.process_conversations": Queue.PROCESS_CONVERSATION,
    "analytics.sweep_unscored": Queue.PROCESS_CONVERSATION,
    "analytics.mark_idle_conversations_ended": Queue.PROCESS_CONVERSATION,
    "conversations.delete_expired": Queue.PROCESS_CONVERSATION,
    "analytics.embed_conversation": Queue.EMBED_CONVERSATION,
    "analytics.embed_conversations": Queue.EMBED_CONVERSATION,
    "analytics.analyze_patterns": Queue.PATTERN_ANALYZE,
    "alerts.evaluate_conversations": Queue.ALERTS,
    "alerts.deliver": Queue.ALERTS,
    "alerts.daily_summary": Queue.ALERTS,
    "alerts.sweep_overdue": Queue.ALERTS,
    "alerts.sweep_unevaluated": Queue.ALERTS,
}

TASK_ROUTES = {name: {"queue": queue.value} for name, queue in TASK_QUEUES.items()}
