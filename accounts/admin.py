from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.models import ApiKey, UserProfile, UserSecurityLog, UserSession
from accounts.services import api_key_create, api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at", "created_by"]
    fields = ["id", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["created_by"]
    actions = ["revoke_selected"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, plaintext = api_key_create(name=obj.name, created_by=request.user)
        obj.pk = created.pk
        obj.refresh_from_db()
        request.api_key_created = plaintext  # for response_add, this request only

    def response_add(self, request, obj, post_url_continue=None):
        """The new key's page, shown in this response only: only the argon2 hash is stored. The admin's usual
        redirect carries its message in a cookie (Django's message storage), which would have put the secret in the
        browser's cookie jar and in every request header until the next page was shown."""
        plaintext = getattr(request, "api_key_created", None)
        if plaintext is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API key created",
            "api_key": obj,
            "plaintext": plaintext,
        }
        # The admin's views are never_cache: the response is no-store, and the secret stays in no cache.
        return TemplateResponse(request, "admin/accounts/apikey/created.html", context)

    @admin.action(description="Revoke the selected API keys")
    def revoke_selected(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked at {timezone.now():%Y-%m-%d %H:%M} UTC.")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: conversations keep pointing at the key that sent them


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "supabase_user_id", "timezone", "created_at"]
    search_fields = ["user__username", "display_name", "supabase_user_id"]
    list_select_related = ["user"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    list_display = ["user", "ip_address", "created_at", "last_seen_at", "ended_at"]
    ordering = ["-created_at"]
    search_fields = ["user__username", "ip_address"]
    list_select_related = ["user"]
    readonly_fields = ["id", "created_at"]


@admin.register(UserSecurityLog)
class UserSecurityLogAdmin(admin.ModelAdmin):
    list_display = ["event", "user", "ip_address", "created_at"]
    list_filter = ["event"]
    search_fields = ["event", "user__username", "ip_address"]
    list_select_related = ["user"]
    readonly_fields = ["id", "created_at"]
