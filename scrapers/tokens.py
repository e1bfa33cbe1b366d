"""Captcha tokens as a resource of their own: solved before a page is taken, kept, counted.

A real reCAPTCHA solve takes 20-40 s, a page does its work in well under a second. So the client
(``scrapers.client``) asks :class:`TokenBroker` for a token *first*, with no page held, and takes a
page only to load, fill in and post (docs/pipeline.md#token-first-page-last). The broker:

* solves through the configured solver (2captcha) for a :class:`CaptchaSpec` (sitekey, reCAPTCHA
  version, v3 action), after asking the :class:`CaptchaGate` (the fleet's hourly budget and the
  back-off after an account error) whether a solve may be bought now;
* keeps tokens nobody submitted (a page load failed, the lookup was cancelled while its solve was
  running, the fallback needed another sitekey) in a per-spec stock for the next lookup, until
  they are ``max_age`` old (Google's v2 tokens live 120 s; we never submit one older than 110 s);
* counts every solve, reuse, waste (expired, sitekey changed, submission failed) and answer in
  :class:`CaptchaCounts`, with an optional hook for Prometheus.

Everything runs on the client's one event loop; nothing here is thread-safe, nothing needs to be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .captcha import CaptchaError, CaptchaSolver

logger = logging.getLogger(__name__)

TOKEN_MAX_AGE = 110.0  # seconds; reCAPTCHA v2 tokens expire 120 s after the solve
STOCK_MAX_PER_SPEC = 64
# 2captcha's account errors: no solve can succeed until an operator (or time) fixes them.
NO_SLOT_CODES = frozenset({"ERROR_NO_SLOT_AVAILABLE"})
ACCOUNT_CODES = frozenset(
    {
        "ERROR_ZERO_BALANCE",
        "ERROR_KEY_DOES_NOT_EXIST",
        "ERROR_WRONG_USER_KEY",
        "ERROR_IP_NOT_ALLOWED",
        "IP_BANNED",
    }
)
OPERATOR_HINTS = {
    "ERROR_ZERO_BALANCE": "the 2captcha balance is spent: top it up",
    "ERROR_NO_SLOT_AVAILABLE": "2captcha has no free worker at our maximum bid (queue full): it passes",
    "ERROR_KEY_DOES_NOT_EXIST": "TWOCAPTCHA_API_KEY is not a 2captcha key: fix it on every host",
    "ERROR_WRONG_USER_KEY": "TWOCAPTCHA_API_KEY is malformed: fix it on every host",
    "ERROR_IP_NOT_ALLOWED": "2captcha refuses this host's IP: allow it in the 2captcha dashboard",
    "IP_BANNED": "2captcha banned this host's IP for too many bad requests",
    "BUDGET": "the fleet's hourly captcha budget (CAPTCHA_HOURLY_BUDGET) is spent",
}


@dataclass(frozen=True)
class CaptchaSpec:
    """What a token is solved for: a token for one spec is useless for another (Google binds it)."""

    sitekey: str
    version: str = "v2"
    action: str = ""  # v3 only: the action the page passes to grecaptcha.execute
    min_score: float | None = None  # v3 only

    def short(self) -> str:
        return f"{self.version}:{self.sitekey[:8]}…{self.action and ':' + self.action}"


@dataclass
class Token:
    spec: CaptchaSpec
    value: str
    solved_at: float  # time.monotonic() when the solver delivered it

    def age(self) -> float:
        return time.monotonic() - self.solved_at


class CaptchaUnavailable(Exception):
    """No token can be bought now: the budget is spent or the service refuses the account.

    ``code`` is 2captcha's error code or ``"BUDGET"``; ``retry_after`` the seconds until it is
    worth asking again (the back-off). The lookup should be delayed, not failed.
    """

    def __init__(self, code: str, retry_after: float) -> None:
        super().__init__(f"captcha unavailable: {code}; retry in {retry_after:.0f}s")
        self.code = code
        self.retry_after = max(1.0, retry_after)


class NoTimeForSolve(Exception):
    """The lookup's deadline would pass before a solve could finish: do not buy one."""


class CaptchaGate(Protocol):
    """The fleet's say on buying a solve: hourly budget and account-error back-off."""

    async def acquire(self) -> None:
        """Reserve one solve, or raise :class:`CaptchaUnavailable`."""

    async def refund(self) -> None:
        """Give back a reservation the service did not bill (an error before any solve)."""

    async def pause(self, code: str, seconds: float) -> None:
        """Stop every solve for ``seconds`` after account error ``code``."""

    async def record(self, event: str, amount: int = 1) -> None:
        """Add to the fleet-wide counters (for the operators' status command)."""


