"""Dashboard pages of the accounts app: the Settings page, and its API keys section."""

import uuid

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import ApiKey
from accounts.selectors import api_key_list
from accounts.services import api_key_create, api_key_revoke
from alerts.selectors import slack_settings_section
from convosensei.decorators import form_post, login_required_for_forms

# A reload of the page that showed a new key's secret would post its form again: each form carries a
# token, and the tokens of the forms that created keys are kept in the session (not the secrets).
_USED_FORM_TOKENS = "api_key_forms_used"
_USED_FORM_TOKENS_KEPT = 20


def settings_page_render(
    request, *, slack: dict, created_key: str | None = None, key_error: str | None = None, status: int = 200
):
    """The Settings page: the Slack alerts section (`slack`, see alerts/views.py), then the API keys."""
    context = {
        "slack": slack,
        "keys": api_key_list(),
        "created_key": created_key,
        "error": key_error,
        "form_token": uuid.uuid4().hex,
    }
    return render(request, "dashboard/settings.html", context, status=status)


@login_required_for_forms
@require_http_methods(["GET", "POST"])
def settings_page(request):
    """The Settings page; POST creates a key and shows its secret in this response only (never stored, never again)."""
    created_key = None
    error = None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        token = request.POST.get("form_token", "")
        used = request.session.get(_USED_FORM_TOKENS, {})
        if token and token in used:
            messages.info(
                request,
                f"That form was sent before: the key “{used[token]}” was created then and its secret shown once. "
                "If you did not copy it, revoke that key and create another.",
            )
            return redirect("settings")
        if not name or len(name) > 100:
            error = "Give the key a name of 1 to 100 characters (for example the app that will use it)."
        else:
            _, created_key = api_key_create(name=name, created_by=request.user)
            if token:
                kept = list(used.items())[-(_USED_FORM_TOKENS_KEPT - 1) :]
                request.session[_USED_FORM_TOKENS] = {**dict(kept), token: name}
    response = settings_page_render(
        request,
        slack=slack_settings_section(),
        created_key=created_key,
        key_error=error,
        status=400 if error else 200,
    )
    if created_key:
        response["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response


@form_post(page="/settings/#api-keys")
def api_key_revoke_view(request, key_id):
    api_key = get_object_or_404(ApiKey, id=key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Revoked “{api_key.name}” (cs_{api_key.prefix}_…). It fails from the next request on.")
    return redirect("settings")
