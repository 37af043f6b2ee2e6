from django.contrib import admin, messages

from analytics.models import ConversationEmbedding, DeadLetter, PatternConversation, UsagePattern

# PatternConversation has a composite primary key, which the admin cannot register (Django 5.2);
# a pattern's conversations are listed inline on the pattern instead.
from analytics.services import dead_letter_replay


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ["id", "task_name", "attempts", "created_at", "replayed_at", "replay_count"]
    list_filter = ["task_name", ("replayed_at", admin.EmptyFieldListFilter)]
    search_fields = ["task_name", "error"]
    readonly_fields = [
        "id",
        "task_name",
        "args",
        "kwargs",
        "error",
        "attempts",
        "created_at",
        "replayed_at",
        "replay_count",
    ]
    actions = ["replay_selected"]

    @admin.action(description="Replay the selected tasks")
    def replay_selected(self, request, queryset):
        for dead_letter in queryset:
            dead_letter_replay(dead_letter=dead_letter)
        self.message_user(request, f"Replayed {queryset.count()} task(s).", level=messages.SUCCESS)


class PatternConversationInline(admin.TabularInline):
    model = PatternConversation
    fields = ["conversation", "similarity"]
    readonly_fields = ["conversation", "similarity"]
    extra = 0
    can_delete = False


@admin.register(UsagePattern)
class UsagePatternAdmin(admin.ModelAdmin):
    list_display = ["label", "size", "avg_health", "failure_rate", "size_change", "period_start", "period_end"]
    ordering = ["-period_end", "-size"]
    list_filter = ["period_end"]
    search_fields = ["label", "description"]
    readonly_fields = ["id", "lineage_id", "analysis_run", "created_at"]
    list_select_related = ["representative_conversation"]
    inlines = [PatternConversationInline]


@admin.register(ConversationEmbedding)
class ConversationEmbeddingAdmin(admin.ModelAdmin):
    list_display = ["conversation", "model_name", "updated_at"]
    list_select_related = ["conversation"]
    search_fields = ["conversation__external_id"]
    exclude = ["embedding"]
    readonly_fields = ["id", "conversation", "model_name", "content_hash", "created_at", "updated_at"]
