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
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from scrapers.client import ClientConfig
from scrapers.sources import SOURCES

log = logging.getLogger(__name__)


def build_client_config(**overrides) -> ClientConfig:
    """Return a :class:`ClientConfig` from settings; ``overrides`` (ClientConfig field names) win.

    Settings read: REGISTRADURIA_SOURCES (names and order), each source's URL setting
    (REGISTRADURIA_WSP_URL, REGISTRADURIA_CONSULTACENSO_URL, REGISTRADURIA_ELECCIONESCOLOMBIA_URL,
    named by ``scrapers.sources.SOURCES[name].url_setting``), CAPTCHA_SOLVER,
    TWOCAPTCHA_API_KEY, TWOCAPTCHA_SERVER, TWOCAPTCHA_POLLING_INTERVAL, SCRAPER_DEADLINE_SECONDS,
    CHROMIUM_PATH, BROWSER_PAGE_POOL_SIZE, BROWSER_PAGE_MAX_USES, CAPTCHA_TOKEN_FIRST,
    CAPTCHA_TOKEN_MAX_AGE_SECONDS, CAPTCHA_SITEKEYS, CAPTCHA_HOURLY_BUDGET,
    CAPTCHA_NO_SLOT_BACKOFF_SECONDS, CAPTCHA_ACCOUNT_BACKOFF_SECONDS.

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
        "token_first": bool(settings.CAPTCHA_TOKEN_FIRST),
        "token_max_age": float(settings.CAPTCHA_TOKEN_MAX_AGE_SECONDS),
        "captcha_sitekeys": dict(settings.CAPTCHA_SITEKEYS),
        "captcha_hourly_budget": int(settings.CAPTCHA_HOURLY_BUDGET),
        "captcha_no_slot_backoff": float(settings.CAPTCHA_NO_SLOT_BACKOFF_SECONDS),
        "captcha_account_backoff": float(settings.CAPTCHA_ACCOUNT_BACKOFF_SECONDS),
    }
    values.update(overrides)
    return ClientConfig(**values)


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

    started = time.monotonic()
    coroutine = get_client().lookup(cedula, raise_unavailable=True)
    result = get_event_loop_thread().run_coroutine(coroutine)
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
