"""Writes for accounts: dashboard users from Supabase tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from accounts.models import UserProfile

User = get_user_model()


def user_get_or_create_for_supabase(*, claims: dict):
    """The Django user behind a verified Supabase token's `sub`, created (with a profile) on first sight."""
    subject = claims["sub"]
    profile = UserProfile.objects.select_related("user").filter(supabase_user_id=subject).first()
    if profile is not None:
        return profile.user
    try:
        with transaction.atomic():
            user = User.objects.create(username=f"supabase:{subject}"[:150], email=str(claims.get("email") or "")[:254])
            user.set_unusable_password()
            user.save(update_fields=["password"])
            UserProfile.objects.create(user=user, supabase_user_id=subject)
            return user
    except IntegrityError:
        # Two first requests of the same user raced; the other one created it.
        return UserProfile.objects.select_related("user").get(supabase_user_id=subject).user
