"""Fixtures of the actors tests (shared helpers live in tests/fixtures/)."""

import pytest

from actors.broker import amqp_connection
from actors.queues import QUEUE_LOOKUPS, QUEUE_REFRESH


@pytest.fixture
def queues(clean_queues):
    """Empty lookup queues, and nobody else consuming them while we count."""
    connection = amqp_connection()
    channel = connection.channel()
    try:
        for queue in (QUEUE_LOOKUPS, QUEUE_REFRESH):
            consumers = channel.queue_declare(queue, passive=True).method.consumer_count
            assert consumers == 0, (
                f"{consumers} consumer(s) on the {queue!r} queue would eat the messages this test "
                "counts (a dramatiq worker still running, e.g. the e2e session worker)"
            )
    finally:
        connection.close()
    return
