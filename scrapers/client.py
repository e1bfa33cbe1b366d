"""The Registraduría client: a cédula in, a :class:`LookupResult` out, through a real browser.

One :class:`RegistraduriaClient` per process, on one asyncio event loop, shared by every concurrent
lookup: it owns one Chromium and a pool of warm pages (``scrapers.browser``) and a captcha solver
(``scrapers.captcha``). Each lookup drives the real page the way a person's browser would: load the
form (fresh nonce + PHPSESSID), solve the reCAPTCHA, fill the form, click, and parse the POST reply the
page's own JS receives. Sources (wsp, then consultacenso) are tried in order when one is blocked or
failing. Every lookup ends within ``deadline_seconds`` with a typed result; it never raises (except
``asyncio.CancelledError``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page, Response
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from .browser import DESKTOP_CHROME_UA, BrowserPool
from .captcha import CaptchaError, CaptchaSolver, build_solver
from .chromium import ChromiumNotFound
from .masking import mask_cedula
from .registraduria import LookupResult, LookupStatus, parse_consultacenso, parse_response
from .text import cap_raw, clean_cedula, is_waf_page

logger = logging.getLogger(__name__)

SOURCES = ("wsp", "consultacenso")
FALLBACK_STATUSES = frozenset({LookupStatus.BLOCKED, LookupStatus.SITE_ERROR})

# One round trip for what the page says about itself; re-read on every attempt.
_READ_FORM_JS = """() => {
    const box = document.querySelector('.g-recaptcha[data-sitekey]');
    const nonce = document.querySelector('#token');
    return {sitekey: box ? box.getAttribute('data-sitekey') : '', nonce: nonce ? nonce.value : ''};
}"""

_HAS_ELECTIONS_JS = "() => document.querySelectorAll('#eleccion option').length > 0"
_ELECTIONS_OR_MESSAGE_JS = """() => document.querySelectorAll('#eleccion option').length > 0
    || (document.querySelector('#mensaje') || {}).textContent"""

_SET_TOKEN_JS = """(token) => {
    const area = document.querySelector('#g-recaptcha-response');
    area.value = token;
    area.innerHTML = token;
}"""


@dataclass
class ClientConfig:
    """Everything the client needs; build it from Django settings with ``actors.registraduria``.

    ``sources`` are tried in order (the next one only when the previous answered BLOCKED or
    SITE_ERROR). ``deadline_seconds`` bounds a whole lookup, waiting for a free page included.
    ``user_agent=""`` keeps Chromium's own, which the site's WAF blocks (useful only in tests).
    """

    wsp_url: str = "http://127.0.0.1:8001/censo/consultar/"
    consultacenso_url: str = "http://127.0.0.1:8001/consultacenso/"
    sources: tuple[str, ...] = SOURCES
    captcha_solver: str = "2captcha"
    twocaptcha_api_key: str = ""
    twocaptcha_server: str = "http://127.0.0.1:8001"
    polling_interval: float = 5.0
    deadline_seconds: float = 60.0
    chromium_path: str = ""
    pool_size: int = 8
    page_max_uses: int = 200
    user_agent: str = DESKTOP_CHROME_UA

    def __repr__(self) -> str:
        # Dataclass repr would print the API key.
        fields = {k: v for k, v in vars(self).items() if k != "twocaptcha_api_key"}
        return f"ClientConfig({', '.join(f'{k}={v!r}' for k, v in fields.items())}, twocaptcha_api_key=***)"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _same_path(url: str, target: str) -> bool:
    return urlsplit(url).path.rstrip("/") == urlsplit(target).path.rstrip("/")


class _Failed(Exception):
    """A lookup step ended with a result (blocked, GET 500 twice, ...): carry it out."""

    def __init__(self, result: LookupResult) -> None:
        super().__init__(result.error)
        self.result = result


class RegistraduriaClient:
    """One per process. Async; safe for many concurrent ``lookup()`` calls on ONE event loop.

    Use as ``async with RegistraduriaClient(config) as client`` or call ``close()`` yourself.
    ``pool`` exposes the browser pool's counters (``pool.stats``).
    """

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.pool = BrowserPool(
            chromium_path=config.chromium_path,
            size=config.pool_size,
            max_uses=config.page_max_uses,
            user_agent=config.user_agent,
        )
        self._solver: CaptchaSolver | None = None

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

    async def start(self) -> None:
        """Launch the browser and open the pool's pages now (optional: ``lookup()`` starts lazily)."""
        await self.pool.start(warm=True)

    async def close(self) -> None:
        """Close pages, contexts, the browser, the driver and the solver's connections. Idempotent."""
        await self.pool.close()
        solver, self._solver = self._solver, None
        if solver is not None:
            await solver.aclose()

    async def lookup(self, cedula: str, *, source: str | None = None) -> LookupResult:
        """Look ``cedula`` up; ``source`` forces one source instead of ``config.sources`` in order.

        Never raises (except ``asyncio.CancelledError``): bad input gives UNKNOWN with ``error`` set,
        the deadline gives SITE_ERROR with ``timed_out=True``.
        """
        started = time.monotonic()
        number = clean_cedula(cedula)
        masked = mask_cedula(number or cedula)
        if number is None:
            result = LookupResult(LookupStatus.UNKNOWN, error="invalid cédula: expected 3 to 10 digits")
        elif source is not None and source not in SOURCES:
            result = LookupResult(LookupStatus.UNKNOWN, error=f"unknown source {source!r}")
        else:
            sources = (source,) if source else tuple(self.config.sources)
            result = await self._lookup_within_deadline(number, sources, started)
        error = result.error.replace(number, masked) if number else result.error
        logger.info(
            "lookup %s status=%s source=%s duration=%.2fs%s%s",
            masked,
            result.status.value,
            result.source or "-",
            time.monotonic() - started,
            " timed_out" if result.timed_out else "",
            f" error={error!r}" if error else "",
        )
        return result

    async def _lookup_within_deadline(
        self, number: str, sources: tuple[str, ...], started: float
    ) -> LookupResult:
        deadline = started + self.config.deadline_seconds
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
        result = LookupResult(LookupStatus.SITE_ERROR, error="no source configured")
        for index, name in enumerate(sources):
            tried.append(name)
            # Leave the later sources a share of the time, so a hung primary still lets the fallback answer.
            share = (deadline - time.monotonic()) / (len(sources) - index)
            result = await self._lookup_source(name, number, share)
            if result.status not in FALLBACK_STATUSES:
                return result
            errors.append(f"{name}: {result.error or result.status.value}")
        if len(errors) > 1:
            result = replace(result, error="; ".join(errors))
        return result

    async def _lookup_source(self, name: str, number: str, budget: float) -> LookupResult:
        async with self.pool.page() as pooled:
            page = pooled.page
            # Playwright's own timeouts end before the lookup deadline, so a hang becomes a page
            # timeout we can report (and fall back from) rather than a cancelled task.
            timeout_ms = max(1000.0, budget * 1000 - 250)
            page.set_default_timeout(timeout_ms)
            page.set_default_navigation_timeout(timeout_ms)
            try:
                if name == "wsp":
                    result = await self._lookup_wsp(page, number)
                else:
                    result = await self._lookup_consultacenso(page, number)
            except _Failed as failed:
                result = failed.result
            except CaptchaError as exc:
                status = LookupStatus.CAPTCHA_REJECTED if exc.rejected else LookupStatus.SITE_ERROR
                result = LookupResult(status, error=str(exc))
            except PlaywrightTimeoutError as exc:
                pooled.broken = True  # it may still be waiting on the hung request
                result = LookupResult(
                    LookupStatus.SITE_ERROR, timed_out=True, error=f"page timeout: {_first_line(exc)}"
                )
            except PlaywrightError as exc:
                pooled.broken = True
                result = LookupResult(LookupStatus.SITE_ERROR, error=f"browser: {_first_line(exc)}")
            return replace(result, source=name)

    async def _load(self, page: Page, url: str, ready_selector: str) -> None:
        """Open ``url`` in ``page``; retry a bare 5xx once; raise ``_Failed`` on WAF or a second error."""
        status = 0
        for attempt in (1, 2):
            try:
                response = await self._goto(page, url)
            except PlaywrightError as exc:
                # Chromium turns a 5xx with an empty body into a navigation error.
                if "ERR_HTTP_RESPONSE_CODE_FAILURE" not in str(exc):
                    raise
                response, status, body = None, 500, ""
                # Let its error page land, or it would interrupt our retry.
                with contextlib.suppress(PlaywrightError):
                    await page.wait_for_url("chrome-error://**", wait_until="load", timeout=2000)
            else:
                status = response.status if response is not None else 0
                if status < 400 and await page.locator(ready_selector).count() > 0:
                    return
                body = await _text(response)
            if is_waf_page(body):
                raise _Failed(
                    LookupResult(LookupStatus.BLOCKED, raw=cap_raw(body), error=f"WAF page on GET ({status})")
                )
            if status < 400:
                raise _Failed(
                    LookupResult(LookupStatus.SITE_ERROR, raw=cap_raw(body), error="page without the form")
                )
            if attempt == 1:
                logger.info("GET %s answered %s; retrying once", urlsplit(url).path, status)
        raise _Failed(LookupResult(LookupStatus.SITE_ERROR, error=f"GET {status} twice"))

    async def _goto(self, page: Page, url: str) -> Response | None:
        try:
            return await page.goto(url, wait_until="load")
        except PlaywrightError as exc:
            # A navigation of the page's own (its error page after a 5xx, or its JS reloading
            # itself) may still be landing; ours wins on the second try.
            if "interrupted by another navigation" not in str(exc):
                raise
            return await page.goto(url, wait_until="load")

    async def _submit(
        self, page: Page, button: str, is_reply: Callable[[Response], bool]
    ) -> tuple[Response, str | None, bool]:
        """Click ``button`` like a person and catch the reply the page's JS receives.

        Returns (response, body or None when the browser dropped it, whether the page navigated
        right after).
        """
        navigated = asyncio.Event()

        def on_navigation(frame: Frame) -> None:
            if frame == page.main_frame:
                navigated.set()

        page.on("framenavigated", on_navigation)
        try:
            async with page.expect_response(is_reply) as reply:
                await page.click(button)
            response = await reply.value
            body = await _body(response)
            if body is None:
                # The wsp page's JS reloads itself on {"reload": true} and only then; the reload
                # may discard the reply before we read it. A reload right after the POST says it.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):
                        await navigated.wait()
        finally:
            page.remove_listener("framenavigated", on_navigation)
        return response, body, navigated.is_set()

    async def _read_form(self, page: Page) -> tuple[str, str]:
        """Wait for the captcha widget, then return (sitekey, nonce) as this page load has them."""
        await page.wait_for_selector("#g-recaptcha-response", state="attached")
        form = await page.evaluate(_READ_FORM_JS)
        return form["sitekey"] or "", form["nonce"] or ""

    async def _lookup_wsp(self, page: Page, number: str) -> LookupResult:
        url = self.config.wsp_url
        for attempt in (1, 2):
            await self._load(page, url, "#nuip")
            # Re-read on every attempt: the nonce is per page load, and the site may rotate its key.
            sitekey, nonce = await self._read_form(page)
            if not nonce:
                return LookupResult(LookupStatus.SITE_ERROR, error="page without a nonce (#token)")
            token = await self.solver.solve_recaptcha(sitekey=sitekey, page_url=page.url)
            await page.fill("#nuip", number)
            await page.select_option("#tipo", "-1")
            await page.evaluate(_SET_TOKEN_JS, token)
            response, body, navigated = await self._submit(
                page, "#enviar", lambda r: r.request.method == "POST" and _same_path(r.url, url)
            )
            if body is None and navigated:
                result = LookupResult(
                    LookupStatus.SESSION_EXPIRED, error="page reloaded itself after the POST"
                )
            elif body is None:
                result = LookupResult(
                    LookupStatus.SITE_ERROR, error=f"POST {response.status}: body unavailable"
                )
            else:
                result = parse_response(body)
            if response.status >= 500 and result.status == LookupStatus.UNKNOWN:
                result = replace(result, status=LookupStatus.SITE_ERROR, error=f"POST {response.status}")
            if result.status == LookupStatus.SESSION_EXPIRED and attempt == 1:
                # The page's JS reloads itself on this reply; we load afresh (new nonce, new cookie).
                logger.info("session expired; reloading once")
                continue
            return result
        return result

    async def _lookup_consultacenso(self, page: Page, number: str) -> LookupResult:
        url = self.config.consultacenso_url
        await self._load(page, url, "#documento")
        sitekey, _ = await self._read_form(page)
        # The page fills its election list from /back/api/elecciones; it says so when that fails.
        await page.wait_for_function(_ELECTIONS_OR_MESSAGE_JS)
        if not await page.evaluate(_HAS_ELECTIONS_JS):
            message = (await page.text_content("#mensaje") or "").strip()
            return LookupResult(LookupStatus.SITE_ERROR, message=message, error="elections did not load")
        token = await self.solver.solve_recaptcha(sitekey=sitekey, page_url=page.url)
        await page.fill("#documento", number)
        await page.evaluate(_SET_TOKEN_JS, token)
        response, body, _ = await self._submit(
            page,
            "#consultar",
            lambda r: r.request.method == "POST" and urlsplit(r.url).path.endswith("/back/api/consulta"),
        )
        if body is None:
            return LookupResult(LookupStatus.SITE_ERROR, error=f"POST {response.status}: body unavailable")
        result = parse_consultacenso(body)
        if response.status >= 500 and result.status == LookupStatus.UNKNOWN:
            result = replace(result, status=LookupStatus.SITE_ERROR, error=f"POST {response.status}")
        return result


async def _body(response: Response) -> str | None:
    """The reply's text, or None when the browser no longer has it."""
    try:
        return await response.text()
    except PlaywrightError:
        return None


async def _text(response: Response | None) -> str:
    if response is None:
        return ""
    try:
        return await response.text()
    except PlaywrightError:
        return ""


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
