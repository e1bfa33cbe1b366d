"""The Registraduría client: a cédula in, a :class:`LookupResult` out, through a real browser.

One :class:`RegistraduriaClient` per process, on one asyncio event loop, shared by every concurrent
lookup: it owns one Chromium and a pool of warm pages (``scrapers.browser``) and a captcha solver
(``scrapers.captcha``). Each lookup drives the real page the way a person's browser would: load the
form (fresh nonce + PHPSESSID), fill it with a reCAPTCHA token, click, and parse the POST reply the
page's own JS receives. The token is solved *before* a page is taken (``token_first``, the
default; ``scrapers.tokens``), so a page is held only for the load and the post, well under a
second, while hundreds of lookups wait on the captcha service (docs/pipeline.md). How each page
is driven and read lives in ``scrapers.sources`` (one module per page); sources are tried in
``config.sources`` order when one is blocked or failing. Every lookup ends within
``deadline_seconds`` with a typed result; it never raises (except ``asyncio.CancelledError``, and
``CaptchaUnavailable`` when asked to).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from .browser import DESKTOP_CHROME_UA, JS_HEAP_MB, BrowserPool
from .captcha import CaptchaError, CaptchaSolver, build_solver
from .chromium import ChromiumNotFound
from .masking import mask_cedula
from .pacing import TokenPacer
from .politeness import Admission, Politeness
from .registraduria import LookupResult, LookupStatus
from .sources import DEFAULT_ORDER
from .sources import SOURCES as SOURCE_REGISTRY
from .sources.base import Failed, LookupContext, NeedToken
from .text import clean_cedula
from .tokens import (
    TOKEN_MAX_AGE,
    CaptchaCounts,
    CaptchaGate,
    CaptchaSpec,
    CaptchaUnavailable,
    LocalCaptchaGate,
    NoTimeForSolve,
    Token,
    TokenBroker,
)

logger = logging.getLogger(__name__)

SOURCES = DEFAULT_ORDER
FALLBACK_STATUSES = frozenset({LookupStatus.BLOCKED, LookupStatus.SITE_ERROR})
ANSWER_STATUSES = frozenset(
    {LookupStatus.FOUND, LookupStatus.NOT_FOUND, LookupStatus.CANCELLED, LookupStatus.PENDING}
)
# Pages taken per source and lookup in the token-first order before giving up: the first may
# only learn the sitekey, a second may find it rotated, a third that the token aged out.
MAX_TOKEN_ROUNDS = 4
# What posting a token takes once it is in hand (page wait, load, fill, post): a solve that
# would end closer than this to the deadline is not bought.
SUBMIT_SECONDS = 1.0
_deadline: contextvars.ContextVar[float] = contextvars.ContextVar("lookup_deadline", default=0.0)
# Seconds one lookup spent waiting for tokens, waiting for pages and on pages (its log line).
_timings: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("lookup_timings", default=None)


def parse_sitekey_seed(value: str) -> CaptchaSpec | None:
    """``KEY`` (v2), ``v2:KEY`` or ``v3:KEY[:ACTION]`` (a ``CAPTCHA_SITEKEYS`` value) → spec."""
    parts = [part.strip() for part in value.strip().split(":")]
    if not parts or not parts[-1 if len(parts) == 1 else 1]:
        return None
    if len(parts) == 1:
        return CaptchaSpec(parts[0])
    version, key = parts[0], parts[1]
    if version == "v3":
        from .sources.eleccionescolombia import V3_MIN_SCORE

        action = parts[2] if len(parts) > 2 and parts[2] else "verify"
        return CaptchaSpec(key, version="v3", action=action, min_score=V3_MIN_SCORE)
    if version == "v2":
        return CaptchaSpec(key)
    return None


@dataclass
class ClientConfig:
    """Everything the client needs; build it from Django settings with ``actors.registraduria``.

    ``sources`` are tried in order (the next one only when the previous answered BLOCKED or
    SITE_ERROR); each name is a key of ``scrapers.sources.SOURCES``. A source's URL is
    ``source_urls[name]`` when given, else the ``<name>_url`` field (the three built-in sources
    have one). ``deadline_seconds`` bounds a whole lookup, waiting for a free page included.
    ``user_agent=""`` keeps Chromium's own, which the site's WAF blocks (useful only in tests).

    ``token_first`` (default) solves the captcha before a page is taken; False is the old order
    (page taken, then the solve), kept for the benchmark's comparison. ``captcha_sitekeys`` seeds
    the spec per source (``parse_sitekey_seed``) over each source's ``captcha`` default ("": no
    seed, the first lookup loads the page to learn it); a page's own sitekey always wins.
    ``token_max_age``: a token older than this is never submitted. ``captcha_hourly_budget``,
    ``captcha_no_slot_backoff`` and ``captcha_account_backoff`` configure the in-process gate a
    client builds when it is given none (a worker gets the fleet's Redis gate instead).
    ``captcha_expected_solve`` seeds the pacer (``scrapers.pacing``) until a solve was timed;
    ``pacer_max_wait`` is how long a lookup may wait to enter the token-first pipeline before it is
    deferred (``LookupResult.deferred == "busy"``); 0 turns the pacer off.
    """

    wsp_url: str = "http://127.0.0.1:8001/censo/consultar/"
    consultacenso_url: str = "http://127.0.0.1:8001/consultar/"
    eleccionescolombia_url: str = "http://127.0.0.1:8001/identificacion"
    source_urls: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = SOURCES
    captcha_solver: str = "2captcha"
    twocaptcha_api_key: str = ""
    twocaptcha_server: str = "http://127.0.0.1:8001"
    polling_interval: float = 5.0
    deadline_seconds: float = 60.0
    chromium_path: str = ""
    pool_size: int = 8
    page_max_uses: int = 25
    js_heap_mb: int = JS_HEAP_MB
    user_agent: str = DESKTOP_CHROME_UA
    token_first: bool = True
    token_max_age: float = TOKEN_MAX_AGE
    captcha_sitekeys: dict[str, str] = field(default_factory=dict)
    captcha_hourly_budget: int = 0
    captcha_no_slot_backoff: float = 15.0
    captcha_account_backoff: float = 300.0
    captcha_expected_solve: float = 20.0
    pacer_max_wait: float = 30.0

    def url_for(self, name: str) -> str:
        """The URL of source ``name`` (``""`` when none is configured)."""
        return self.source_urls.get(name) or str(getattr(self, f"{name}_url", "") or "")

    def __repr__(self) -> str:
        # Dataclass repr would print the API key.
        fields = {k: v for k, v in vars(self).items() if k != "twocaptcha_api_key"}
        return f"ClientConfig({', '.join(f'{k}={v!r}' for k, v in fields.items())}, twocaptcha_api_key=***)"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


class RegistraduriaClient:
    """One per process. Async; safe for many concurrent ``lookup()`` calls on ONE event loop.

    Use as ``async with RegistraduriaClient(config) as client`` or call ``close()`` yourself.
    ``pool`` exposes the browser pool's counters (``pool.stats``). ``solver`` replaces the one
    ``config`` names (the worker passes it wrapped for metrics); ``on_pages_in_use`` is called with
    the number of pages lent out whenever it changes. ``gate`` decides whether a solve may be
    bought (the fleet's budget; default an in-process one from ``config``); ``counts`` collects the
    captcha economy (``tokens.counts``). ``politeness`` (``scrapers.politeness``) gates every
    attempt on a source: the fleet-wide rate limit and circuit breaker; without it every source
    is always asked.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        solver: CaptchaSolver | None = None,
        on_pages_in_use: Callable[[int], None] | None = None,
        gate: CaptchaGate | None = None,
        counts: CaptchaCounts | None = None,
        politeness: Politeness | None = None,
    ) -> None:
        self.config = config
        self.pool = BrowserPool(
            chromium_path=config.chromium_path,
            size=config.pool_size,
            max_uses=config.page_max_uses,
            js_heap_mb=config.js_heap_mb,
            user_agent=config.user_agent,
            on_pages_in_use=on_pages_in_use,
        )
        self._solver: CaptchaSolver | None = solver
        self._gate = gate
        self._counts = counts
        self._tokens: TokenBroker | None = None
        # The captcha each source showed last (or was seeded with): what a token is solved for.
        seeds = {name: source.captcha for name, source in SOURCE_REGISTRY.items()}
        seeds.update(config.captcha_sitekeys or {})  # "" for a source: learn it from its page
        self.specs: dict[str, CaptchaSpec] = {}
        for name, seed in seeds.items():
            spec = parse_sitekey_seed(seed) if seed else None
            if spec is not None:
                self.specs[name] = spec
        self._learning: dict[str, asyncio.Lock] = {}
        self.politeness = politeness
        self.pacer = TokenPacer(
            pages=self.pool.size,
            page_hold=lambda: self.pool.stats.hold_seconds_recent,
            expected_solve=lambda: self._tokens.expected_solve_seconds() if self._tokens else 0.0,
            seed_solve=config.captcha_expected_solve,
        )

    async def __aenter__(self) -> RegistraduriaClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def solver(self) -> CaptchaSolver:
        if self._solver is None:
            self._solver = build_solver(
                self.config.captcha_solver,
                api_key=self.config.twocaptcha_api_key,
                server=self.config.twocaptcha_server,
                polling_interval=self.config.polling_interval,
            )
        return self._solver

    @property
    def tokens(self) -> TokenBroker:
        if self._tokens is None:
            gate = self._gate or LocalCaptchaGate(hourly_budget=self.config.captcha_hourly_budget)
            self._tokens = TokenBroker(
                self.solver,
                gate=gate,
                counts=self._counts,
                max_age=self.config.token_max_age,
                no_slot_backoff=self.config.captcha_no_slot_backoff,
                account_backoff=self.config.captcha_account_backoff,
            )
        return self._tokens

    async def start(self) -> None:
        """Launch the browser and open the pool's pages now (optional: ``lookup()`` starts lazily)."""
        await self.pool.start(warm=True)

    async def close(self) -> None:
        """Close pages, contexts, the browser, the driver and the solver's connections. Idempotent."""
        tokens, self._tokens = self._tokens, None
        if tokens is not None:
            await tokens.close()
        await self.pool.close()
        solver, self._solver = self._solver, None
        if solver is not None:
            await solver.aclose()
        if self.politeness is not None:
            await self.politeness.close()

    async def lookup(
        self, cedula: str, *, source: str | None = None, raise_unavailable: bool = False
    ) -> LookupResult:
        """Look ``cedula`` up; ``source`` forces one source instead of ``config.sources`` in order.

        Never raises (except ``asyncio.CancelledError``): bad input gives UNKNOWN with ``error`` set,
        the deadline gives SITE_ERROR with ``timed_out=True``. When no captcha can be bought (the
        budget is spent, the account is refused) the result is SITE_ERROR with the reason, or,
        with ``raise_unavailable``, :class:`~scrapers.tokens.CaptchaUnavailable` is raised so the
        caller can delay the lookup instead of failing it (the worker does).
        """
        started = time.monotonic()
        timings = [0.0, 0.0, 0.0]
        _timings.set(timings)
        number = clean_cedula(cedula)
        masked = mask_cedula(number or cedula)
        if number is None:
            result = LookupResult(LookupStatus.UNKNOWN, error="invalid cédula: expected 3 to 10 digits")
        elif source is not None and source not in SOURCE_REGISTRY:
            result = LookupResult(LookupStatus.UNKNOWN, error=f"unknown source {source!r}")
        else:
            sources = (source,) if source else tuple(self.config.sources)
            try:
                result = await self._paced(number, sources)
            except CaptchaUnavailable as exc:
                logger.info("lookup %s delayed: %s duration=%.2fs", masked, exc, time.monotonic() - started)
                if raise_unavailable:
                    raise
                result = LookupResult(LookupStatus.SITE_ERROR, error=str(exc))
        if result.status in ANSWER_STATUSES:
            self.tokens.answered()
        error = result.error.replace(number, masked) if number else result.error
        logger.info(
            "lookup %s status=%s source=%s duration=%.2fs (token %.2fs, page wait %.2fs, page %.2fs)%s%s",
            masked,
            result.status.value,
            result.source or "-",
            time.monotonic() - started,
            *timings,
            " timed_out" if result.timed_out else (f" deferred={result.deferred}" if result.deferred else ""),
            f" error={error!r}" if error else "",
        )
        return result

    async def _paced(self, number: str, sources: tuple[str, ...]) -> LookupResult:
        """The lookup, once the pacer lets it in (token first only: the old order queues on pages).

        The deadline starts at the door, so a lookup that waited there still has all of it.
        """
        if not self.config.token_first or self.config.pacer_max_wait <= 0:
            return await self._lookup_within_deadline(number, sources, time.monotonic())
        if not await self.pacer.acquire(self.config.pacer_max_wait):
            wait = self.pacer.estimated_wait()
            return LookupResult(
                LookupStatus.SITE_ERROR,
                deferred="busy",
                retry_after=wait,
                error=f"not sent: {self.pacer.active} lookups ahead of the pages, ~{wait:.0f}s",
            )
        try:
            return await self._lookup_within_deadline(number, sources, time.monotonic())
        finally:
            await asyncio.shield(self.pacer.release())

    async def _lookup_within_deadline(
        self, number: str, sources: tuple[str, ...], started: float
    ) -> LookupResult:
        deadline = started + self.config.deadline_seconds
        _deadline.set(deadline)
        tried: list[str] = []
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                return await self._lookup_sources(number, sources, deadline, tried)
        except TimeoutError:
            return LookupResult(
                LookupStatus.SITE_ERROR,
                source=tried[-1] if tried else "",
                timed_out=True,
                error=f"deadline of {self.config.deadline_seconds:g}s exceeded",
            )
        except ChromiumNotFound as exc:
            return LookupResult(LookupStatus.SITE_ERROR, source=tried[-1] if tried else "", error=str(exc))
        except CaptchaUnavailable:
            raise
        except Exception as exc:
            logger.exception("lookup failed unexpectedly")
            return LookupResult(
                LookupStatus.SITE_ERROR,
                source=tried[-1] if tried else "",
                error=f"{type(exc).__name__}: {_first_line(exc)}",
            )

    async def _lookup_sources(
        self, number: str, sources: tuple[str, ...], deadline: float, tried: list[str]
    ) -> LookupResult:
        errors: list[str] = []
        refused: list[tuple[float, Admission]] = []  # (when it may be asked again, monotonic)
        result = LookupResult(LookupStatus.SITE_ERROR, error="no source configured")
        for index, name in enumerate(sources):
            # Each source may use half of the time left (the last one all of it), so a hung primary
            # still lets the fallbacks answer, and adding a third source does not shrink the first
            # one's budget (a real captcha solve alone takes 15-40 s).
            share = (deadline - time.monotonic()) / min(2, len(sources) - index)
            # The rate limit may take half of this source's share: the attempt keeps the rest.
            admission = await self._admit(name, deadline, share / 2)
            if admission is not None and not admission.allowed:
                # Open circuit or no permit in time: the next source, without a page or a solve.
                refused.append((time.monotonic() + admission.retry_after, admission))
                continue
            tried.append(name)
            share = (deadline - time.monotonic()) / min(2, len(sources) - index)
            try:
                result = await self._lookup_source(name, number, share)
            except BaseException:
                if admission is not None and self.politeness is not None:
                    self.politeness.release(admission)
                raise
            if admission is not None and self.politeness is not None:
                await self.politeness.record(admission, result)
            if result.status not in FALLBACK_STATUSES:
                return result
            errors.append(f"{name}: {result.error or result.status.value}")
        if refused and not tried:
            return await self._deferred(refused)
        if len(errors) > 1:
            result = replace(result, error="; ".join(errors))
        return result

    async def _admit(self, name: str, deadline: float, share: float) -> Admission | None:
        if self.politeness is None:
            return None
        return await self.politeness.admit(name, deadline=deadline, max_wait=share)

    async def _deferred(self, refused: list[tuple[float, Admission]]) -> LookupResult:
        """No source may be asked now: say when to come back, spread by the queue in front.

        With every circuit open, the callers deferred towards the same reopening are numbered
        (fleet-wide) and each comes back one rate-limit permit after the one before, so the
        backlog neither stampedes the probe nor loses its order.
        """
        admissions = [admission for _, admission in refused]
        if all(a.reopen for a in admissions):
            # Every source open: the one whose cool-off ends first, by Redis's own clock (the
            # callers' "seconds left" were read at different moments).
            first = min(admissions, key=lambda a: float(a.reopen))
            retry_after = next(due for due, a in refused if a is first) - time.monotonic()
        else:
            due, first = min(refused, key=lambda pair: pair[0])
            retry_after = due - time.monotonic()
        if all(a.reason == "circuit_open" for a in admissions) and self.politeness is not None:
            spacing = self.politeness.seconds_per_permit(first.source)
            if spacing:
                position = await self.politeness.position(first)
                retry_after += (position - 1) * spacing
        reason = "circuit_open" if all(a.reason == "circuit_open" for a in admissions) else "rate_limited"
        detail = ", ".join(f"{a.source} {a.reason} {a.retry_after:.0f}s" for a in admissions)
        return LookupResult(
            LookupStatus.SITE_ERROR,
            deferred=reason,
            retry_after=max(1.0, retry_after),
            error=f"not sent: {detail}",
        )

    async def _lookup_source(self, name: str, number: str, budget: float) -> LookupResult:
        source = SOURCE_REGISTRY.get(name)
        url = self.config.url_for(name)
        if source is None or not url:
            problem = "unknown source" if source is None else "no URL configured for source"
            return LookupResult(LookupStatus.SITE_ERROR, source=name, error=f"{problem} {name!r}")
        # Playwright's own timeouts end before the lookup deadline, so a hang becomes a page
        # timeout we can report (and fall back from) rather than a cancelled task.
        timeout_ms = max(1000.0, budget * 1000 - 250)
        run = _SourceRun(self, name)
        try:
            if not self.config.token_first:
                # The old order: the source solves while it holds the page.
                return replace(await self._on_page(source, url, number, run, timeout_ms), source=name)
            for _ in range(MAX_TOKEN_ROUNDS):
                outcome = await self._token_first_round(source, url, number, run, timeout_ms)
                if isinstance(outcome, LookupResult):
                    return replace(outcome, source=name)
            return LookupResult(
                LookupStatus.CAPTCHA_REJECTED,
                source=name,
                error=f"no usable captcha token after {MAX_TOKEN_ROUNDS} pages (sitekey keeps changing?)",
            )
        except NoTimeForSolve as exc:
            return LookupResult(LookupStatus.SITE_ERROR, source=name, timed_out=True, error=str(exc))
        except CaptchaError as exc:
            status = LookupStatus.CAPTCHA_REJECTED if exc.rejected else LookupStatus.SITE_ERROR
            return LookupResult(status, source=name, error=str(exc))
        finally:
            run.settle()

    async def _token_first_round(
        self, source, url: str, number: str, run: _SourceRun, timeout_ms: float
    ) -> LookupResult | None:
        """One page: get a token first (no page held), then load, fill and post on a page.

        Returns the result, or None when the page asked for another token (learned spec, rotated
        sitekey, expired token): the caller runs another round.
        """
        name = run.name
        spec = self.specs.get(name)
        if spec is None:
            # Nobody knows this source's captcha yet: one lookup loads the page to learn it (no
            # token spent), the others wait for it instead of all taking pages to do the same.
            lock = self._learning.setdefault(name, asyncio.Lock())
            async with lock:
                if self.specs.get(name) is None:
                    outcome = await self._on_page(source, url, number, run, timeout_ms)
                    return outcome if isinstance(outcome, LookupResult) else None
            spec = self.specs.get(name)
            if spec is None:
                return None
        if run.token is None:
            waited = time.monotonic()
            run.token = await self.tokens.obtain(spec, url, not_after=_deadline.get() - SUBMIT_SECONDS)
            run.token_seconds += time.monotonic() - waited
        outcome = await self._on_page(source, url, number, run, timeout_ms)
        return outcome if isinstance(outcome, LookupResult) else None

    async def _on_page(
        self, source, url: str, number: str, run: _SourceRun, timeout_ms: float
    ) -> LookupResult | NeedToken:
        """Run the source on one pooled page; a :class:`NeedToken` comes back, not raised."""
        # Raised only once the page is back in the pool (an exception escaping the pool's context
        # would retire a page that is fine).
        deferred: Exception | None = None
        asked = time.monotonic()
        async with self.pool.page() as pooled:
            lent = time.monotonic()
            run.page_wait_seconds += lent - asked
            page = pooled.page
            page.set_default_timeout(timeout_ms)
            page.set_default_navigation_timeout(timeout_ms)
            ctx = LookupContext(
                page=page,
                url=url,
                solver=self.solver,
                captcha=run.provide,
                state=run.state,
                timeout_ms=timeout_ms,
            )
            try:
                result = await source.lookup(ctx, number)
            except NeedToken as need:
                # The page is fine (it loaded the form): it goes back to the pool, reusable.
                run.page_seconds += time.monotonic() - lent
                return need
            except (CaptchaUnavailable, CaptchaError, NoTimeForSolve) as exc:
                deferred = exc
                result = LookupResult(LookupStatus.SITE_ERROR, error=str(exc))
            except Failed as failed:
                result = failed.result
            except PlaywrightTimeoutError as exc:
                pooled.broken = True  # it may still be waiting on the hung request
                result = LookupResult(
                    LookupStatus.SITE_ERROR, timed_out=True, error=f"page timeout: {_first_line(exc)}"
                )
            except PlaywrightError as exc:
                pooled.broken = True
                result = LookupResult(LookupStatus.SITE_ERROR, error=f"browser: {_first_line(exc)}")
            if page.url.startswith("chrome-error://"):
                # Left on Chromium's error page (a 5xx twice): its own reload of the failed URL
                # would interrupt the next lookup's navigation, so retire the page.
                pooled.broken = True
            run.page_seconds += time.monotonic() - lent
        if deferred is not None:
            raise deferred
        run.result = result
        return result


class _SourceRun:
    """One source's part of one lookup: the token in hand, the tokens submitted, its page state."""

    def __init__(self, client: RegistraduriaClient, name: str) -> None:
        self.client = client
        self.name = name
        self.token: Token | None = None
        self.submitted = 0
        self.state: dict = {}
        self.result: LookupResult | None = None
        # Where the time went (logged with the lookup): waiting for a token, for a page, on it.
        self.token_seconds = 0.0
        self.page_wait_seconds = 0.0
        self.page_seconds = 0.0

    async def provide(self, spec: CaptchaSpec) -> str:
        """The token for the captcha this page shows (``LookupContext.captcha``)."""
        client = self.client
        known = client.specs.get(self.name)
        if known != spec:
            if known is not None:
                logger.info("captcha of %s changed: %s -> %s", self.name, known.short(), spec.short())
            client.specs[self.name] = spec  # learned: the next token is solved for this one
        if client.config.token_first:
            token = self.token
            if token is None:
                raise NeedToken(spec, "none")
            if token.spec != spec:
                self.token = None
                client.tokens.waste(token, "sitekey_changed")
                raise NeedToken(spec, "sitekey_changed")
            if not client.tokens.fresh(token):
                self.token = None
                client.tokens.waste(token, "expired")
                raise NeedToken(spec, "expired")
        else:
            # The old order: solve now, with the page held (a kept token first, like the new one).
            token = await client.tokens.obtain(spec, client.config.url_for(self.name))
        self.token = None
        self.submitted += 1
        return token.value

    def settle(self) -> None:
        """Count submitted tokens that bought no answer; keep an unsubmitted one for later."""
        answered = self.result is not None and self.result.status in ANSWER_STATUSES
        for _ in range(self.submitted - (1 if answered else 0)):
            self.client.tokens._count("wasted:submission_failed")
        self.submitted = 0
        token, self.token = self.token, None
        if token is not None:
            self.client.tokens.give_back(token)
        timings = _timings.get()
        if timings is not None:
            timings[0] += self.token_seconds
            timings[1] += self.page_wait_seconds
            timings[2] += self.page_seconds


def lookup_sync(cedula: str, config: ClientConfig, *, source: str | None = None) -> LookupResult:
    """Run one lookup in a fresh event loop and close everything (for CLIs, not for workers)."""

    async def run() -> LookupResult:
        client = RegistraduriaClient(config)
        try:
            return await client.lookup(cedula, source=source)
        finally:
            await client.close()

    return asyncio.run(run())


def result_as_dict(result: LookupResult) -> dict:
    """The result as plain JSON-able data (status as its string value)."""
    data = {name: getattr(result, name) for name in result.__dataclass_fields__}
    data["status"] = result.status.value
    data["is_transient"] = result.is_transient
    return data


__all__ = [
    "DESKTOP_CHROME_UA",
    "ClientConfig",
    "RegistraduriaClient",
    "clean_cedula",
    "lookup_sync",
    "result_as_dict",
]
