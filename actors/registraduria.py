"""The worker process's Registraduría client, and the bridge from Django settings to it.

One ``RegistraduriaClient`` (one Chromium, a pool of warm pages) per worker
process, living on Dramatiq's AsyncIO event-loop thread; every worker thread
runs its lookup there as a coroutine, so N threads share one browser.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import fields

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from scrapers.client import ClientConfig
from scrapers.sources import SOURCES

log = logging.getLogger(__name__)

INTERRUPT_CHECK_SECONDS = 1.0


def build_client_config(**overrides) -> ClientConfig:
    """Return a :class:`ClientConfig` from settings; ``overrides`` (ClientConfig field names) win.

    Settings read: REGISTRADURIA_SOURCES (names and order), each source's URL setting
    (REGISTRADURIA_WSP_URL, REGISTRADURIA_CONSULTACENSO_URL, REGISTRADURIA_ELECCIONESCOLOMBIA_URL,
    named by ``scrapers.sources.SOURCES[name].url_setting``), CAPTCHA_SOLVER,
    TWOCAPTCHA_API_KEY, TWOCAPTCHA_SERVER, TWOCAPTCHA_POLLING_INTERVAL, SCRAPER_DEADLINE_SECONDS,
    CHROMIUM_PATH, BROWSER_PAGE_POOL_SIZE, BROWSER_PAGE_MAX_USES, BROWSER_JS_HEAP_MB, CAPTCHA_TOKEN_FIRST,
    CAPTCHA_TOKEN_MAX_AGE_SECONDS, CAPTCHA_SITEKEYS, CAPTCHA_HOURLY_BUDGET,
    CAPTCHA_NO_SLOT_BACKOFF_SECONDS, CAPTCHA_ACCOUNT_BACKOFF_SECONDS, CAPTCHA_EXPECTED_SOLVE_SECONDS,
    LOOKUP_PACER_MAX_WAIT_SECONDS.

    :raises TypeError: on an override that is not a ClientConfig field.
    :raises ImproperlyConfigured: on an unknown or repeated source name, or an enabled source
        without a URL.
    """
    known = {f.name for f in fields(ClientConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown ClientConfig field(s): {', '.join(sorted(unknown))}")
    sources = tuple(name.strip() for name in settings.REGISTRADURIA_SOURCES if name.strip())
    unknown_sources = [name for name in sources if name not in SOURCES]
    if unknown_sources or not sources or len(set(sources)) != len(sources):
        raise ImproperlyConfigured(
            f"REGISTRADURIA_SOURCES={','.join(sources)!r}: expected distinct names among {', '.join(SOURCES)}"
        )
    urls = {name: getattr(settings, source.url_setting, "") for name, source in SOURCES.items()}
    missing = [SOURCES[name].url_setting for name in sources if not urls[name]]
    if missing:
        raise ImproperlyConfigured(f"no URL for enabled source(s): {', '.join(missing)}")
    values = {
        "sources": sources,
        # Sources with a ClientConfig field of their own get their URL there (overridable by
        # name); later ones through source_urls.
        "source_urls": {name: url for name, url in urls.items() if f"{name}_url" not in known},
        "wsp_url": settings.REGISTRADURIA_WSP_URL,
        "consultacenso_url": settings.REGISTRADURIA_CONSULTACENSO_URL,
        "eleccionescolombia_url": settings.REGISTRADURIA_ELECCIONESCOLOMBIA_URL,
        "captcha_solver": settings.CAPTCHA_SOLVER,
        "twocaptcha_api_key": settings.TWOCAPTCHA_API_KEY,
        "twocaptcha_server": settings.TWOCAPTCHA_SERVER,
        "polling_interval": float(settings.TWOCAPTCHA_POLLING_INTERVAL),
        "deadline_seconds": float(settings.SCRAPER_DEADLINE_SECONDS),
        "chromium_path": settings.CHROMIUM_PATH,
        "pool_size": int(settings.BROWSER_PAGE_POOL_SIZE),
        "page_max_uses": int(settings.BROWSER_PAGE_MAX_USES),
        "js_heap_mb": int(settings.BROWSER_JS_HEAP_MB),
        "token_first": bool(settings.CAPTCHA_TOKEN_FIRST),
        "token_max_age": float(settings.CAPTCHA_TOKEN_MAX_AGE_SECONDS),
        "captcha_sitekeys": dict(settings.CAPTCHA_SITEKEYS),
        "captcha_hourly_budget": int(settings.CAPTCHA_HOURLY_BUDGET),
        "captcha_no_slot_backoff": float(settings.CAPTCHA_NO_SLOT_BACKOFF_SECONDS),
        "captcha_account_backoff": float(settings.CAPTCHA_ACCOUNT_BACKOFF_SECONDS),
        "captcha_expected_solve": float(settings.CAPTCHA_EXPECTED_SOLVE_SECONDS),
        "pacer_max_wait": float(settings.LOOKUP_PACER_MAX_WAIT_SECONDS),
    }
    values.update(overrides)
    return ClientConfig(**values)


def build_politeness_config():
    """A ``scrapers.politeness.PolitenessConfig`` from settings.

    Settings read: REDIS_URL, POLITENESS_KEY_PREFIX, REGISTRADURIA_RATE_LIMITS,
    REGISTRADURIA_BREAKER_* and SCRAPER_DEADLINE_SECONDS (how long a probe may take before
    another caller probes instead).

    :raises ImproperlyConfigured: on a rate limit for an unknown source or one ``limits``
        cannot read, or a breaker threshold out of range.
    """
    from scrapers.politeness import PolitenessConfig

    rates = {
        str(name).strip(): str(value).strip() for name, value in settings.REGISTRADURIA_RATE_LIMITS.items()
    }
    unknown = sorted(name for name in rates if name not in SOURCES)
    if unknown:
        raise ImproperlyConfigured(
            f"REGISTRADURIA_RATE_LIMITS names unknown source(s) {', '.join(unknown)}: "
            f"expected {', '.join(SOURCES)}"
        )
    ratio = float(settings.REGISTRADURIA_BREAKER_FAILURE_RATIO)
    if not 0 < ratio <= 1 or settings.REGISTRADURIA_BREAKER_MIN_FAILURES < 1:
        raise ImproperlyConfigured(
            "REGISTRADURIA_BREAKER_FAILURE_RATIO must be in (0, 1] and REGISTRADURIA_BREAKER_MIN_FAILURES ≥ 1"
        )
    if (
        settings.REGISTRADURIA_BREAKER_WINDOW_SECONDS <= 0
        or settings.REGISTRADURIA_BREAKER_COOLOFF_SECONDS <= 0
    ):
        raise ImproperlyConfigured(
            "REGISTRADURIA_BREAKER_WINDOW_SECONDS and REGISTRADURIA_BREAKER_COOLOFF_SECONDS must be positive"
        )
    config = PolitenessConfig(
        redis_url=settings.REDIS_URL,
        key_prefix=settings.POLITENESS_KEY_PREFIX,
        rate_limits=rates,
        breaker_enabled=bool(settings.REGISTRADURIA_BREAKER_ENABLED),
        window_seconds=float(settings.REGISTRADURIA_BREAKER_WINDOW_SECONDS),
        min_failures=int(settings.REGISTRADURIA_BREAKER_MIN_FAILURES),
        failure_ratio=ratio,
        cooloff_seconds=float(settings.REGISTRADURIA_BREAKER_COOLOFF_SECONDS),
        probe_timeout_seconds=float(settings.SCRAPER_DEADLINE_SECONDS) + 5,
    )
    try:
        config.rate_items()
    except ValueError as exc:
        raise ImproperlyConfigured(f"REGISTRADURIA_RATE_LIMITS: {exc}") from None
    return config


_client = None
_client_lock = threading.Lock()


def get_client():
    """Return this process's client, creating it on first use."""
    global _client
    with _client_lock:
        if _client is None:
            from actors import metrics
            from actors.captcha_budget import build_gate
            from scrapers.captcha import build_solver
            from scrapers.client import RegistraduriaClient
            from scrapers.politeness import Politeness
            from scrapers.tokens import CaptchaCounts

            config = build_client_config()
            solver = build_solver(
                config.captcha_solver,
                api_key=config.twocaptcha_api_key,
                server=config.twocaptcha_server,
                polling_interval=config.polling_interval,
            )
            _client = RegistraduriaClient(
                config,
                solver=metrics.InstrumentedSolver(solver),
                on_pages_in_use=metrics.pages_in_use_changed,
                # The fleet's hourly budget and account-error pause live on Redis.
                gate=build_gate(),
                counts=CaptchaCounts(on_event=metrics.captcha_event),
                politeness=Politeness(build_politeness_config(), on_event=metrics.politeness_event),
            )
        return _client


