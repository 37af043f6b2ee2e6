"""The Celery queues, named as in the product plan. Every task names its queue from here."""

from enum import StrEnum


class Queue(StrEnum):
    INGEST = "ingest"
    PROCESS_CONVERSATION = "process-conversation"
    EMBED_CONVERSATION = "embed-conversation"
    PATTERN_ANALYZE = "pattern-analyze"
    ALERTS = "alerts"
