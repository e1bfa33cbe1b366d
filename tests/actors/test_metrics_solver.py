"""The worker's instrumented captcha solver counts and times solves and passes every option on
(v2 for wsp and consultacenso, v3 with action and score for eleccionescolombia)."""

from __future__ import annotations

import asyncio

import pytest

from actors import metrics
from scrapers.captcha import CaptchaError


class RecordingSolver:
    """The replica's stand-in is exercised end to end in test_metrics.py; this only records calls."""

    def __init__(self, fail: CaptchaError | None = None) -> None:
        self.calls: list[dict] = []
        self.fail = fail
        self.closed = False

    async def solve_recaptcha(self, **kwargs) -> str:
        self.calls.append(kwargs)
        if self.fail:
            raise self.fail
        return "token"

    async def aclose(self) -> None:
        self.closed = True


def count(version: str, result: str) -> float:
    return metrics.CAPTCHA_SOLVES.labels(version=version, result=result)._value.get()


def test_v3_options_reach_the_solver_and_the_solve_is_counted():
    inner = RecordingSolver()
    before = count("v3", "ok")
    token = asyncio.run(
        metrics.InstrumentedSolver(inner).solve_recaptcha(
            sitekey="k", page_url="https://x/", version="v3", action="verify", min_score=0.7
        )
    )
    assert token == "token"
    assert inner.calls == [
        {"sitekey": "k", "page_url": "https://x/", "version": "v3", "action": "verify", "min_score": 0.7}
    ]
    assert count("v3", "ok") == before + 1


def test_a_refused_solve_is_counted_as_rejected_and_still_raised():
    inner = RecordingSolver(
        fail=CaptchaError("captcha solver: ERROR_CAPTCHA_UNSOLVABLE", code="X", rejected=True)
    )
    before = count("v2", "rejected")
    with pytest.raises(CaptchaError):
        asyncio.run(metrics.InstrumentedSolver(inner).solve_recaptcha(sitekey="k", page_url="https://x/"))
    assert inner.calls[0]["version"] == "v2"
    assert count("v2", "rejected") == before + 1


def test_closing_the_wrapper_closes_the_solver():
    inner = RecordingSolver()
    asyncio.run(metrics.InstrumentedSolver(inner).aclose())
    assert inner.closed
