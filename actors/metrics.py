"""The worker's own Prometheus metrics, next to dramatiq's (``dramatiq_*``).

dramatiq's ``Prometheus`` middleware serves every worker process's metrics on
one port (``dramatiq_prom_port``, 9191) from prometheus_client's multiprocess
files (``dramatiq_prom_db``). prometheus_client picks multiprocess storage when
it is first imported, and Django imports it at start-up (django-prometheus), so
``PROMETHEUS_MULTIPROC_DIR`` must already be in the environment when the worker
starts: ``compose/production/worker/start`` sets both. ``MetricsGuard`` says so
in one line when it is not, instead of exporting nothing in silence.

The circuit breakers' state is fleet-wide and lives on Redis (``scrapers.politeness``), so it
is read there at scrape time by :class:`BreakerCollector`, which the web's ``/metrics/queues``
serves (one answer for the whole fleet, never a stale per-process copy). The workers count what
they saw happen: transitions and rate-limit waits.

The captcha economy (docs/operations.md#captcha-keys-budget-and-cost): solves
(``paginamadre_captcha_solves_total``), tokens reused or wasted by reason
(``paginamadre_captcha_tokens_total``), solves not bought, solves refused by the
budget or the account (``paginamadre_captcha_unavailable_total``) and answers
(``paginamadre_lookup_answers_total``).
"""

from __future__ import annotations

import logging
import os
import time

from dramatiq.middleware import Middleware
from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

LOOKUPS = Counter(
    "paginamadre_lookups_total",
    "Lookups by the source that answered and the status it gave (one per attempt).",
    ["source", "status"],
)
LOOKUP_OUTCOMES = Counter(
    "paginamadre_lookup_outcomes_total",
    "What each attempt did to the member's row: done, retry, exhausted, lost_lease, deferred, skipped.",
    ["queue", "outcome"],
)
LOOKUP_DURATION = Histogram(
    "paginamadre_lookup_duration_seconds",
    "Wall time of one lookup in the browser, waiting for a page and the captcha included.",
    ["source"],
    buckets=(0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 90, 120),
)
CAPTCHA_SOLVES = Counter(
    "paginamadre_captcha_solves_total",
    "Captcha solve requests by reCAPTCHA version and result: ok, rejected (the service refused it) or error.",
    ["version", "result"],
)
CAPTCHA_SOLVE_DURATION = Histogram(
    "paginamadre_captcha_solve_seconds",
    "Time from asking the captcha service to receiving a token (successful solves).",
    buckets=(0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 180),
)
CAPTCHA_TOKENS = Counter(
    "paginamadre_captcha_tokens_total",
    "What happened to captcha tokens: reused (a kept token served another attempt) or "
    "wasted (paid for, never bought an answer) with the reason: expired, sitekey_changed, "
    "submission_failed, closed.",
    ["event", "reason"],
)
CAPTCHA_SKIPPED = Counter(
    "paginamadre_captcha_solves_skipped_total",
    "Solves not bought because the lookup could not have used them (deadline too close).",
    ["reason"],
)
CAPTCHA_UNAVAILABLE = Counter(
    "paginamadre_captcha_unavailable_total",
    "Solves refused by the fleet's gate or the service's account errors (BUDGET, "
    "ERROR_ZERO_BALANCE, ERROR_NO_SLOT_AVAILABLE, ERROR_KEY_DOES_NOT_EXIST, ...).",
    ["code"],
)
LOOKUP_ANSWERS = Counter(
    "paginamadre_lookup_answers_total",
    "Lookups that ended with an answer (found, not found, cancelled, pending): the denominator "
    "of solves per answer.",
)
PAGES_IN_USE = Gauge(
    "paginamadre_browser_pages_in_use",
    "Warm browser pages lent to a lookup right now, summed over live worker processes.",
    multiprocess_mode="livesum",
)
PAGES_CAPACITY = Gauge(
    "paginamadre_browser_pages_capacity",
    "Browser pages a worker process may use at once (BROWSER_PAGE_POOL_SIZE), summed.",
    multiprocess_mode="livesum",
)


BREAKER_TRANSITIONS = Counter(
    "paginamadre_breaker_transitions_total",
    "Circuit breaker transitions this worker made happen, by source and the state entered.",
    ["source", "state"],
)
RATE_LIMIT_WAIT = Histogram(
    "paginamadre_rate_limit_wait_seconds",
    "Time a lookup waited for the fleet-wide rate limit of a source (no page, no captcha held).",
    ["source"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30),
)
POLITENESS_STORE_DOWN = Counter(
    "paginamadre_politeness_store_down_total",
    "Times this worker found Redis unreachable and went on without rate limits and breakers.",
)

# paginamadre_breaker_state's values: a number per state, so "> 0" means "not closed".
BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def politeness_event(kind: str, source: str, value: object) -> None:
    """``scrapers.politeness.Politeness``'s ``on_event`` hook."""
    if kind == "transition":
        BREAKER_TRANSITIONS.labels(source=source, state=str(value)).inc()
    elif kind == "wait":
        RATE_LIMIT_WAIT.labels(source=source).observe(float(value))
    elif kind == "redis" and value == "down":
        POLITENESS_STORE_DOWN.inc()


