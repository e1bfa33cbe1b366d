"""Poison messages published raw go to the dead-letter queue; the worker keeps serving
and, with the browser started, keeps logging (its log pipe never goes silent)."""

from __future__ import annotations

import time

import pytest

from accounts.models import CedulaInfo, CedulaStatus
from actors.queues import ACTOR_NAMES, QUEUE_LOOKUPS
from tests.fixtures.processes import Worker
from tests.fixtures.rows import make_rows
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.broker, pytest.mark.browser]
pytestmark.append(pytest.mark.django_db(transaction=True))

ACTOR = ACTOR_NAMES[QUEUE_LOOKUPS]


def _lookup_is_final(user_id: int) -> bool:
    return CedulaInfo.objects.get(user_id=user_id).status in CedulaStatus.final()


def test_poison_messages_are_dead_lettered_and_the_worker_keeps_serving_and_logging(
    fault_env, rabbit_node, replica_clean, tmp_path
):
    worker = Worker(fault_env, tmp_path / "worker.log").start()
    try:
        # First a real lookup: Chromium and the Playwright driver are running from here on.
        first, second = make_rows({"status": CedulaStatus.PENDING}, {"status": CedulaStatus.PENDING})
        rabbit_node.publish_lookup(QUEUE_LOOKUPS, ACTOR, first)
        wait_for(lambda: _lookup_is_final(first), timeout=60, message="the first lookup")
        assert "chromium launched" in worker.log()

        started = time.monotonic()
        rabbit_node.publish_raw(QUEUE_LOOKUPS, b"\xff\x00 not json at all")
        rabbit_node.publish_lookup(QUEUE_LOOKUPS, ACTOR, 9_999_999_999)  # no such member
        rabbit_node.publish_lookup(QUEUE_LOOKUPS, ACTOR, "52000000", extra=[1])  # wrong types
        rabbit_node.publish_lookup(QUEUE_LOOKUPS, ACTOR, "x" * (4 * 1024 * 1024))  # a 4 MB body
        dead = wait_for(
            lambda: rabbit_node.message_count(f"{QUEUE_LOOKUPS}.XQ") >= 4 or None,
            timeout=60,
            message="four dead letters",
        )
        dead_after = time.monotonic() - started

        # Still serving, and its later log lines still reach the log.
        rabbit_node.publish_lookup(QUEUE_LOOKUPS, ACTOR, second)
        wait_for(lambda: _lookup_is_final(second), timeout=60, message="the lookup after the poison")
        wait_for(
            lambda: f"lookup recorded user_id={second}" in worker.log(),
            timeout=20,
            message="the worker's log line after the poison messages",
        )
        assert worker.alive
        log = worker.log()
        longest = max(len(line) for line in log.splitlines())
        print(
            f"poison: dead-lettered={rabbit_node.message_count(f'{QUEUE_LOOKUPS}.XQ')} in {dead_after:.1f}s, "
            f"longest log line={longest} chars, log size={len(log)} chars"
        )
        assert dead
        assert longest < 20_000, "a log record was not bounded"
    finally:
        worker.terminate()
