import uuid
from datetime import timedelta

from django.db import models
from pgvector.django import HnswIndex, VectorField

EMBEDDING_DIMENSIONS = 384  # all-MiniLM-L6-v2


class UsagePattern(models.Model):
    """A labelled cluster of a period's conversations: what people keep asking about."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Shared by the same pattern across periods (matched by centroid similarity), so trends are real.
    lineage_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    label = models.CharField(max_length=200)
    keywords = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    size = models.PositiveIntegerField(default=0)
    avg_health = models.FloatField(null=True, blank=True)
    failure_rate = models.FloatField(null=True, blank=True)
    size_change = models.FloatField(null=True, blank=True)  # conversations per day against the parent; null when new
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    analysis_run = models.UUIDField(db_index=True)
    representative_conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    centroid = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "usage_patterns"
        indexes = [models.Index(fields=["-period_end", "-size"], name="usage_patterns_period_size")]

    def __str__(self) -> str:
        return self.label

    @property
    def vector_space(self) -> str | None:
        """The vectors the pattern was clustered in, as stored with its centroid: the embedding model's name, or
        patterns.TFIDF_SPACE (grouped by words); None for a pattern stored without a centroid."""
        return self.centroid.get("space") if isinstance(self.centroid, dict) else None

    @property
    def period_last_moment(self):
        """The last instant of the period, whose end is excluded: its date is the period's last day (a week from
        Monday 00:00 to Monday 00:00 reads "Monday to Sunday")."""
        return self.period_end - timedelta(microseconds=1)


class PatternConversation(models.Model):
    """Membership of a conversation in a usage pattern."""

    pk = models.CompositePrimaryKey("pattern", "conversation")
    # The primary key (pattern, conversation) already indexes the pattern side.
    pattern = models.ForeignKey(UsagePattern, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="pattern_memberships"
    )
    similarity = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "pattern_conversations"

    def __str__(self) -> str:
        return f"{self.conversation_id} in {self.pattern_id}"


class ConversationEmbedding(models.Model):
    """The vector of a conversation's text; `content_hash` lets unchanged text skip re-embedding.

    On a PostgreSQL without pgvector the table still exists (migration 0002 stores the vector as
    `double precision[]` there) and the embedding features report themselves unavailable.
    """

    id = models.BigAutoField(primary_key=True)
    conversation = models.OneToOneField(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="embedding"
    )
    model_name = models.CharField(max_length=128)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "conversation_embeddings"
        indexes = [
            HnswIndex(
                name="conv_embeddings_hnsw_cosine",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_name} vector of {self.conversation_id}"


class DeadLetter(models.Model):
    """A task that failed after its last retry, kept so an operator can see it and replay it."""

    id = models.BigAutoField(primary_key=True)
    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replay_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "dead_letters"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.task_name} ({self.attempts} attempts)"
