"""The fleet's captcha budget and pause on the real Redis (REDIS_URL; keys under this run's prefix).

Two gates stand for two worker processes: what one spends or pauses, the other sees.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis
from django.conf import settings
from django.core.management import call_command

from actors import captcha_budget
from actors.captcha_budget import RedisCaptchaGate, key_prefix
from scrapers.tokens import CaptchaUnavailable


@pytest.fixture(autouse=True)
def clean_keys():
    client = redis.Redis.from_url(settings.REDIS_URL)

    def clear():
        keys = list(client.scan_iter(key_prefix() + "*"))
        if keys:
            client.delete(*keys)
        captcha_budget._last_check = (0.0, "", 0.0)

    clear()
    yield client
    clear()


def gate(budget: int = 0) -> RedisCaptchaGate:
    return RedisCaptchaGate(url=settings.REDIS_URL, prefix=key_prefix(), hourly_budget=budget)


def run(coro):
    return asyncio.run(coro)


def test_the_hourly_budget_is_shared_by_every_process_and_refunds_give_back():
    async def scenario():
        first, second = gate(3), gate(3)
        await first.acquire()
        await second.acquire()
        await first.refund()  # the service billed nothing for that one
        await second.acquire()
        await first.acquire()
        with pytest.raises(CaptchaUnavailable) as spent:
            await second.acquire()
        # The other process learns it from the pause the first refusal left on Redis.
        with pytest.raises(CaptchaUnavailable) as seen:
            await first.acquire()
        await first.aclose()
        await second.aclose()
        return spent.value, seen.value

    spent, seen = run(scenario())

    assert spent.code == seen.code == "BUDGET"
    assert 0 < spent.retry_after <= 3600
    assert captcha_budget.fleet_status(1)["hours"][0]["reserved"] == 3  # never above the budget


def test_an_account_error_pauses_the_fleet_with_one_line_per_process(caplog):
    async def scenario():
        one, other = gate(), gate()
        await one.pause("ERROR_ZERO_BALANCE", 2.0)
        await one.pause("ERROR_ZERO_BALANCE", 2.0)  # the same pause again: no second line
        with pytest.raises(CaptchaUnavailable) as refused:
            await other.acquire()
        await one.aclose()
        await other.aclose()
        return refused.value

    caplog.set_level("ERROR", logger="scrapers.tokens")
    refused = run(scenario())

    assert refused.code == "ERROR_ZERO_BALANCE" and 0 < refused.retry_after <= 2.0
    code, left = captcha_budget.fleet_pause()  # what the actors check before claiming a row
    assert code == "ERROR_ZERO_BALANCE" and 0 < left <= 2.0
    lines = [r.getMessage() for r in caplog.records if r.name == "scrapers.tokens"]
    assert len(lines) == 1 and "top it up" in lines[0] and "delayed, not failed" in lines[0]
    time.sleep(2.1)
    captcha_budget._last_check = (0.0, "", 0.0)
    assert captcha_budget.fleet_pause() == ("", 0.0)  # bounded: the pause ends by itself


def test_the_captcha_command_shows_what_the_solves_bought(capsys):
    async def scenario():
        fleet = gate(10)
        for event in ("solve", "solve", "answer", "wasted:expired", "reused", "answer"):
            await fleet.record(event)
        await fleet.acquire()
        await fleet.aclose()

    run(scenario())
    call_command("captcha", "--json")
    status = json.loads(capsys.readouterr().out)
    call_command("captcha")
    table = capsys.readouterr().out

    hour = status["hours"][0]
    assert status["hourly_budget"] == settings.CAPTCHA_HOURLY_BUDGET and status["pause"] is None
    assert (hour["solves"], hour["answers"], hour["solves_per_answer"], hour["reused"]) == (2, 2, 1.0, 1)
    assert hour["wasted"] == {"expired": 1} and hour["reserved"] == 1
    assert "pause: none" in table and "expired 1" in table and "1.000" in table
