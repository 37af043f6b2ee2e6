"""replay_dead_letters as an operator runs it: what it says when it has nothing to replay of what was asked."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.models import DeadLetter
from convosensei.redis_client import reset_circuit
from tests import plugin

pytestmark = pytest.mark.django_db


def _dead_letter(**fields) -> DeadLetter:
    return DeadLetter.objects.create(task_name="analytics.sweep_unscored", error="boom", attempts=6, **fields)


def test_an_id_that_is_no_dead_letter_is_an_error_naming_it():
    # It printed "Replayed 0 dead letter(s).", as if the id had been replayed or there was nothing to do.
    known = _dead_letter()
    with pytest.raises(CommandError, match=r"^No dead letter #999999\.$"):
        call_command("replay_dead_letters", "--id", str(known.id), "--id", "999999", stdout=io.StringIO())
    assert DeadLetter.objects.get(id=known.id).replay_count == 0


def test_an_id_replayed_before_is_an_error_that_points_to_all():
    replayed = _dead_letter(replayed_at=timezone.now(), replay_count=1)
    with pytest.raises(CommandError, match=rf"^Dead letter #{replayed.id} was replayed before; add --all"):
        call_command("replay_dead_letters", "--id", str(replayed.id), stdout=io.StringIO())


def test_with_redis_down_it_says_so_and_leaves_the_dead_letter_pending():
    pending = _dead_letter()
    plugin.redis_server.stop()
    try:
        with pytest.raises(CommandError, match=r"^Could not send #\d+ to the broker \(Redis\).*run the command again"):
            call_command("replay_dead_letters", stdout=io.StringIO())
    finally:
        plugin.redis_server.start()
        reset_circuit()
    assert DeadLetter.objects.get(id=pending.id).replay_count == 0
