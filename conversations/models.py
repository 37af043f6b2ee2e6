import uuid

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q

# The text search configuration of the search document and of `q`.
SEARCH_CONFIG = "english"
# A tsvector holds at most 1 MB; the costliest text measured (distinct 4-character words) needs 2.4 bytes of
# it a character, 475 KB for 200,000. The document covers a conversation's first SEARCH_MAX_CHARS characters,
# in transcript order (a test sends 1.4 million characters, 1.9 MB of lexemes uncapped).
SEARCH_MAX_CHARS = 200_000
# The search document of the conversation `c`, from its messages: what the analysis stores in `search`.
SEARCH_DOCUMENT_SQL = f"""(
    SELECT to_tsvector(
        '{SEARCH_CONFIG}', left(string_agg(m.content, E'\\n' ORDER BY m.timestamp, m.position), {SEARCH_MAX_CHARS})
    )
    FROM messages AS m WHERE m.conversation_id = c.id
)"""  # noqa: S608 (constants only)


class Conversation(models.Model):
    """One chat between an end user and the bot, as sent by the client app; upserted by `external_id`."""

    class ProcessingState(models.TextChoices):
        PENDING = "pending", "Waiting to be scored"
        PROCESSING = "processing", "Being scored"
        SCORED = "scored", "Scored"
        FAILED = "failed", "Scoring failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(max_length=255, unique=True)
    environment = models.CharField(max_length=64, blank=True, default="")
    end_user_id = models.CharField(max_length=255, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    health_score = models.FloatField(null=True, blank=True)
    health_breakdown = models.JSONField(default=dict, blank=True)
    sentiment_summary = models.JSONField(default=dict, blank=True)
    has_failures = models.BooleanField(default=False)
    failure_count = models.PositiveIntegerField(default=0)
    processing_state = models.CharField(max_length=16, choices=ProcessingState.choices, default=ProcessingState.PENDING)
    processed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The words of the conversation's messages, for the API's `q`: built by the analysis of the
    # conversation (SEARCH_DOCUMENT_SQL), not on ingestion, which it would slow down. One vector per
    # conversation rather than per message: a search then reads conversations only, in list order.
    search = SearchVectorField(null=True, editable=False)
    # How many messages `search` was built from. Messages are insert-only and their text never changes, so the
    # scoring rebuilds the document only when this number changed: the final scoring at a conversation's end,
    # the sweeps and replays find it up to date.
    search_message_count = models.PositiveIntegerField(null=True, editable=False)

    class Meta:
        db_table = "conversations"
        indexes = [
            GinIndex(fields=["search"], name="conversations_search"),
            # Keyset pagination of the dashboard API: (ordering field, id), read in either direction.
            # INCLUDE: the summary's aggregates over a window are an index-only scan.
            models.Index(
                fields=["last_message_at", "id"],
                name="conversations_last_msg_id",
                include=["health_score", "has_failures", "message_count"],
            ),
            models.Index(fields=["health_score", "id"], name="conversations_health_id"),
            models.Index(fields=["message_count", "id"], name="conversations_msg_count_id"),
            models.Index(
                fields=["updated_at"],
                name="conversations_unscored",
                condition=~Q(processing_state="scored"),
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class Message(models.Model):
    """One turn of a conversation; `dedupe_key` makes re-sent messages no-ops."""

    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"
        SYSTEM = "system"
        TOOL = "tool"

    id = models.BigAutoField(primary_key=True)
    # Indexed by the unique (conversation, dedupe_key) and (conversation, timestamp, position) below.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    position = models.PositiveIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    timestamp = models.DateTimeField()
    sentiment_score = models.FloatField(null=True, blank=True)  # FloatField is double precision
    metadata = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "messages"
        ordering = ["conversation", "timestamp", "position"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "dedupe_key"], name="messages_conversation_dedupe_key"),
        ]
        indexes = [
            models.Index(fields=["conversation", "timestamp", "position"], name="messages_conv_order"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"


class Failure(models.Model):
    """Something that went wrong in a conversation, with the message that shows it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACK = "ack", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    class Severity(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="failures")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="failures")
    type = models.CharField(max_length=32)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    description = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    detected_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "failures"
        constraints = [
            # Re-scoring upserts on this key, so a failure is never recorded twice.
            models.UniqueConstraint(
                fields=["conversation", "type", "message"], name="failures_once_per_message", nulls_distinct=False
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-detected_at"], name="failures_status_detected"),
            models.Index(fields=["type", "-detected_at"], name="failures_type_detected"),
            models.Index(fields=["detected_at", "id"], name="failures_detected_id", include=["type"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} ({self.severity})"

    @property
    def message_url(self) -> str:
        """The dashboard's link to the message that shows this failure (message_path)."""
        return message_path(self.conversation_id, self.message_id)


def message_path(conversation_id, message_id: int | None) -> str:
    """The dashboard's path to a message: its conversation's page, on the part of a long transcript that holds the
    message (`?message=`), scrolled to it; the conversation's page without one.

    The part is found when the link is followed, so a list of failures links to each with no query of its own.
    """
    page = f"/conversations/{conversation_id}/"
    if message_id is None:
        return page
    return f"{page}?message={message_id}#message-{message_id}"


class SavedView(models.Model):
    """A named set of list filters the admin can apply again."""

    class Scope(models.TextChoices):
        CONVERSATIONS = "conversations"
        FAILURES = "failures"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=32, choices=Scope.choices)
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "saved_views"
        ordering = ["scope", "name"]
        constraints = [models.UniqueConstraint(fields=["scope", "name"], name="saved_views_scope_name")]

    def __str__(self) -> str:
        return f"{self.scope}: {self.name}"
