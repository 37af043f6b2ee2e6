"""Send dead-lettered tasks to the workers again."""

from django.core.management.base import BaseCommand, CommandError
from kombu.exceptions import OperationalError

from analytics.selectors import dead_letter_list_pending
from analytics.services import dead_letter_replay


class Command(BaseCommand):
    help = "Re-enqueue every dead-lettered task not replayed yet (or only --id N)."

    def add_arguments(self, parser):
        parser.add_argument("--id", type=int, action="append", dest="ids", help="Replay only these dead letters.")
        parser.add_argument("--all", action="store_true", help="Also replay dead letters replayed before.")

    def handle(self, *args, ids=None, all=False, **options):
        dead_letters = list(dead_letter_list_pending(ids=ids, include_replayed=all))
        if ids:
            # Checked before anything is sent: an id that is not replayed must not read as "Replayed 0".
            self._check_asked_for(ids, found={dead_letter.id for dead_letter in dead_letters})
        count = 0
        for dead_letter in dead_letters:
            try:
                dead_letter_replay(dead_letter=dead_letter)
            except OperationalError as exc:
                # Marked replayed only once sent: what was not sent stays pending, for the next run.
                raise CommandError(
                    f"Could not send #{dead_letter.id} to the broker (Redis): {exc}. Replayed {count} dead letter(s) "
                    "before it; the rest are still pending: run the command again once Redis is up."
                ) from exc
            count += 1
            self.stdout.write(
                f"Replayed #{dead_letter.id} {dead_letter.task_name} {dead_letter.kwargs or dead_letter.args}"
            )
        self.stdout.write(self.style.SUCCESS(f"Replayed {count} dead letter(s)."))

    def _check_asked_for(self, ids: list[int], *, found: set[int]) -> None:
        missing = sorted(set(ids) - found)
        if not missing:
            return
        replayed = {dead_letter.id for dead_letter in dead_letter_list_pending(ids=missing, include_replayed=True)}
        unknown = [dead_letter_id for dead_letter_id in missing if dead_letter_id not in replayed]
        if unknown:
            raise CommandError(f"No dead letter {', '.join(f'#{dead_letter_id}' for dead_letter_id in unknown)}.")
        names = ", ".join(f"#{dead_letter_id}" for dead_letter_id in missing)
        raise CommandError(f"Dead letter {names} was replayed before; add --all to replay it again.")
