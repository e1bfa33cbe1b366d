"""The circuit breakers' state as Prometheus sees it: read from Redis at scrape time and served
on the web's /metrics/queues (one answer for the fleet), plus what workers count themselves."""

from __future__ import annotations

import asyncio
import time

from actors import metrics
from scrapers.politeness import Admission, Politeness, PolitenessConfig
from scrapers.registraduria import LookupResult, LookupStatus


def sample(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in:\n{text}")


def open_breaker(url: str, prefix: str, source: str, *, cooloff: float) -> None:
    async def scenario():
        politeness = Politeness(
            PolitenessConfig(redis_url=url, key_prefix=prefix, min_failures=2, cooloff_seconds=cooloff)
        )
        try:
            for _ in range(2):
                await politeness.record(
                    Admission(source, allowed=True), LookupResult(LookupStatus.BLOCKED, error="WAF")
                )
        finally:
            await politeness.close()

    asyncio.run(scenario())


def test_breaker_state_per_source_is_exported_from_redis(client, settings, redis_prefix):
    url, prefix = redis_prefix
    settings.REDIS_URL, settings.POLITENESS_KEY_PREFIX = url, prefix
    settings.RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:1/"  # the queue half may fail; ours must not
    open_breaker(url, prefix, "wsp", cooloff=60)
    open_breaker(url, prefix, "consultacenso", cooloff=0.2)
    time.sleep(0.3)  # consultacenso's cool-off is over: its next caller probes
    text = client.get("/metrics/queues").content.decode()
    assert sample(text, 'paginamadre_breaker_state{source="wsp"}') == 2
    assert sample(text, 'paginamadre_breaker_state{source="consultacenso"}') == 1
    assert sample(text, 'paginamadre_breaker_state{source="eleccionescolombia"}') == 0
    assert 50 < sample(text, 'paginamadre_breaker_reopen_seconds{source="wsp"}') <= 60
    assert sample(text, "paginamadre_politeness_store_up") == 1


def test_an_unreachable_redis_is_reported_not_raised(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:1/"
    response = client.get("/metrics/queues")
    assert response.status_code == 200
    assert sample(response.content.decode(), "paginamadre_politeness_store_up") == 0


def test_a_deferred_lookup_is_not_counted_as_a_failure():
    deferred = metrics.LOOKUPS.labels(source="none", status="deferred")
    failed = metrics.LOOKUPS.labels(source="none", status="site_error")
    before = deferred._value.get(), failed._value.get()
    metrics.observe_lookup(
        LookupResult(LookupStatus.SITE_ERROR, deferred="circuit_open", retry_after=30), seconds=0.01
    )
    assert (deferred._value.get(), failed._value.get()) == (before[0] + 1, before[1])


def test_worker_events_feed_transitions_and_waits():
    transitions = metrics.BREAKER_TRANSITIONS.labels(source="wsp", state="open")
    before = transitions._value.get()
    metrics.politeness_event("transition", "wsp", "open")
    metrics.politeness_event("wait", "wsp", 0.25)
    assert transitions._value.get() == before + 1
