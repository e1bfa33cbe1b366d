"""Politeness as a fleet, proven with two real `rundramatiq` processes against the replica over
HTTP, sharing only RabbitMQ, the database and Redis (scrapers/politeness.py):

- the per-source rate limit holds across both processes (counted at the replica);
- wsp's circuit breaker opens on WAF blocks, consultacenso serves meanwhile, the half-open
  probe fails and re-opens it, then a probe succeeds and closes it;
- with every source open, a lookup is delayed (not failed, no attempt counted) and the card
  says so calmly with a time, then it completes once a probe succeeds.
"""

from __future__ import annotations

import itertools
import random
import uuid

import pytest
import redis
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import CedulaInfo, CedulaStatus, User
from actors import deadletters
from scrapers.politeness import read_breakers
from tests.fixtures.broker import purge_queues
from tests.fixtures.processes import Worker
from tests.fixtures.redis import REDIS_TEST_URL, delete_prefix
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RATE = 2  # wsp lookups per second, fleet-wide
COOLOFF = 10.0
FINAL = CedulaStatus.final()
# Cédulas outside the replica's synthetic census: each lookup answers "not in census".
_cedulas = itertools.count(7_000_000_000 + random.randrange(0, 10**6) * 1000)


@pytest.fixture(scope="module")
def prefix():
    value = f"test-fleet-{uuid.uuid4().hex[:10]}:"
    yield value
    delete_prefix(REDIS_TEST_URL, value)


@pytest.fixture(scope="module")
def fleet(worker_env, tmp_path_factory, prefix):
    """Two worker processes (4 threads each) with the same politeness settings."""
    env = {
        **worker_env,
        "REDIS_URL": REDIS_TEST_URL,
        "POLITENESS_KEY_PREFIX": prefix,
        "REGISTRADURIA_SOURCES": "wsp,consultacenso",
        "REGISTRADURIA_RATE_LIMITS": f"wsp={RATE}/second",
        "REGISTRADURIA_BREAKER_ENABLED": "true",
        "REGISTRADURIA_BREAKER_WINDOW_SECONDS": "60",
        "REGISTRADURIA_BREAKER_MIN_FAILURES": "2",
        "REGISTRADURIA_BREAKER_FAILURE_RATIO": "0.5",
        "REGISTRADURIA_BREAKER_COOLOFF_SECONDS": str(COOLOFF),
        "BROWSER_PAGE_POOL_SIZE": "4",
        # Room for the rate limit's waits (a source may wait a quarter of the deadline for a permit).
        "SCRAPER_DEADLINE_SECONDS": "40",
        "LOOKUP_TIME_LIMIT_MS": "60000",
        "LOOKUP_LEASE_SECONDS": "90",
    }
    purge_queues()
    folder = tmp_path_factory.mktemp("fleet")
    workers = [Worker(env, folder / f"worker-{n}.log").start() for n in (1, 2)]
    yield workers
    for started in workers:
        if started.alive:
            started.terminate()


@pytest.fixture(autouse=True)
def _isolated(fleet, replica, clean_queues, prefix):
    delete_prefix(REDIS_TEST_URL, prefix)
    replica.reset()
    yield
    replica.reset()


def members(count: int) -> list[User]:
    # The post_save signal creates the pending row and sends the message on commit.
    return [
        User.objects.create_user(
            str(next(_cedulas)),
            "clave-segura-123",
            nombre_completo="Miembro de Prueba",
            accepted_data_policy=True,
            data_policy_accepted_at=timezone.now(),
            data_policy_version=settings.DATA_POLICY_VERSION,
        )
        for _ in range(count)
    ]


def finished(users: list[User], timeout: float = 90) -> list[CedulaInfo]:
    ids = [u.pk for u in users]

    def check():
        rows = list(CedulaInfo.objects.filter(user_id__in=ids))
        return rows if len(rows) == len(ids) and all(r.status in FINAL for r in rows) else None

    return wait_for(check, timeout=timeout, message=f"{len(ids)} final rows")


def breaker(prefix: str, source: str) -> str:
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        return read_breakers(client, key_prefix=prefix, sources=[source])[0].state
    finally:
        client.close()


def wsp_posts(replica) -> int:
    return len(replica.hits().get("POST /censo/consultar/", []))


