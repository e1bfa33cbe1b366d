"""Token first, page last, and the captcha economy: real Chromium, the replica over HTTP.

The pool's counters (``PoolStats.hold_seconds_max``, ``lends``) prove when pages were held; the
replica's counters (``in.php`` submissions, accepted and rejected tokens) prove what was solved
and submitted; ``CaptchaCounts`` shows what the client thinks it spent.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from scrapers.client import RegistraduriaClient
from scrapers.registraduria import LookupStatus
from scrapers.tokens import CaptchaUnavailable, LocalCaptchaGate
from tests.fixtures.client import client_config

pytestmark = pytest.mark.browser

SOURCES = ("wsp", "consultacenso", "eleccionescolombia")


@pytest.fixture
def make_client(replica, loop_thread):
    clients = []

    def make(*, gate=None, **overrides) -> RegistraduriaClient:
        overrides.setdefault("pool_size", 2)
        clients.append(RegistraduriaClient(client_config(replica, **overrides), gate=gate))
        return clients[-1]

    yield make
    for extra in clients:
        loop_thread.run(extra.close())


@pytest.fixture
def fresh_replica(replica_clean):
    replica_clean.set(captcha_delay=0)
    return replica_clean


def submitted(replica) -> int:
    captcha = replica.stats()["captcha"]
    return captcha.get("submitted", 0) + captcha.get("submitted_v3", 0)


def rejected(replica) -> dict[str, int]:
    return {k: v for k, v in replica.stats()["captcha"].items() if k.startswith("rejected")}


def gather(loop_thread, client, cedulas, **kwargs):
    async def run():
        return await asyncio.gather(*(client.lookup(c, **kwargs) for c in cedulas))

    return loop_thread.run(run(), timeout=90)


@pytest.mark.parametrize("source", SOURCES)
def test_a_page_is_never_held_while_its_captcha_is_being_solved(
    make_client, loop_thread, fresh_replica, source
):
    # The solve takes 4 s: a page held across one would be held 4 s or more; a page's own
    # work (GET, fill, POST) is well under a second, with room for a loaded machine.
    fresh_replica.set(captcha_delay=4)
    client = make_client(pool_size=2)
    loop_thread.run(client.start())

    results = gather(
        loop_thread, client, ["1000000004", "2000000001", "3000000001", "1000000001"], source=source
    )

    assert [r.status for r in results] == [
        LookupStatus.FOUND,
        LookupStatus.NOT_FOUND,
        LookupStatus.CANCELLED,
        LookupStatus.FOUND,
    ]
    stats = client.pool.stats
    # Each solve took 4 s; no page was held for even one of them.
    assert stats.lends == 4
    assert stats.hold_seconds_max < 3.5, stats
    assert client.tokens.in_flight_max == 4  # all four solves ran at once, on 2 pages
    assert client.tokens.counts.solves == 4 == submitted(fresh_replica)
    assert client.tokens.counts.answers == 4 and client.tokens.counts.wasted == 0


@pytest.mark.parametrize("source", SOURCES)
def test_the_old_order_holds_the_page_through_the_solve(make_client, loop_thread, fresh_replica, source):
    # The control for the test above (CAPTCHA_TOKEN_FIRST=False): the same counters can fail.
    fresh_replica.set(captcha_delay=1.5)
    client = make_client(pool_size=2, token_first=False)
    loop_thread.run(client.start())

    results = gather(loop_thread, client, ["1000000004", "2000000001"], source=source)

    assert [r.status for r in results] == [LookupStatus.FOUND, LookupStatus.NOT_FOUND]
    assert client.pool.stats.hold_seconds_max >= 1.5
    assert client.tokens.counts.solves == 2 == submitted(fresh_replica)


def test_a_changed_sitekey_throws_the_token_away_and_solves_again(make_client, loop_thread, fresh_replica):
    client = make_client(pool_size=1)
    assert loop_thread.run(client.lookup("1000000004", source="wsp")).status == LookupStatus.FOUND
    fresh_replica.set(sitekey_rotation=1)  # the site rotates its key

    rotated = loop_thread.run(client.lookup("1000000001", source="wsp"))
    after = loop_thread.run(client.lookup("1000000002", source="wsp"))

    assert rotated.status == after.status == LookupStatus.FOUND
    counts = client.tokens.counts.events
    # One token for the old key was thrown away before it was submitted, then the new key was
    # learned: the third lookup needed one solve.
    assert counts["wasted:sitekey_changed"] == 1
    assert counts["solve"] == 4 == submitted(fresh_replica)
    assert rejected(fresh_replica) == {}
    assert client.specs["wsp"].sitekey.endswith("R00001")


def test_an_expired_token_is_never_submitted(make_client, loop_thread, fresh_replica):
    # Tokens live 3 s at the replica; the client refuses to submit one older than 1 s. The one
    # page is held 1.5 s by each census lookup, so the second lookup's token ages while it waits.
    fresh_replica.set(token_lifetime=3, lookup_hold=1.5)
    client = make_client(pool_size=1, token_max_age=1.0)
    loop_thread.run(client.start())

    results = gather(loop_thread, client, ["1000000004", "1000000001"], source="wsp")

    assert [r.status for r in results] == [LookupStatus.FOUND, LookupStatus.FOUND]
    counts = client.tokens.counts.events
    assert counts["wasted:expired"] >= 1
    assert counts["solve"] == 2 + counts["wasted:expired"]
    assert rejected(fresh_replica) == {}  # the replica never saw an old token


def test_the_replica_refuses_a_token_past_its_lifetime(make_client, loop_thread, fresh_replica):
    # Control for the test above: with the client's own check off, the replica does refuse.
    fresh_replica.set(token_lifetime=1, lookup_hold=1.5)
    client = make_client(pool_size=1, token_max_age=1000.0)
    loop_thread.run(client.start())

    results = gather(loop_thread, client, ["1000000004", "1000000001"], source="wsp")

    assert LookupStatus.CAPTCHA_REJECTED in [r.status for r in results]
    assert rejected(fresh_replica) == {"rejected: expired": 1}


def test_a_cancelled_lookup_waiting_on_its_captcha_leaks_no_page_and_no_solve(
    make_client, loop_thread, fresh_replica
):
    fresh_replica.set(captcha_delay=1.0)
    client = make_client(pool_size=1)
    loop_thread.run(client.start())

    async def cancel_while_solving():
        task = asyncio.ensure_future(client.lookup("1000000004", source="wsp"))
        await asyncio.sleep(0.4)
        assert client.tokens.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    loop_thread.run(cancel_while_solving())
    assert client.pool.stats.lends == 0 and client.pool.stats.pages_in_use == 0
    deadline = time.monotonic() + 5
    while client.tokens.stocked() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.tokens.stocked() == 1  # the solve finished and was kept, not thrown away

    result = loop_thread.run(client.lookup("1000000001", source="wsp"))

    assert result.status == LookupStatus.FOUND
    assert submitted(fresh_replica) == 1  # the next lookup used the cancelled one's token
    assert client.tokens.counts.events["reused"] == 1
    assert client.tokens.counts.wasted == 0


def test_a_token_not_submitted_after_a_failed_page_load_serves_the_next_lookup(
    make_client, loop_thread, fresh_replica
):
    client = make_client(pool_size=1, sources=("wsp", "consultacenso"))
    fresh_replica.set(get_500=2)  # wsp's GET fails twice: the fallback answers

    first = loop_thread.run(client.lookup("1000000004"))
    second = loop_thread.run(client.lookup("1000000001"))

    assert (first.status, first.source) == (LookupStatus.FOUND, "consultacenso")
    assert (second.status, second.source) == (LookupStatus.FOUND, "wsp")
    # wsp's first token was never submitted: kept, and used by the second lookup.
    assert submitted(fresh_replica) == 2
    assert client.tokens.counts.events["reused"] == 1
    assert client.tokens.counts.wasted == 0


def test_the_session_expiry_retry_gets_a_fresh_token(make_client, loop_thread, fresh_replica):
    client = make_client(pool_size=1)
    # Each solve takes 3 s: the retry's new solve must happen with the page back in the pool.
    fresh_replica.set(reload=1, captcha_delay=3)

    result = loop_thread.run(client.lookup("1000000004", source="wsp"))

    assert result.status == LookupStatus.FOUND
    counts = client.tokens.counts.events
    assert counts["solve"] == 2 == submitted(fresh_replica)
    assert counts["wasted:submission_failed"] == 1
    assert client.pool.stats.hold_seconds_max < 2.5


def test_the_hourly_budget_stops_solving_and_the_lookup_is_delayed(make_client, loop_thread, fresh_replica):
    client = make_client(pool_size=1, gate=LocalCaptchaGate(hourly_budget=2))
    for cedula in ("1000000004", "1000000001"):
        assert loop_thread.run(client.lookup(cedula, source="wsp")).status == LookupStatus.FOUND

    with pytest.raises(CaptchaUnavailable) as raised:
        loop_thread.run(client.lookup("1000000002", source="wsp", raise_unavailable=True))
    plain = loop_thread.run(client.lookup("1000000002", source="wsp"))

    assert raised.value.code == "BUDGET" and 0 < raised.value.retry_after <= 3600
    assert plain.status == LookupStatus.SITE_ERROR and "BUDGET" in plain.error
    assert submitted(fresh_replica) == 2  # never more than the budget
    assert client.pool.stats.lends == 2  # no page was taken for the refused lookups


@pytest.mark.parametrize(
    ("switch", "code"),
    [("captcha_zero_balance", "ERROR_ZERO_BALANCE"), ("captcha_bad_key", "ERROR_KEY_DOES_NOT_EXIST")],
)
def test_an_account_error_pauses_solving_with_one_operator_line(
    make_client, loop_thread, fresh_replica, caplog, switch, code
):
    client = make_client(pool_size=1, captcha_account_backoff=60.0)
    fresh_replica.set(**{switch: True})
    caplog.set_level(logging.ERROR, logger="scrapers.tokens")

    errors = []
    for cedula in ("1000000004", "1000000001", "1000000002"):
        with pytest.raises(CaptchaUnavailable) as raised:
            loop_thread.run(client.lookup(cedula, source="wsp", raise_unavailable=True))
        errors.append(raised.value)

    assert [e.code for e in errors] == [code] * 3
    assert all(0 < e.retry_after <= 60 for e in errors)
    # The service was asked once; the next lookups were refused at once, not hot-looping on it.
    assert fresh_replica.stats()["captcha"][code] == 1
    lines = [r for r in caplog.records if r.name == "scrapers.tokens" and r.levelno == logging.ERROR]
    assert len(lines) == 1 and code in lines[0].getMessage()
    assert client.pool.stats.lends == 0  # no page was taken for a lookup that cannot post


def test_no_slot_backs_off_briefly_then_solving_resumes(make_client, loop_thread, fresh_replica):
    client = make_client(pool_size=1, captcha_no_slot_backoff=1.0)
    fresh_replica.set(captcha_no_slot=1)  # the next in.php only

    with pytest.raises(CaptchaUnavailable) as raised:
        loop_thread.run(client.lookup("1000000004", source="wsp", raise_unavailable=True))
    with pytest.raises(CaptchaUnavailable):  # still backing off: the service is not asked
        loop_thread.run(client.lookup("1000000004", source="wsp", raise_unavailable=True))
    time.sleep(1.1)
    result = loop_thread.run(client.lookup("1000000004", source="wsp", raise_unavailable=True))

    assert raised.value.code == "ERROR_NO_SLOT_AVAILABLE" and raised.value.retry_after <= 1.0
    assert result.status == LookupStatus.FOUND
    captcha = fresh_replica.stats()["captcha"]
    assert captcha["ERROR_NO_SLOT_AVAILABLE"] == 1 and captcha["submitted"] == 1


def test_no_solve_is_bought_when_the_deadline_is_too_close(make_client, loop_thread, fresh_replica):
    fresh_replica.set(captcha_delay=2.0)
    client = make_client(pool_size=1, deadline_seconds=10.0)
    loop_thread.run(client.start())
    assert loop_thread.run(client.lookup("1000000004", source="wsp")).status == LookupStatus.FOUND
    # A typical solve now takes ~2 s: a lookup with 2.5 s in all could not post before its end.
    client.config.deadline_seconds = 2.5

    late = loop_thread.run(client.lookup("1000000001", source="wsp"))

    assert (late.status, late.timed_out) == (LookupStatus.SITE_ERROR, True)
    assert client.tokens.counts.events["skipped:deadline"] == 1
    assert submitted(fresh_replica) == 1  # nothing was paid for the lookup that could not post


def test_the_pacer_buys_no_more_solves_at_once_than_the_pages_can_serve(
    make_client, loop_thread, fresh_replica
):
    fresh_replica.set(captcha_delay=2)
    cedulas = [f"30000000{n:02d}" for n in range(10)]
    # Control, pacer off: ten lookups at once buy ten solves at once for one page.
    unpaced = make_client(pool_size=1, pacer_max_wait=0)
    assert all(not r.is_transient for r in gather(loop_thread, unpaced, cedulas))
    assert unpaced.tokens.in_flight_max == 10

    # Paced: one page held ~1 s (assumed) x (2 s solve + 4 s) lets six in; the rest wait at the
    # door, out of their deadline, and go in as the first ones finish.
    paced = make_client(pool_size=1, captcha_expected_solve=2)
    results = gather(loop_thread, paced, cedulas)

    assert all(not r.is_transient for r in results)
    assert paced.tokens.in_flight_max <= 6 and paced.pacer.active_max <= paced.pacer.limit()
    assert paced.pacer.deferred == 0 and paced.tokens.counts.wasted == 0
    assert paced.tokens.counts.solves == 10 == paced.tokens.counts.answers


def test_a_lookup_kept_at_the_door_too_long_is_deferred_and_buys_nothing(
    make_client, loop_thread, fresh_replica
):
    fresh_replica.set(captcha_delay=3)
    # Limit: the floor of the formula, 1 page/s x (0.01 s + 4 s) = 5; the other three wait 0.5 s.
    client = make_client(pool_size=1, captcha_expected_solve=0.01, pacer_max_wait=0.5)
    results = gather(loop_thread, client, [f"30000001{n:02d}" for n in range(8)])

    busy = [r for r in results if r.deferred]
    assert len(busy) == 3
    assert all(r.deferred == "busy" and r.retry_after > 0 and not r.source for r in busy)
    assert sum(not r.is_transient for r in results) == 5
    assert submitted(fresh_replica) == 5 == client.tokens.counts.solves
