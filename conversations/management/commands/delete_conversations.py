"""Delete conversations, with everything derived from them: an end user's (a request to erase their data), named
ones, or those older than a number of days."""

import argparse
import sys
import uuid
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from conversations.models import Message
from conversations.selectors import conversations_for_deletion
from conversations.services import conversations_delete_matching


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a conversation id (a UUID)") from None


class Command(BaseCommand):
    help = (
        "Delete conversations with their messages, failures, embeddings, pattern memberships and alert deliveries: "
        "those of an end user (--end-user-id, the user_id their app sent), named ones (--external-id, --id), or "
        "those whose last message is older than --older-than-days. Several criteria add up. Asks before deleting "
        "unless --yes; --dry-run only counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--end-user-id", action="append", default=[], help="The user_id sent with them.")
        parser.add_argument("--external-id", action="append", default=[], help="The id their app sent.")
        parser.add_argument("--id", action="append", default=[], type=_uuid, dest="ids", help="ConvoSensei's id.")
        parser.add_argument("--older-than-days", type=int, help="Last message more than this many days ago.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--yes", action="store_true", help="Delete without asking.")

    def handle(self, *args, end_user_id, external_id, ids, older_than_days, dry_run, yes, **options):
        if older_than_days is not None and older_than_days < 1:
            raise CommandError("--older-than-days must be 1 or more.")
        if not (end_user_id or external_id or ids or older_than_days):
            raise CommandError("Name what to delete: --end-user-id, --external-id, --id or --older-than-days.")
        conversations = conversations_for_deletion(
            ids=ids,
            external_ids=external_id,
            end_user_ids=end_user_id,
            older_than=timedelta(days=older_than_days) if older_than_days else None,
        )
        total = conversations.count()
        messages = Message.objects.filter(conversation__in=conversations).count()
        summary = f"{total} conversation(s) with {messages} message(s)"
        if dry_run or not total:
            self.stdout.write(f"Would delete {summary}." if total else "No conversation matches; nothing deleted.")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError(f"This would delete {summary}: add --yes to confirm (or --dry-run to count).")
            if input(f"Delete {summary}? This cannot be undone. [y/N] ").strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing deleted.")
        deleted = conversations_delete_matching(
            conversations=conversations, progress=lambda done: self.stdout.write(f"Deleted {done} of {total}…")
        )
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} conversation(s)."))
