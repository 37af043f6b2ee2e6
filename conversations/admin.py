from django.contrib import admin, messages

from conversations.models import Conversation, Failure, Message, SavedView
from conversations.services import conversations_delete, failure_bulk_set_status


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["position", "role", "content", "timestamp", "sentiment_score"]
    readonly_fields = fields
    ordering = ["timestamp", "position"]
    extra = 0
    can_delete = False
    show_change_link = True
    max_num = 0


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["external_id", "health_score", "message_count", "failure_count", "environment", "last_message_at",
                    "processing_state"]  # fmt: skip
    ordering = ["-last_message_at"]  # newest first; random UUIDs are no order
    list_filter = ["processing_state", "has_failures", "environment"]
    search_fields = ["external_id", "end_user_id"]
    readonly_fields = ["id", "external_id", "created_at", "updated_at", "processed_at", "api_key", "health_breakdown",
                       "sentiment_summary", "message_count", "failure_count", "has_failures"]  # fmt: skip
    list_select_related = ["api_key"]
    date_hierarchy = "last_message_at"
    inlines = [MessageInline]
    show_full_result_count = False  # no COUNT(*) over every conversation on each page

    def get_queryset(self, request):
        return super().get_queryset(request).defer("search")  # the search document: large, never shown

    # Deleting goes through the service: it also removes the conversations' alert deliveries, and deletes by SQL.
    def delete_model(self, request, obj):
        conversations_delete(conversation_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        conversations_delete(conversation_ids=list(queryset.values_list("id", flat=True)))


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """No adding or editing: messages come through ingestion, which keeps the counts and enqueues the scoring, and
    the pipeline relies on a message's text never changing (stored sentiment, the search document). Deleting stays
    allowed, as a conversation's deletion cascades to its messages."""

    list_display = ["conversation", "position", "role", "timestamp", "sentiment_score"]
    list_filter = ["role"]
    search_fields = ["conversation__external_id"]
    list_select_related = ["conversation"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Failure)
class FailureAdmin(admin.ModelAdmin):
    list_display = ["type", "severity", "status", "conversation", "detected_at"]
    ordering = ["-detected_at"]
    list_filter = ["status", "type", "severity"]
    search_fields = ["conversation__external_id", "description"]
    readonly_fields = ["id", "conversation", "message", "type", "severity", "description", "evidence", "detected_at",
                       "updated_at", "resolved_at"]  # fmt: skip
    list_select_related = ["conversation"]
    actions = ["acknowledge", "resolve", "reopen"]

    def _set_status(self, request, queryset, status: str) -> None:
        changed = failure_bulk_set_status(failure_ids=list(queryset.values_list("id", flat=True)), status=status)
        self.message_user(request, f"{changed} failure(s) marked {status}.", level=messages.SUCCESS)

    @admin.action(description="Acknowledge the selected failures")
    def acknowledge(self, request, queryset):
        self._set_status(request, queryset, Failure.Status.ACK)

    @admin.action(description="Resolve the selected failures")
    def resolve(self, request, queryset):
        self._set_status(request, queryset, Failure.Status.RESOLVED)

    @admin.action(description="Reopen the selected failures")
    def reopen(self, request, queryset):
        self._set_status(request, queryset, Failure.Status.OPEN)


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "scope", "updated_at"]
    list_filter = ["scope"]
    search_fields = ["name"]
    readonly_fields = ["id", "created_at", "updated_at"]
