"""``scrapers.pacing.TokenPacer``: the admission limit in front of the token-first pipeline.

The limit's arithmetic and the door's behaviour on the event loop alone; the client's use of it,
with real Chromium and the replica, is in ``test_tokens.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from scrapers.pacing import TokenPacer


def pacer(*, pages=6, hold=1.0, solve=20.0, **kwargs) -> tuple[TokenPacer, dict]:
    measured = {"hold": hold, "solve": solve}
    made = TokenPacer(
        pages=pages,
        page_hold=lambda: measured["hold"],
        expected_solve=lambda: measured["solve"],
        **kwargs,
    )
    return made, measured


def test_the_limit_is_the_pages_rate_times_the_time_before_a_page_is_free():
    door, measured = pacer(pages=6, hold=1.0, solve=20.0)
    assert door.limit() == 144  # 6 pages/s x (20 s solve + 4 s of queue)
    measured["hold"] = 3.0  # a loaded machine: pages held longer, fewer solves bought
    assert door.limit() == 48
    measured["solve"] = 0.5  # a fast solver: the floor of two lookups per page
    assert door.limit() == 12


def test_seeds_stand_in_until_something_was_measured():
    door, _ = pacer(pages=4, hold=0.0, solve=0.0, seed_solve=30.0, seed_hold=2.0)
    assert door.limit() == 68  # 2 pages/s x (30 + 4)


def run(coroutine):
    return asyncio.run(coroutine)


def test_the_door_holds_lookups_beyond_the_limit_and_release_lets_the_next_in():
    async def scenario():
        door, _ = pacer(pages=1, hold=1.0, solve=0.5, slack=0.0)  # limit: the floor, 2
        assert await door.acquire(1) and await door.acquire(1)
        third = asyncio.ensure_future(door.acquire(5))
        await asyncio.sleep(0.1)
        assert not third.done() and door.waiting == 1
        await door.release()
        assert await asyncio.wait_for(third, 1) is True
        assert (door.active, door.active_max, door.waiting) == (2, 2, 0)

    run(scenario())


def test_a_lookup_that_waits_too_long_is_refused_and_counted():
    async def scenario():
        door, _ = pacer(pages=1, hold=1.0, solve=0.5, slack=0.0)
        assert await door.acquire(1) and await door.acquire(1)
        assert await door.acquire(0.2) is False
        assert (door.active, door.waiting, door.deferred) == (2, 0, 1)
        assert door.estimated_wait() > 0

    run(scenario())


def test_a_higher_limit_lets_several_waiters_in_at_once():
    async def scenario():
        door, measured = pacer(pages=1, hold=1.0, solve=0.5, slack=0.0)
        for _ in range(2):
            assert await door.acquire(1)
        waiters = [asyncio.ensure_future(door.acquire(5)) for _ in range(3)]
        await asyncio.sleep(0.05)
        measured["solve"] = 4.0  # the limit grows to 4: one release wakes three
        await door.release()
        done = await asyncio.wait_for(asyncio.gather(*waiters), 1)
        assert done == [True, True, True] and door.active == 4

    run(scenario())


def test_a_cancelled_waiter_leaves_no_trace():
    async def scenario():
        door, _ = pacer(pages=1, hold=1.0, solve=0.5, slack=0.0)
        assert await door.acquire(1) and await door.acquire(1)
        waiter = asyncio.ensure_future(door.acquire(5))
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert (door.active, door.waiting) == (2, 0)

    run(scenario())
