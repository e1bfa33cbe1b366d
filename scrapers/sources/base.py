"""What every source shares: the :class:`Source` record and the page-driving steps all of them use.

A source is one public page of the Registraduría that answers "where does cédula N vote". Each
module in ``scrapers.sources`` drives its page in a real browser and parses the reply its page's
own JS receives; the client (``scrapers.client``) only picks the page, the order and the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page, Response
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from ..captcha import CaptchaSolver
from ..registraduria import LookupResult, LookupStatus
from ..text import cap_raw, is_waf_page
from ..tokens import CaptchaSpec

logger = logging.getLogger("scrapers.client")

DEFAULT_TIMEOUT_MS = 30_000.0  # Playwright's own default

# The page is driven with page.evaluate() in its main world and with raw mouse and keyboard input,
# not with Playwright's selector actions (locator.count, wait_for_selector, fill, select_option,
# click). Each of those runs in Playwright's injected script, which Chromium compiles again in
# every new document: measured on the wsp form, the first such action after a navigation cost
# ~33 ms of browser CPU and each further one ~15 ms, while an evaluate costs ~3 ms. A lookup is
# one navigation, so those actions were a third of its CPU (docs/stack.md#playwright). The
# helpers below keep what we relied on from them: waits with a timeout, trusted clicks and typing,
# and a fall back to the Playwright action when the fast path cannot apply (no such element,
# covered button, a Playwright-only selector).

# Polls ``test(arg)`` in the page until it returns something truthy, or null at the timeout. It is
# composed in Python (never eval() in the page: a site's CSP may forbid it; evaluate is exempt).
_UNTIL_JS = """async ([arg, timeoutMs]) => {
    const test = %s;
    const until = performance.now() + timeoutMs;
    for (;;) {
        const value = test(arg);
        if (value) { return {value}; }
        if (performance.now() >= until) { return null; }
        await new Promise((resolve) => setTimeout(resolve, 25));
    }
}"""
EXISTS_JS = "(selector) => !!document.querySelector(selector)"

# What the page says about itself, once the captcha widget is there; re-read on every attempt.
_READ_FORM_JS = """() => {
    if (!document.querySelector('#g-recaptcha-response')) { return null; }
    const box = document.querySelector('.g-recaptcha[data-sitekey]');
    const nonce = document.querySelector('#token');
    return {sitekey: box ? box.getAttribute('data-sitekey') : '', nonce: nonce ? nonce.value : ''};
}"""

# Focus a text field and select its text, so typed text replaces it (what fill() does).
_FOCUS_JS = """(selector) => {
    const el = document.querySelector(selector);
    if (!el || el.disabled || el.readOnly || typeof el.select !== 'function') { return false; }
    el.focus();
    el.select();
    return document.activeElement === el;
}"""

# select_option's own events: the option chosen, then input and change.
_CHOOSE_JS = """([selector, value]) => {
    const el = document.querySelector(selector);
    if (!el || el.tagName !== 'SELECT' || el.disabled) { return false; }
    if (![...el.options].some((option) => option.value === value)) { return false; }
    el.value = value;
    el.dispatchEvent(new Event('input', {bubbles: true}));
    el.dispatchEvent(new Event('change', {bubbles: true}));
    return true;
}"""

# Where a person would click: the middle of the element, scrolled into view, and only if nothing
# covers it there. null means "let Playwright's click wait and report" (also for a selector that
# is not CSS, like :has-text()).
_CLICK_POINT_JS = """(selector) => {
    let el;
    try { el = document.querySelector(selector); } catch (error) { return null; }
    if (!el || el.disabled) { return null; }
    let box = el.getBoundingClientRect();
    if (box.top < 0 || box.left < 0 || box.bottom > innerHeight || box.right > innerWidth) {
        el.scrollIntoView({block: 'center', inline: 'center'});
        box = el.getBoundingClientRect();
    }
    if (!box.width || !box.height) { return null; }
    const x = box.left + box.width / 2;
    const y = box.top + box.height / 2;
    const hit = document.elementFromPoint(x, y);
    return hit && (hit === el || el.contains(hit)) ? {x, y} : null;
}"""

_SET_TOKEN_JS = """(token) => {
    const area = document.querySelector('#g-recaptcha-response');
    area.value = token;
    area.innerHTML = token;
}"""


class Failed(Exception):
    """A lookup step ended with a result (blocked, GET 500 twice, ...): carry it out."""

    def __init__(self, result: LookupResult) -> None:
        super().__init__(result.error)
        self.result = result


class NeedToken(Exception):
    """The page asks for a captcha the client has no usable token for (token-first order).

    Raised from :meth:`LookupContext.token`; the client gives the page back, gets a token for
    ``spec`` with no page held, and runs the source again on a fresh page. ``reason``: ``none``
    (no token yet: the first lookup learns the spec), ``sitekey_changed`` or ``expired``.
    """

    def __init__(self, spec: CaptchaSpec, reason: str) -> None:
        super().__init__(f"need a captcha token for {spec.short()} ({reason})")
        self.spec = spec
        self.reason = reason


@dataclass
class LookupContext:
    """What a source's ``lookup`` gets for one attempt: a pooled page, its URL and its captcha.

    ``captcha`` hands out the token for the spec the page shows (the client's token-first
    order: a token solved before the page was taken, or :class:`NeedToken`); without it the
    source solves through ``solver`` while it holds the page (the old order). ``state`` lives as
    long as the lookup of this source, across pages (wsp counts its session retry there).
    """

    page: Page
    url: str
    solver: CaptchaSolver | None = None
    captcha: Callable[[CaptchaSpec], Awaitable[str]] | None = None
    state: dict = field(default_factory=dict)
    # The page's default timeout, for the waits that run in the page itself (see until()).
    timeout_ms: float = DEFAULT_TIMEOUT_MS

    async def token(self, spec: CaptchaSpec) -> str:
        """The token to submit for ``spec`` (may raise :class:`NeedToken` or a captcha error)."""
        if self.captcha is not None:
            return await self.captcha(spec)
        if self.solver is None:
            raise RuntimeError("LookupContext without a captcha provider or a solver")
        return await self.solver.solve_recaptcha(
            sitekey=spec.sitekey,
            page_url=self.page.url,
            version=spec.version,
            action=spec.action,
            min_score=spec.min_score,
        )


@dataclass(frozen=True)
class Source:
    """One source: its name (as in ``REGISTRADURIA_SOURCES``), the Django setting holding its
    URL, the replica URL path it has by default, the browser lookup and the pure reply parser.

    ``captcha`` is the captcha its page showed when we last looked (docs/registraduria.md), in
    ``CAPTCHA_SITEKEYS`` form (``KEY``, ``v3:KEY:ACTION``): what the first token of a process is
    solved for before any page is loaded. The page's own sitekey always wins and is learned.
    """

    name: str
    url_setting: str
    replica_path: str
    lookup: Callable[[LookupContext, str], Awaitable[LookupResult]]
    parse: Callable[[object], LookupResult]
    captcha: str = ""


def same_path(url: str, target: str) -> bool:
    return urlsplit(url).path.rstrip("/") == urlsplit(target).path.rstrip("/")


def path_endswith(url: str, suffix: str) -> bool:
    return urlsplit(url).path.rstrip("/").endswith(suffix.rstrip("/"))


async def load(page: Page, url: str, ready_selector: str, *, render_ms: float = 0) -> None:
    """Open ``url`` in ``page``; retry a bare 5xx once; raise :class:`Failed` on WAF or a second error.

    ``render_ms``: how long a page built by its own script (a React app) may take after ``load``
    to show ``ready_selector``; server-rendered pages need none.
    """
    status = 0
    for attempt in (1, 2):
        try:
            response = await _goto(page, url)
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
            if status < 400 and await _has_selector(page, ready_selector, render_ms):
                return
            body = await text_of(response)
        if is_waf_page(body):
            raise Failed(
                LookupResult(LookupStatus.BLOCKED, raw=cap_raw(body), error=f"WAF page on GET ({status})")
            )
        if status < 400:
            raise Failed(
                LookupResult(LookupStatus.SITE_ERROR, raw=cap_raw(body), error="page without the form")
            )
        if attempt == 1:
            logger.info("GET %s answered %s; retrying once", urlsplit(url).path, status)
    raise Failed(LookupResult(LookupStatus.SITE_ERROR, error=f"GET {status} twice"))


async def _has_selector(page: Page, selector: str, render_ms: float) -> bool:
    if await page.evaluate(EXISTS_JS, selector):
        return True
    if render_ms <= 0:
        return False
    with contextlib.suppress(PlaywrightTimeoutError):
        await until(page, EXISTS_JS, selector, timeout_ms=render_ms, waiting_for=selector)
        return True
    return False


async def until(page: Page, test: str, arg: object = None, *, timeout_ms: float, waiting_for: str) -> object:
    """Wait, in the page, until the JS function ``test(arg)`` returns something truthy; return it.

    Raises Playwright's TimeoutError after ``timeout_ms`` (``waiting_for`` names what was awaited),
    as wait_for_function would. A navigation of the page's own (its JS reloading itself) destroys
    the context the wait ran in: the wait starts again in the new document, within the same time.
    """
    script = _UNTIL_JS % test
    ends = time.monotonic() + timeout_ms / 1000
    while True:
        left_ms = max(0.0, (ends - time.monotonic()) * 1000)
        try:
            found = await page.evaluate(script, [arg, left_ms])
        except PlaywrightError as exc:
            if "Execution context was destroyed" not in str(exc) or time.monotonic() >= ends:
                raise
            continue
        if found is not None:
            return found["value"]
        raise PlaywrightTimeoutError(f"Timeout {timeout_ms:.0f}ms exceeded waiting for {waiting_for}")


async def _goto(page: Page, url: str) -> Response | None:
    try:
        return await page.goto(url, wait_until="load")
    except PlaywrightError as exc:
        # A navigation of the page's own (its error page after a 5xx, or its JS reloading
        # itself) may still be landing; ours wins on the second try.
        if "interrupted by another navigation" not in str(exc):
            raise
        return await page.goto(url, wait_until="load")


async def submit(
    page: Page, button: str, is_reply: Callable[[Response], bool]
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
            await click(page, button)
        response = await reply.value
        body = await body_of(response)
        if body is None:
            # The wsp page's JS reloads itself on {"reload": true} and only then; the reload
            # may discard the reply before we read it. A reload right after the POST says it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await navigated.wait()
    finally:
        page.remove_listener("framenavigated", on_navigation)
    return response, body, navigated.is_set()


async def read_form(page: Page, *, timeout_ms: float = DEFAULT_TIMEOUT_MS) -> tuple[str, str]:
    """Wait for the captcha widget, then return (sitekey, nonce) as this page load has them."""
    form = await until(page, _READ_FORM_JS, timeout_ms=timeout_ms, waiting_for="#g-recaptcha-response")
    return form["sitekey"] or "", form["nonce"] or ""


async def fill(page: Page, selector: str, value: str) -> None:
    """Type ``value`` into a text field, replacing what it held, as a person (trusted input events)."""
    if value and await page.evaluate(_FOCUS_JS, selector):
        await page.keyboard.insert_text(value)
    else:
        await page.fill(selector, value)


async def choose(page: Page, selector: str, value: str) -> None:
    """Pick the option whose value is ``value`` in a <select>."""
    if not await page.evaluate(_CHOOSE_JS, [selector, value]):
        await page.select_option(selector, value)


async def click(page: Page, selector: str) -> None:
    """Click the middle of an element with the mouse (a trusted click), or let Playwright do it."""
    point = await page.evaluate(_CLICK_POINT_JS, selector)
    if point is None:
        await page.click(selector)
    else:
        await page.mouse.click(point["x"], point["y"])


async def set_v2_token(page: Page, token: str) -> None:
    """Put a solved token where Google's v2 widget would: the hidden ``#g-recaptcha-response``."""
    await page.evaluate(_SET_TOKEN_JS, token)


def server_error(result: LookupResult, response: Response) -> LookupResult:
    """A 5xx whose body said nothing we recognise is the site's trouble, not an odd answer."""
    if response.status >= 500 and result.status == LookupStatus.UNKNOWN:
        return replace(result, status=LookupStatus.SITE_ERROR, error=f"POST {response.status}")
    return result


async def body_of(response: Response) -> str | None:
    """The reply's text, or None when the browser no longer has it."""
    try:
        return await response.text()
    except PlaywrightError:
        return None


async def text_of(response: Response | None) -> str:
    if response is None:
        return ""
    return await body_of(response) or ""
