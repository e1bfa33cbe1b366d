"""`manage.py breakers`: the fleet's circuit breakers read on Redis, and closed by hand."""

import asyncio
import json

import pytest
from django.core.management import CommandError, call_command

from scrapers.politeness import Admission, Politeness, PolitenessConfig
from scrapers.registraduria import LookupResult, LookupStatus


@pytest.fixture
def politeness_settings(settings, redis_prefix):
    url, prefix = redis_prefix
    settings.REDIS_URL, settings.POLITENESS_KEY_PREFIX = url, prefix
    settings.REGISTRADURIA_SOURCES = ["wsp", "consultacenso"]
    return url, prefix


def open_wsp(url: str, prefix: str) -> None:
    async def scenario():
        p = Politeness(PolitenessConfig(redis_url=url, key_prefix=prefix, min_failures=1, cooloff_seconds=90))
        try:
            await p.record(Admission("wsp", allowed=True), LookupResult(LookupStatus.BLOCKED, error="WAF"))
        finally:
            await p.close()

    asyncio.run(scenario())


def test_breakers_shows_each_source_and_close_resets_one(politeness_settings, capsys):
    open_wsp(*politeness_settings)
    call_command("breakers", "--json")
    rows = {r["source"]: r for r in json.loads(capsys.readouterr().out)["breakers"]}
    assert rows["wsp"]["state"] == "open" and 80 < rows["wsp"]["seconds_left"] <= 90
    assert rows["consultacenso"] == {"source": "consultacenso", "state": "closed", "seconds_left": 0.0}

    call_command("breakers", "--close", "wsp")
    out = capsys.readouterr()
    assert "breaker for wsp closed by hand" in out.err
    assert "wsp                  closed" in out.out


def test_breakers_refuses_an_unknown_source_and_an_unreachable_redis(settings):
    with pytest.raises(CommandError, match="unknown source"):
        call_command("breakers", "--close", "nope")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with pytest.raises(CommandError, match="Redis is not reachable"):
        call_command("breakers")
