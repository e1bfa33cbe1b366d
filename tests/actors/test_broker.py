"""Bulk publishing to the real RabbitMQ: counted only when routed, queues re-declared."""

import pytest

from actors.broker import BulkPublisher, UnroutableMessages
from actors.queues import QUEUE_REFRESH
from actors.sending import send_lookups
from tests.fixtures.broker import delete_queues, purge_queues, queue_counts

pytestmark = pytest.mark.broker


@pytest.fixture(autouse=True)
def _empty_queues():
    purge_queues()
    yield
    purge_queues()


def delete_queue(name: str) -> None:
    delete_queues([name])


def test_send_many_puts_every_message_on_the_queue():
    assert send_lookups(user_ids=range(1, 1201), queue=QUEUE_REFRESH, batch_size=500) == 1200
    assert queue_counts(QUEUE_REFRESH)[0] == 1200


def test_send_many_recreates_a_queue_deleted_since_the_last_run():
    send_lookups(user_ids=[1], queue=QUEUE_REFRESH)
    delete_queue(QUEUE_REFRESH)
    assert send_lookups(user_ids=[1, 2, 3], queue=QUEUE_REFRESH) == 3
    assert queue_counts(QUEUE_REFRESH)[0] == 3


def test_messages_no_queue_took_are_an_error_not_counted_as_sent():
    with (
        pytest.raises(UnroutableMessages),
        BulkPublisher(queue=QUEUE_REFRESH, actor_name="refresh_cedula", batch_size=10) as publisher,
    ):
        delete_queue(QUEUE_REFRESH)  # deleted under a running publisher
        for user_id in range(5):
            publisher.publish(user_id)
        publisher.flush()
    assert publisher.sent == 0