def lookup_in_worker(cedula: str):
    """Run one lookup on the worker's event loop and wait for its LookupResult.

    A time limit or shutdown interrupting the waiting thread cancels the
    coroutine, which hands its page back to the pool (and its captcha solve, if
    one is running, to the token stock). Raises ``scrapers.tokens.CaptchaUnavailable``
    when no captcha may be bought now (budget spent, account refused): the caller
    delays the message.
    """
    from actors import metrics

    # The lookup waits for seconds (the fleet's rate limit, the captcha, the site): it must not
    # hold this thread's database connection meanwhile. The record step opens a fresh one.
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
    started = time.monotonic()
    coroutine = get_client().lookup(cedula, raise_unavailable=True)
    loop_thread = get_event_loop_thread()
    # Dramatiq wakes every waiting thread every 0.1 s to let a time limit through; with
    # hundreds of threads waiting on captchas that is thousands of wake-ups a second fighting
    # the event loop for the GIL. One second is plenty for a 120 s time limit.
    loop_thread.interrupt_check_ival = max(loop_thread.interrupt_check_ival, INTERRUPT_CHECK_SECONDS)
    result = loop_thread.run_coroutine(coroutine)
    metrics.observe_lookup(result, seconds=time.monotonic() - started)
    return result


class BrowserLifecycle(Middleware):
    """Close the browser cleanly when the worker shuts down.

    ``after_worker_shutdown`` runs once the worker threads have finished their
    in-flight lookups (``before_worker_shutdown`` would pull the browser from
    under them). Listed after ``AsyncIO`` in the middleware: "after" hooks run in
    reverse order, so this runs while AsyncIO's event loop is still alive.
    """

    def after_worker_shutdown(self, broker, worker) -> None:
        global _client
        with _client_lock:
            client, _client = _client, None
        if client is None:
            return
        try:
            get_event_loop_thread().run_coroutine(client.close())
            gate = getattr(client, "_gate", None)
            if gate is not None and hasattr(gate, "aclose"):
                get_event_loop_thread().run_coroutine(gate.aclose())
            log.info("browser closed for worker shutdown")
        except Exception:  # shutdown must go on whatever the browser does
            log.exception("closing the browser at shutdown failed")