def test_rate_limit_holds_across_two_worker_processes(replica, fleet):
    # Warm up first: a process starts its Chromium at its first lookup, and permits taken while
    # it starts would reach the site together once it is up (the permit is taken before the page;
    # docs/pipeline.md#politeness). Measured below: the steady state, a page per thread.
    finished(members(8))
    replica.reset()
    users = members(16)
    rows = finished(users)
    assert {r.status for r in rows} == {CedulaStatus.NOT_FOUND}
    assert {r.source for r in rows} == {"wsp"}
    gets = sorted(replica.hits()["GET /censo/consultar/"])
    assert len(gets) == 16 and wsp_posts(replica) == 16
    # Eight threads in two processes could send all 16 in about two seconds; at 2/s fleet-wide no
    # window of 0.55 s holds more than two page loads (0.45 s left for a loaded machine's jitter
    # between a permit and its GET: a run on SQLite at load 5 saw 0.35 s), and the 16 take at
    # least 7 s (two processes each limited on its own would take 3.5, and would put four GETs in
    # one window at most seconds).
    window = 0.55
    busiest = max(sum(1 for t in gets if start <= t < start + window) for start in gets)
    assert busiest <= RATE, gets
    assert gets[-1] - gets[0] >= (16 - RATE) / RATE - 0.5
    # Both processes did lookups: the limit was shared, not one process doing everything.
    assert all("lookup " in w.log() and "status=not_found" in w.log() for w in fleet)


def test_breaker_opens_fallback_serves_then_half_open_probe_closes_it(replica, fleet, prefix):
    replica.set(waf=True)  # wsp answers every POST with the WAF's block page
    # Two blocked attempts (min_failures=2) open wsp; consultacenso answers both members.
    first = finished(members(2))
    assert {r.source for r in first} == {"consultacenso"}
    assert {r.status for r in first} == {CedulaStatus.NOT_FOUND}
    assert breaker(prefix, "wsp") == "open"
    blocked_posts = wsp_posts(replica)
    assert blocked_posts == 2

    # While open, the fleet sends wsp nothing at all: no page load, no POST, no captcha for it.
    gets_before = len(replica.hits().get("GET /censo/consultar/", []))
    during = finished(members(4))
    assert {r.source for r in during} == {"consultacenso"}
    assert wsp_posts(replica) == blocked_posts
    assert len(replica.hits().get("GET /censo/consultar/", [])) == gets_before

    # Cool-off over, wsp still blocking: one probe goes, fails, and re-opens the breaker.
    wait_for(lambda: breaker(prefix, "wsp") == "half_open", timeout=COOLOFF + 5, message="cool-off")
    probed = finished(members(3))
    assert {r.source for r in probed} == {"consultacenso"}
    assert wsp_posts(replica) == blocked_posts + 1  # exactly one probe, whichever process sent it
    assert breaker(prefix, "wsp") == "open"

    # The site recovers: after the next cool-off the probe succeeds and closes the breaker.
    replica.set(waf=False)
    wait_for(lambda: breaker(prefix, "wsp") == "half_open", timeout=COOLOFF + 5, message="cool-off")
    closing = finished(members(1))
    assert closing[0].source == "wsp" and closing[0].status == CedulaStatus.NOT_FOUND
    assert breaker(prefix, "wsp") == "closed"
    after = finished(members(4))
    assert {r.source for r in after} == {"wsp"}


def test_with_every_source_open_the_lookup_waits_and_the_card_says_when(replica, fleet, prefix, client):
    replica.set(waf=True, consultacenso_waf=True)
    (user,) = members(1)
    # Two attempts, both sources blocked each time: both breakers open (min_failures=2); the
    # third delivery finds nothing to ask and is delayed.
    paused = wait_for(
        lambda: (
            CedulaInfo.objects.filter(
                user=user, status=CedulaStatus.PENDING, message__contains="No tienes que hacer nada"
            )
            .values_list("attempts", "message")
            .first()
        ),
        timeout=60,
        message="the row paused",
    )
    attempts, message = paused
    assert attempts == 2
    assert breaker(prefix, "wsp") == breaker(prefix, "consultacenso") == "open"
    assert "pausa para no saturarla" in message and "No tienes que hacer nada" in message

    client.force_login(user)
    response = client.get(reverse("cedula:card"))
    assert response.status_code == 200
    card = response.content.decode()
    assert "Tu consulta sigue en cola" in card and "hacia las" in card

    # The site recovers: once a cool-off ends, the delayed message probes and is answered.
    replica.reset()
    (info,) = finished([user], timeout=60)
    assert info.status == CedulaStatus.NOT_FOUND
    assert info.attempts == 3  # two blocked attempts and the answer; the pauses counted nothing
    assert not [
        letter for letter in deadletters.deadletters_list(queue="lookups") if letter.user_id == user.pk
    ]
