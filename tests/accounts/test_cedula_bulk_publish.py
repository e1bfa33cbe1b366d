"""Bulk publishing to the real RabbitMQ: counted only when routed, queues re-declared."""

import pytest

from accounts.bulk_publish import BulkPublisher, UnroutableMessages
from accounts.services.cedulas import QUEUE_REFRESH, cedula_lookup_send_many
from actors.lookups import refresh_cedula
from tests.fixtures.broker import delete_queues, purge_queues, queue_counts


@pytest.fixture(autouse=True)
def _empty_queues():
    purge_queues()
    yield
    purge_queues()


def delete_queue(name: str) -> None:
    delete_queues([name])


def test_send_many_puts_every_message_on_the_queue():
    assert cedula_lookup_send_many(user_ids=range(1, 1201), queue=QUEUE_REFRESH, batch_size=500) == 1200
    assert queue_counts(QUEUE_REFRESH)[0] == 1200


def test_send_many_recreates_a_queue_deleted_since_the_last_run():
    cedula_lookup_send_many(user_ids=[1], queue=QUEUE_REFRESH)
    delete_queue(QUEUE_REFRESH)
    assert cedula_lookup_send_many(user_ids=[1, 2, 3], queue=QUEUE_REFRESH) == 3
    assert queue_counts(QUEUE_REFRESH)[0] == 3


def test_messages_no_queue_took_are_an_error_not_counted_as_sent():
    with pytest.raises(UnroutableMessages), BulkPublisher(actor=refresh_cedula, batch_size=10) as publisher:
        delete_queue(QUEUE_REFRESH)  # deleted under a running publisher
        for user_id in range(5):
            publisher.publish(user_id)
        publisher.flush()
    assert publisher.sent == 0
