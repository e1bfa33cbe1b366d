"""The fleet-wide rate limit and circuit breaker on the real Redis (scrapers/politeness.py).

Two ``Politeness`` objects stand for two worker processes: they share nothing but Redis. The
two-process proof with real workers and the replica is tests/e2e/test_politeness_fleet.py.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from scrapers.client import ClientConfig, RegistraduriaClient
from scrapers.politeness import (
    CLOSED,
    FAILURE,
    HALF_OPEN,
    NEUTRAL,
    OPEN,
    SUCCESS,
    Admission,
    Politeness,
    PolitenessConfig,
    outcome_of,
    read_breakers,
)
from scrapers.registraduria import LookupResult, LookupStatus

BLOCKED = LookupResult(LookupStatus.BLOCKED, error="WAF block page")
FOUND = LookupResult(LookupStatus.FOUND, mesa="1")


def config(redis_prefix, **overrides) -> PolitenessConfig:
    url, prefix = redis_prefix
    values = {
        "redis_url": url,
        "key_prefix": prefix,
        "window_seconds": 30.0,
        "min_failures": 3,
        "failure_ratio": 0.5,
        "cooloff_seconds": 1.0,
        "probe_timeout_seconds": 1.0,
    }
    values.update(overrides)
    return PolitenessConfig(**values)


def run(coro):
    return asyncio.run(coro)


async def _fail(politeness: Politeness, source: str, times: int, result=BLOCKED) -> str:
    state = ""
    for _ in range(times):
        state = await politeness.record(Admission(source, allowed=True), result)
    return state


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        (BLOCKED, FAILURE),
        (LookupResult(LookupStatus.SITE_ERROR, error="GET 500 twice"), FAILURE),
        (LookupResult(LookupStatus.SITE_ERROR, timed_out=True, error="page timeout: …"), FAILURE),
        (LookupResult(LookupStatus.SITE_ERROR, error="captcha solver: ERROR_ZERO_BALANCE"), NEUTRAL),
        (
            LookupResult(
                LookupStatus.SITE_ERROR, timed_out=True, error="less than a typical solve (20s) left"
            ),
            NEUTRAL,
        ),
        (
            LookupResult(
                LookupStatus.SITE_ERROR, error="browser: Target page, context or browser has been closed"
            ),
            NEUTRAL,
        ),
        (
            LookupResult(
                LookupStatus.SITE_ERROR, error="browser: Page.goto: net::ERR_CONNECTION_REFUSED at …"
            ),
            FAILURE,
        ),
        (LookupResult(LookupStatus.CAPTCHA_REJECTED), NEUTRAL),
        (LookupResult(LookupStatus.SESSION_EXPIRED), NEUTRAL),
        (FOUND, SUCCESS),
        (LookupResult(LookupStatus.NOT_FOUND), SUCCESS),
        (LookupResult(LookupStatus.UNKNOWN), SUCCESS),
    ],
)
def test_outcome_counts_only_what_the_site_did(result, outcome):
    assert outcome_of(result) == outcome


def test_rate_limit_holds_across_two_processes(redis_prefix):
    """12 attempts from two processes at 4/second: no second of the run saw more than 4."""

    async def scenario():
        a = Politeness(config(redis_prefix, rate_limits={"wsp": "4/second"}))
        b = Politeness(config(redis_prefix, rate_limits={"wsp": "4/second"}))
        times: list[float] = []

        async def attempt(p: Politeness):
            admission = await p.admit("wsp", deadline=time.monotonic() + 10, max_wait=10)
            assert admission.allowed, admission
            times.append(time.time())

        try:
            await asyncio.gather(*(attempt(a if i % 2 else b) for i in range(12)))
        finally:
            await a.close()
            await b.close()
        return sorted(times)

    times = run(scenario())
    assert len(times) == 12
    # Moving window: any 4 permits apart, the 5th comes at least a second after the first.
    # The times are taken when each caller resumes, which a loaded machine can delay by a
    # few hundred ms; a fixed-window limiter would still fail this (two bursts at an edge
    # come ~0 s apart).
    gaps = [times[i + 4] - times[i] for i in range(len(times) - 4)]
    assert min(gaps) >= 0.7, gaps
    assert times[-1] - times[0] >= 1.9  # 12 permits at 4/s need two full windows


def test_rate_limit_does_not_wait_past_its_budget(redis_prefix):
    async def scenario():
        p = Politeness(config(redis_prefix, rate_limits={"wsp": "1 per 10 seconds"}))
        try:
            first = await p.admit("wsp", deadline=time.monotonic() + 30, max_wait=5)
            started = time.monotonic()
            second = await p.admit("wsp", deadline=time.monotonic() + 30, max_wait=3)
            return first, second, time.monotonic() - started
        finally:
            await p.close()

    first, second, took = run(scenario())
    assert first.allowed
    assert not second.allowed and second.reason == "rate_limited"
    assert 5 <= second.retry_after <= 11
    assert took < 1.5  # the next permit is 10 s away, past the 3 s allowed: not waited at all


def test_breaker_opens_on_failures_above_the_threshold(redis_prefix):
    async def scenario():
        p = Politeness(config(redis_prefix, cooloff_seconds=30))
        try:
            # 2 failures in 2 attempts: under min_failures=3, still closed.
            assert await _fail(p, "wsp", 2) == CLOSED
            assert (await p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1)).allowed
            assert await _fail(p, "wsp", 1) == OPEN
            refused = await p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1)
            other = await p.admit("consultacenso", deadline=time.monotonic() + 5, max_wait=1)
            return refused, other
        finally:
            await p.close()

    refused, other = run(scenario())
    assert not refused.allowed and refused.reason == "circuit_open"
    assert 25 < refused.retry_after <= 30
    assert other.allowed  # one source's breaker says nothing about another


def test_breaker_stays_closed_while_failures_are_under_the_ratio(redis_prefix):
    async def scenario():
        p = Politeness(config(redis_prefix))
        try:
            for _ in range(5):
                await p.record(Admission("wsp", allowed=True), FOUND)
            # 4 failures of 9 attempts: under a ratio of 0.5.
            state = await _fail(p, "wsp", 4)
            captcha = LookupResult(LookupStatus.SITE_ERROR, error="captcha solver: ERROR_NO_SLOT_AVAILABLE")
            for _ in range(10):  # the captcha service's trouble is not the site's
                state = await p.record(Admission("wsp", allowed=True), captcha)
            return state
        finally:
            await p.close()

    assert run(scenario()) == CLOSED


def test_half_open_lets_exactly_one_probe_through_and_its_success_closes(redis_prefix):
    async def scenario():
        a, b = Politeness(config(redis_prefix)), Politeness(config(redis_prefix))
        try:
            await _fail(a, "wsp", 3)
            await asyncio.sleep(1.1)  # the cool-off
            admissions = await asyncio.gather(
                *(p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1) for p in (a, b, a, b, a, b))
            )
            probes = [x for x in admissions if x.allowed]
            assert len(probes) == 1 and probes[0].probe, admissions
            assert all(x.reason == "circuit_open" for x in admissions if not x.allowed)
            owner = a if probes[0] in admissions[0::2] else b
            # A late result from an attempt that is not the probe changes nothing.
            assert await b.record(Admission("wsp", allowed=True), FOUND) == HALF_OPEN
            return await owner.record(probes[0], FOUND)
        finally:
            await a.close()
            await b.close()

    assert run(scenario()) == CLOSED


def test_a_failed_probe_opens_the_breaker_again(redis_prefix):
    async def scenario():
        p = Politeness(config(redis_prefix, cooloff_seconds=2.0))
        try:
            await _fail(p, "wsp", 3)
            await asyncio.sleep(2.1)
            probe = await p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1)
            assert probe.probe
            state = await p.record(probe, BLOCKED)
            again = await p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1)
            return state, again
        finally:
            await p.close()

    state, again = run(scenario())
    assert state == OPEN
    assert not again.allowed and 1.0 < again.retry_after <= 2.0


def test_a_probe_that_never_reports_is_given_to_the_next_caller(redis_prefix):
    async def scenario():
        p = Politeness(config(redis_prefix, cooloff_seconds=0.5, probe_timeout_seconds=2.0))
        try:
            await _fail(p, "wsp", 3)
            await asyncio.sleep(0.6)
            first = await p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1)
            blocked = await p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1)
            await asyncio.sleep(2.1)  # the first probe's worker died: its lease runs out
            second = await p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1)
            return first, blocked, second
        finally:
            await p.close()

    first, blocked, second = run(scenario())
    assert first.probe and not blocked.allowed and second.probe
    assert first.probe_token != second.probe_token


def test_breaker_state_is_readable_for_metrics(redis_prefix):
    import redis

    async def scenario():
        p = Politeness(config(redis_prefix, cooloff_seconds=30))
        try:
            await _fail(p, "consultacenso", 3)
        finally:
            await p.close()

    run(scenario())
    url, prefix = redis_prefix
    client = redis.Redis.from_url(url)
    try:
        views = {
            v.source: v for v in read_breakers(client, key_prefix=prefix, sources=["wsp", "consultacenso"])
        }
    finally:
        client.close()
    assert views["wsp"].state == CLOSED and views["wsp"].seconds_left == 0
    assert views["consultacenso"].state == OPEN and 25 < views["consultacenso"].seconds_left <= 30


def test_unreachable_redis_fails_open_with_one_log_line(caplog):
    dead = PolitenessConfig(redis_url="redis://127.0.0.1:1/0", rate_limits={"wsp": "1/minute"})

    async def scenario():
        p = Politeness(dead)
        try:
            started = time.monotonic()
            admissions = [await p.admit("wsp", deadline=time.monotonic() + 5, max_wait=5) for _ in range(20)]
            for admission in admissions:
                await p.record(admission, BLOCKED)
            return admissions, time.monotonic() - started
        finally:
            await p.close()

    with caplog.at_level(logging.INFO, logger="scrapers.politeness"):
        admissions, took = run(scenario())
    assert all(a.allowed for a in admissions)  # 20 at "1/minute": the limit is off, lookups go on
    assert took < 2
    lines = [r for r in caplog.records if r.name == "scrapers.politeness"]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    assert "unreachable" in lines[0].getMessage() and "unthrottled" in lines[0].getMessage()


def test_client_defers_without_a_page_or_a_solve_when_every_circuit_is_open(redis_prefix):
    """All three sources open: the lookup says when to come back; no browser was even started."""

    class NoSolver:
        solves = 0

        async def solve_recaptcha(self, **kwargs):
            NoSolver.solves += 1
            raise AssertionError("no solve may be asked for")

        async def aclose(self):
            pass

    async def scenario():
        seed = Politeness(config(redis_prefix, cooloff_seconds=60))
        try:
            for source in ("wsp", "consultacenso", "eleccionescolombia"):
                await _fail(seed, source, 3)
        finally:
            await seed.close()
        politeness = Politeness(config(redis_prefix, cooloff_seconds=60, rate_limits={"wsp": "1/second"}))
        client = RegistraduriaClient(
            ClientConfig(deadline_seconds=10), solver=NoSolver(), politeness=politeness
        )
        try:
            first = await client.lookup("1000000001")
            second = await client.lookup("1000000002")
            return first, second, client.pool.stats
        finally:
            await client.close()

    first, second, stats = run(scenario())
    assert stats.browser_launches == 0 and stats.pages_created == 0
    assert first.deferred == second.deferred == "circuit_open"
    assert first.status is LookupStatus.SITE_ERROR and first.is_transient
    assert 55 < first.retry_after <= 60
    # The second in line comes back one permit (1 s at 1/s) after the first.
    assert second.retry_after == pytest.approx(first.retry_after + 1.0, abs=0.4)
    assert NoSolver.solves == 0


def test_a_probe_whose_attempt_ended_without_a_result_is_handed_on_at_once(redis_prefix):
    async def scenario():
        p = Politeness(config(redis_prefix, cooloff_seconds=0.3, probe_timeout_seconds=60))
        try:
            await _fail(p, "wsp", 3)
            await asyncio.sleep(0.4)
            probe = await p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1)
            assert probe.probe
            p.release(probe)  # e.g. the lookup was cancelled while it held the probe
            await asyncio.sleep(0.1)
            return await p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1)
        finally:
            await p.close()

    assert run(scenario()).probe  # not 60 s later: the next caller probes now


def test_many_lookups_in_flight_share_a_bounded_pool(redis_prefix):
    async def scenario():
        p = Politeness(config(redis_prefix))
        try:
            admissions = await asyncio.gather(
                *(p.admit("wsp", deadline=time.monotonic() + 5, max_wait=1) for _ in range(200))
            )
            pool = p._redis.connection_pool
            return admissions, len(pool._available_connections) + len(pool._in_use_connections)
        finally:
            await p.close()

    admissions, connections = run(scenario())
    assert all(a.allowed for a in admissions)
    assert connections <= 16


def test_client_defers_when_no_source_has_a_permit_before_the_deadline(redis_prefix):
    """Every source's permit is a minute away: no waiting past the lookup's deadline, no page."""
    slow = dict.fromkeys(("wsp", "consultacenso", "eleccionescolombia"), "1/minute")

    async def scenario():
        politeness = Politeness(config(redis_prefix, rate_limits=slow, breaker_enabled=False))
        for name in slow:  # another worker just took each source's permit
            assert (await politeness.admit(name, deadline=time.monotonic() + 5, max_wait=1)).allowed
        client = RegistraduriaClient(ClientConfig(deadline_seconds=4), politeness=politeness)
        try:
            started = time.monotonic()
            result = await client.lookup("1000000001")
            return result, time.monotonic() - started, client.pool.stats
        finally:
            await client.close()

    result, took, stats = run(scenario())
    assert result.deferred == "rate_limited" and 30 < result.retry_after <= 60
    assert took < 4  # within the lookup's deadline, not a minute
    assert stats.pages_created == 0


def test_a_lookup_without_time_for_a_solve_is_not_held_against_the_site():
    """The words the token broker really uses (its time went waiting in our own queue)."""
    from scrapers.tokens import CaptchaSpec, NoTimeForSolve, TokenBroker

    async def scenario():
        broker = TokenBroker(solver=None)  # never asked: the deadline is already too close
        try:
            await broker.obtain(CaptchaSpec("key"), "http://x/", not_after=time.monotonic() - 1)
        except NoTimeForSolve as exc:
            return str(exc)
        finally:
            await broker.close()
        raise AssertionError("a solve was attempted")

    message = run(scenario())
    result = LookupResult(LookupStatus.SITE_ERROR, timed_out=True, error=message)
    assert outcome_of(result) == NEUTRAL
