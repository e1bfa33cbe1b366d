"""`manage.py deadletters` against the real RabbitMQ dead-letter queues (no worker needed)."""

import io

import dramatiq
import pika
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from dramatiq.brokers.rabbitmq import xq_name

from accounts.models import CedulaInfo, CedulaStatus
from accounts.services.cedulas import QUEUE_LOOKUPS, QUEUE_REFRESH
from actors import deadletters
from actors.lookups import lookup_cedula, refresh_cedula
from tests.fixtures.broker import purge_queues, queue_counts
from tests.fixtures.factories import UserFactory

pytestmark = [pytest.mark.broker, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _empty_queues():
    purge_queues()
    yield
    purge_queues()


def dead_letter(actor, *args, traceback="LookupRetriesExhausted: retries exhausted for user"):
    """Put a message straight into ``actor``'s dead-letter queue, as Dramatiq would."""
    message = actor.message(*args).copy(options={"retries": 5, "traceback": traceback})
    dramatiq.get_broker().declare_queue(actor.queue_name, ensure=True)
    connection = pika.BlockingConnection(pika.URLParameters(settings.RABBITMQ_URL))
    try:
        connection.channel().basic_publish("", xq_name(actor.queue_name), message.encode())
    finally:
        connection.close()
    return message


def test_list_shows_actor_masked_cedula_failure_and_age_and_keeps_the_messages():
    user = UserFactory(cedula="52345678")
    dead_letter(lookup_cedula, user.pk)
    dead_letter(refresh_cedula, 999_999_999)
    out = io.StringIO()
    call_command("deadletters", "list", stdout=out)
    text = out.getvalue()
    assert "lookup_cedula" in text and "refresh_cedula" in text
    assert "*****678" in text
    assert "52345678" not in text
    assert "(usuario eliminado)" in text
    assert "retries exhausted" in text
    assert "2 dead letter(s)." in text
    # Listing is read-only.
    assert queue_counts(QUEUE_LOOKUPS)[2] == 1
    assert queue_counts(QUEUE_REFRESH)[2] == 1


def test_list_of_one_queue_only():
    dead_letter(lookup_cedula, 1)
    dead_letter(refresh_cedula, 2)
    letters = deadletters.deadletters_list(queue="refresh")
    assert [letter.message.actor_name for letter in letters] == ["refresh_cedula"]


def test_replay_moves_messages_back_with_fresh_retries_and_marks_rows_pending():
    user = UserFactory()
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.BLOCKED)
    dead_letter(lookup_cedula, user.pk)
    out = io.StringIO()
    call_command("deadletters", "replay", "--queue", "lookups", stdout=out)
    assert "Replayed 1 message(s)." in out.getvalue()
    assert queue_counts(QUEUE_LOOKUPS)[0] == 1  # ready again
    assert queue_counts(QUEUE_LOOKUPS)[2] == 0
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.PENDING


def test_replay_of_one_message_id_leaves_the_others():
    first = dead_letter(lookup_cedula, 1)
    dead_letter(lookup_cedula, 2)
    assert deadletters.deadletters_replay(queue="lookups", message_ids={first.message_id}) == 1
    remaining = deadletters.deadletters_list(queue="lookups")
    assert [letter.user_id for letter in remaining] == [2]


def test_purge_needs_confirmation_unless_yes(monkeypatch):
    dead_letter(lookup_cedula, 1)
    with pytest.raises(CommandError, match="--yes"):
        call_command("deadletters", "purge")  # no terminal to ask on
    assert queue_counts(QUEUE_LOOKUPS)[2] == 1

    from actors.management.commands import deadletters as command

    monkeypatch.setattr(command.Command, "stdin_is_interactive", staticmethod(lambda: True))
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    out = io.StringIO()
    call_command("deadletters", "purge", stdout=out)
    assert "cancelled" in out.getvalue()
    assert queue_counts(QUEUE_LOOKUPS)[2] == 1

    out = io.StringIO()
    call_command("deadletters", "purge", "--yes", stdout=out)
    assert "Purged 1 message(s)." in out.getvalue()
    assert queue_counts(QUEUE_LOOKUPS)[2] == 0


def test_unknown_queue_is_a_clear_error():
    with pytest.raises(CommandError, match="unknown queue"):
        call_command("deadletters", "list", "--queue", "nope")


def test_failure_column_gives_the_real_cause():
    blocked = UserFactory()
    CedulaInfo.objects.filter(user=blocked).update(
        status=CedulaStatus.BLOCKED, error_detail="status=blocked source=wsp error=WAF page"
    )
    # The body Dramatiq dead-letters carries the previous attempt's traceback.
    dead_letter(lookup_cedula, blocked.pk, traceback="LookupTransientError: transient lookup failure")
    dead_letter(lookup_cedula, 999_999_998, traceback="")
    failures = {letter.user_id: letter.failure for letter in deadletters.deadletters_list(queue="lookups")}
    assert failures[blocked.pk].startswith("blocked: status=blocked source=wsp error=WAF page")
    assert failures[999_999_998] == "user does not exist"
