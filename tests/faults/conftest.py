"""Fixtures of the fault suite (``make test-faults``): a RabbitMQ node of its own.

Every process of a fault test (gunicorn, workers, the scheduler) talks to that
node, so stopping it never touches the shared broker other runs use. The pytest
process itself only reads the test database and talks to the node with pika.
"""

from __future__ import annotations

import pytest

from tests.fixtures.services import RabbitNode


@pytest.fixture(scope="module")
def rabbit_node():
    node = RabbitNode().start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def fault_env(worker_env, rabbit_node) -> dict[str, str]:
    """The worker environment pointed at the private node."""
    return {**worker_env, "RABBITMQ_URL": rabbit_node.url}