class LocalCaptchaGate:
    """An in-process gate: a budget per clock hour and pauses, for one process (CLI, tests).

    :param hourly_budget: solves per clock hour (0: no limit).
    """

    def __init__(self, *, hourly_budget: int = 0) -> None:
        self.hourly_budget = max(0, int(hourly_budget))
        self._hour = -1
        self._used = 0
        self._paused_until = 0.0
        self._paused_code = ""
        self.events: Counter[str] = Counter()

    def paused(self) -> tuple[str, float]:
        """(code, seconds left) of the pause in force, or ("", 0)."""
        left = self._paused_until - time.time()
        return (self._paused_code, left) if left > 0 else ("", 0.0)

    async def acquire(self) -> None:
        code, left = self.paused()
        if left > 0:
            raise CaptchaUnavailable(code, left)
        if not self.hourly_budget:
            return
        hour = int(time.time() // 3600)
        if hour != self._hour:
            self._hour, self._used = hour, 0
        if self._used >= self.hourly_budget:
            left = (hour + 1) * 3600 - time.time()
            await self.pause("BUDGET", left)
            raise CaptchaUnavailable("BUDGET", left)
        self._used += 1

    async def refund(self) -> None:
        if self.hourly_budget and self._used > 0:
            self._used -= 1

    async def pause(self, code: str, seconds: float) -> None:
        until = time.time() + seconds
        if until > self._paused_until:
            if self._paused_until <= time.time() or code != self._paused_code:
                log_account_error(code, seconds)
            self._paused_until, self._paused_code = until, code

    async def record(self, event: str, amount: int = 1) -> None:
        self.events[event] += amount


def log_account_error(code: str, seconds: float) -> None:
    """The one operator line of an account error (or a spent budget)."""
    logger.error(
        "captcha solving paused for %.0fs: %s (%s); lookups are delayed, not failed "
        "(docs/operations.md#runbook-captcha-budget-spent)",
        seconds,
        code,
        OPERATOR_HINTS.get(code, "see the 2captcha error list"),
    )


@dataclass
class CaptchaCounts:
    """What the captcha money bought, in this process (tests, benches; metrics via ``on_event``).

    Events: ``solve`` (a token delivered), ``solve_error`` (the service failed one), ``reused``
    (a kept token served another attempt), ``wasted:<reason>`` (expired, sitekey_changed,
    submission_failed, closed), ``skipped:<reason>`` (a solve not bought: deadline, cancelled),
    ``unavailable:<code>`` (budget or account error), ``answer`` (a lookup ended with an answer).
    """

    events: Counter[str] = field(default_factory=Counter)
    on_event: Callable[[str], None] | None = None

    def add(self, event: str, amount: int = 1) -> None:
        self.events[event] += amount
        if self.on_event is not None:
            for _ in range(amount):
                try:
                    self.on_event(event)
                except Exception:  # a metrics hook must never fail a lookup
                    logger.exception("captcha counts hook failed")

    @property
    def solves(self) -> int:
        return self.events["solve"]

    @property
    def answers(self) -> int:
        return self.events["answer"]

    @property
    def wasted(self) -> int:
        return sum(n for name, n in self.events.items() if name.startswith("wasted:"))

    def snapshot(self) -> dict[str, int]:
        return dict(self.events)


class TokenBroker:
    """Solves, keeps and hands out tokens (see the module docstring).

    :param solver: the captcha service.
    :param gate: budget and back-off; ``LocalCaptchaGate()`` when none is given.
    :param max_age: a token older than this is never handed out (seconds).
    :param no_slot_backoff: pause after ERROR_NO_SLOT_AVAILABLE (seconds).
    :param account_backoff: pause after a balance or key error (seconds).
    """

    def __init__(
        self,
        solver: CaptchaSolver,
        *,
        gate: CaptchaGate | None = None,
        counts: CaptchaCounts | None = None,
        max_age: float = TOKEN_MAX_AGE,
        no_slot_backoff: float = 15.0,
        account_backoff: float = 300.0,
    ) -> None:
        self.solver = solver
        self.gate: CaptchaGate = gate if gate is not None else LocalCaptchaGate()
        self.counts = counts if counts is not None else CaptchaCounts()
        self.max_age = max_age
        self.no_slot_backoff = no_slot_backoff
        self.account_backoff = account_backoff
        self._stock: dict[CaptchaSpec, deque[Token]] = {}
        self._solving: set[asyncio.Task] = set()
        self._typical_solve = 0.0  # moving average of successful solve times
        self.in_flight = 0  # solves running right now (tests and benches read it)
        self.in_flight_max = 0

    # ---- counting ---------------------------------------------------------------------------

    def _count(self, event: str, amount: int = 1) -> None:
        self.counts.add(event, amount)
        task = asyncio.ensure_future(self._record(event, amount))
        self._solving.add(task)
        task.add_done_callback(self._solving.discard)

    async def _record(self, event: str, amount: int) -> None:
        try:
            await self.gate.record(event, amount)
        except Exception:
            logger.warning("captcha statistics not recorded (%s)", event, exc_info=True)

    def waste(self, token: Token, reason: str) -> None:
        """Count ``token`` as paid for and never used for an answer."""
        self._count(f"wasted:{reason}")
        logger.info("captcha token wasted (%s) %s age=%.1fs", reason, token.spec.short(), token.age())

    def answered(self) -> None:
        self._count("answer")

    def skipped(self, reason: str) -> None:
        self._count(f"skipped:{reason}")

    def expected_solve_seconds(self) -> float:
        return self._typical_solve

    # ---- the stock --------------------------------------------------------------------------

    def fresh(self, token: Token, *, margin: float = 0.0) -> bool:
        return token.age() + margin < self.max_age

    def give_back(self, token: Token) -> None:
        """A token that was not submitted: keep it for the next attempt on that spec."""
        if not self.fresh(token, margin=2.0):
            self.waste(token, "expired")
            return
        stock = self._stock.setdefault(token.spec, deque())
        if len(stock) >= STOCK_MAX_PER_SPEC:
            self.waste(stock.popleft(), "expired")
        stock.append(token)

    def stocked(self, spec: CaptchaSpec | None = None) -> int:
        if spec is not None:
            return len(self._stock.get(spec, ()))
        return sum(len(stock) for stock in self._stock.values())

    def _from_stock(self, spec: CaptchaSpec) -> Token | None:
        stock = self._stock.get(spec)
        while stock:
            token = stock.popleft()  # oldest first: it expires first
            if self.fresh(token, margin=2.0):
                self._count("reused")
                return token
            self.waste(token, "expired")
        return None

    # ---- solving ----------------------------------------------------------------------------

    async def obtain(self, spec: CaptchaSpec, page_url: str, *, not_after: float | None = None) -> Token:
        """A fresh token for ``spec``: from the stock, else a new solve (no page is held here).

        :param not_after: monotonic time by which the token must be in hand (the lookup's
            deadline less the time to post it); a solve that would finish later is not bought.
        :raises CaptchaUnavailable: budget spent or account error (a back-off is in force).
        :raises NoTimeForSolve: ``not_after`` is too close for a typical solve.
        :raises CaptchaError: the service failed this solve (unsolvable, network).

        Cancelling the caller does not cancel the solve: its token goes to the stock, so the
        money is not lost (``close()`` ends solves still running at shutdown).
        """
        token = self._from_stock(spec)
        if token is not None:
            return token
        if not_after is not None and time.monotonic() + self._typical_solve > not_after:
            self.skipped("deadline")
            raise NoTimeForSolve(f"less than a typical solve ({self._typical_solve:.0f}s) left")
        try:
            await self.gate.acquire()
        except CaptchaUnavailable as exc:
            self._count(f"unavailable:{exc.code}")
            raise
        task = asyncio.ensure_future(self._solve(spec, page_url))
        self._solving.add(task)
        task.add_done_callback(self._solving.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._stock_orphan)
            raise

    def _stock_orphan(self, task: asyncio.Task) -> None:
        """The solve of a cancelled caller finished: its token waits for the next lookup."""
        if task.cancelled() or task.exception() is not None:
            return
        self.give_back(task.result())

    async def _solve(self, spec: CaptchaSpec, page_url: str) -> Token:
        started = time.monotonic()
        self.in_flight += 1
        self.in_flight_max = max(self.in_flight_max, self.in_flight)
        try:
            value = await self.solver.solve_recaptcha(
                sitekey=spec.sitekey,
                page_url=page_url,
                version=spec.version,
                action=spec.action,
                min_score=spec.min_score,
            )
        except CaptchaError as exc:
            # 2captcha bills only delivered tokens: an error gives the budget back.
            await self._refund()
            if exc.code in NO_SLOT_CODES or exc.code in ACCOUNT_CODES:
                backoff = self.no_slot_backoff if exc.code in NO_SLOT_CODES else self.account_backoff
                self._count(f"unavailable:{exc.code}")
                await self.gate.pause(exc.code, backoff)
                raise CaptchaUnavailable(exc.code, backoff) from None
            self._count("solve_error")
            raise
        except asyncio.CancelledError:
            await asyncio.shield(self._refund())
            raise
        finally:
            self.in_flight -= 1
        seconds = time.monotonic() - started
        self._typical_solve = (
            seconds if not self._typical_solve else 0.8 * self._typical_solve + 0.2 * seconds
        )
        self._count("solve")
        return Token(spec=spec, value=value, solved_at=time.monotonic())

    async def _refund(self) -> None:
        try:
            await self.gate.refund()
        except Exception:
            logger.warning("captcha budget refund failed", exc_info=True)

    async def close(self) -> None:
        """End solves still running and count the kept tokens nobody will use."""
        tasks = list(self._solving)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        kept = sum(len(stock) for stock in self._stock.values())
        if kept:
            self.counts.add("wasted:closed", kept)
        self._stock.clear()