class BreakerCollector:
    """``paginamadre_breaker_state{source}`` (0 closed, 1 half-open, 2 open),
    ``paginamadre_breaker_reopen_seconds{source}`` and ``paginamadre_politeness_store_up``,
    read from Redis at scrape time (``site_config.metrics`` serves them)."""

    def collect(self):
        from django.conf import settings
        from prometheus_client.core import GaugeMetricFamily
        from redis import Redis

        from scrapers.politeness import REDIS_TIMEOUT_SECONDS, read_breakers

        state = GaugeMetricFamily(
            "paginamadre_breaker_state",
            "Circuit breaker of each source, fleet-wide: 0 closed, 1 half-open (probing), 2 open.",
            labels=["source"],
        )
        reopen = GaugeMetricFamily(
            "paginamadre_breaker_reopen_seconds",
            "Seconds until an open breaker lets its probe through (0 when closed).",
            labels=["source"],
        )
        up = GaugeMetricFamily(
            "paginamadre_politeness_store_up",
            "1 when Redis (rate limits, breakers) answered this scrape; 0 means the fleet runs unthrottled.",
        )
        client = Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        try:
            sources = [name.strip() for name in settings.REGISTRADURIA_SOURCES if name.strip()]
            for view in read_breakers(client, key_prefix=settings.POLITENESS_KEY_PREFIX, sources=sources):
                state.add_metric([view.source], BREAKER_STATE_VALUES[view.state])
                reopen.add_metric([view.source], view.seconds_left)
            up.add_metric([], 1)
        except Exception as exc:  # noqa: BLE001 - a scrape reports the store down, it never fails
            log.warning("breaker metrics: Redis unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
        finally:
            client.close()
        yield from (state, reopen, up)


def observe_lookup(result, *, seconds: float) -> None:
    """Count one finished lookup (a ``scrapers.registraduria.LookupResult``); one that was not
    sent (politeness deferred it) counts as ``deferred``, not as a failure."""
    if getattr(result, "deferred", ""):
        LOOKUPS.labels(source="none", status="deferred").inc()
        return
    status = "timeout" if result.timed_out else result.status.value
    source = result.source or "none"
    LOOKUPS.labels(source=source, status=status).inc()
    LOOKUP_DURATION.labels(source=source).observe(seconds)


def observe_outcome(*, queue: str, outcome: str) -> None:
    from django.conf import settings

    LOOKUP_OUTCOMES.labels(queue=queue.removeprefix(settings.LOOKUP_QUEUE_PREFIX), outcome=outcome).inc()


class InstrumentedSolver:
    """Wraps a ``scrapers.captcha`` solver to count solves and time them."""

    def __init__(self, solver) -> None:
        self._solver = solver

    async def solve_recaptcha(self, *, sitekey: str, page_url: str, version: str = "v2", **options) -> str:
        """The wrapped solver's ``solve_recaptcha``; every option (v3 action, score) passes through."""
        from scrapers.captcha import CaptchaError

        started = time.monotonic()
        try:
            token = await self._solver.solve_recaptcha(
                sitekey=sitekey, page_url=page_url, version=version, **options
            )
        except CaptchaError as exc:
            CAPTCHA_SOLVES.labels(version=version, result="rejected" if exc.rejected else "error").inc()
            raise
        CAPTCHA_SOLVES.labels(version=version, result="ok").inc()
        CAPTCHA_SOLVE_DURATION.observe(time.monotonic() - started)
        return token

    async def aclose(self) -> None:
        await self._solver.aclose()


def captcha_event(event: str) -> None:
    """``scrapers.tokens.CaptchaCounts`` hook: one event of the captcha economy.

    Solves themselves are counted by ``InstrumentedSolver`` (``paginamadre_captcha_solves_total``).
    """
    kind, _, reason = event.partition(":")
    if kind in ("wasted", "reused"):
        CAPTCHA_TOKENS.labels(event=kind, reason=reason or "-").inc()
    elif kind == "skipped":
        CAPTCHA_SKIPPED.labels(reason=reason).inc()
    elif kind == "unavailable":
        CAPTCHA_UNAVAILABLE.labels(code=reason).inc()
    elif kind == "answer":
        LOOKUP_ANSWERS.inc()


def pages_in_use_changed(in_use: int) -> None:
    PAGES_IN_USE.set(in_use)


class MetricsGuard(Middleware):
    """Log once per process when the metrics would be lost (no multiprocess directory)."""

    def after_process_boot(self, broker) -> None:
        from django.conf import settings

        PAGES_CAPACITY.set(settings.BROWSER_PAGE_POOL_SIZE)
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            log.error(
                "worker metrics are not exported: start the worker with PROMETHEUS_MULTIPROC_DIR "
                "and dramatiq_prom_db set to the same empty directory (compose/production/worker/start does)"
            )
