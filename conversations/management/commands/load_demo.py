"""Load the demo data set through the real ingestion service, then score it."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from analytics.services import (
    conversations_mark_ended,
    conversations_score,
    usage_patterns_analyze,
    usage_patterns_default_period,
)
from conversations.demo import demo_conversations
from conversations.models import Conversation
from convosensei.progress import StageBars
from ingestion.schemas import ConversationIn
from ingestion.services import conversations_ingest

BATCH = 100
END_BATCH = 1000  # conversations marked ended per statement


class Command(BaseCommand):
    help = "Load ~2,000 seeded demo conversations over the last 30 days (skipped when already loaded)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=2000)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--force", action="store_true", help="load even if demo conversations exist")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args, count: int, days: int, seed: int, force: bool, no_progress: bool = False, **options):
        if not force and Conversation.objects.filter(external_id__startswith="demo-").exists():
            self.stdout.write("Demo data is loaded already (use --force to load it again).")
            return
        payloads = [
            ConversationIn.model_validate(p).model_dump() for p in demo_conversations(count=count, days=days, seed=seed)
        ]
        ids: list[str] = []
        bars = StageBars(disable=no_progress, unit="conversation")
        for start in range(0, len(payloads), BATCH):
            # Scored below, in this process: queued scoring tasks would only score them a second time.
            results = conversations_ingest(
                conversations=payloads[start : start + BATCH], api_key_id=None, enqueue_scoring=False
            )
            ids.extend(str(result.conversation_id) for result in results)
            bars("Ingesting", len(ids), len(payloads))
        # They all lie in the past: over, so that their final scoring judges abandonment too. All of them now: the
        # worker's periodic task would end the rest later and score them a second time.
        idle_for = timedelta(minutes=settings.CONVERSATION_IDLE_MINUTES)
        while conversations_mark_ended(idle_for=idle_for, limit=END_BATCH):
            pass
        # The longest stage with FEATURE_EMBEDDINGS: every message goes through the model.
        for start in range(0, len(ids), BATCH):  # as the worker scores them: a batch at a time
            conversations_score(conversation_ids=ids[start : start + BATCH])
            bars("Scoring", min(start + BATCH, len(ids)), len(ids))
        bars.close()
        # Usage patterns of the last four whole weeks, the weeks the weekly run analyses, so that patterns and
        # their trends show from the start and the next Monday's run follows on from them.
        _, monday = usage_patterns_default_period()
        for weeks_back in range(min(4, days // 7), 0, -1):
            since = monday - timedelta(days=7 * weeks_back)
            usage_patterns_analyze(since=since, until=since + timedelta(days=7))
        self.stdout.write(self.style.SUCCESS(f"Loaded {len(ids)} demo conversations."))
