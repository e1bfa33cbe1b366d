"""One Chromium per process and a pool of warm pages on it.

Launching a browser costs about a second of CPU, a fresh context about 0.4 s; reusing a warm page
with its cookies cleared is what makes a lookup cheap (docs/stack.md#playwright). ``BrowserPool`` owns the
async Playwright driver, one browser, and up to ``size`` pages, each in its own context so cookies
never leak between concurrent lookups. Everything runs on one asyncio event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright

from .chromium import find_chromium

logger = logging.getLogger(__name__)

# Chromium keeps only the last --disable-features, so ours repeats playwright 1.64.1's own list
# (chromiumSwitches in its driver) and adds the omnibox popups: headless Chromium 156 prewarms
# them as one "top-chrome WebUI" renderer per context (~40-70 MB PSS each) that no lookup uses.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "DialMediaRouteProvider",
    "GlobalMediaControls",
    "HttpsUpgrades",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "BlockOriginHeaderModificationOnRedirect",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "Translate",
    "AutoDeElevate",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
)
EXTRA_DISABLED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")
LAUNCH_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES + EXTRA_DISABLED_FEATURES),
)
# The site's WAF blocks "HeadlessChrome"; a desktop Chrome of the version we drive passes.
DESKTOP_CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
VIEWPORT = {"width": 1024, "height": 640}
# V8's old space per renderer (MB; 0: V8's default). V8 collects a renderer's heap lazily: a pooled
# page grew ~2.3 MB per lookup, to ~300 MB after 100 lookups of the replica's form. A 32 MB cap
# kept it at ~85-130 MB but once crashed a renderer ("Target crashed") in the test suite, so the
# cap is off by default and page retirement (BROWSER_PAGE_MAX_USES, 25) bounds the growth instead
# (docs/stack.md#chromium).
JS_HEAP_MB = 0
# The pool's pages load no images (a lookup reads text). A launch flag rather than request
# interception: Playwright's routing turns Chromium's HTTP cache off, so every lookup re-fetched
# the site's scripts, and every request made a round trip through our Python. Without it a page
# fetches jQuery once, not once per lookup (fewer requests to the site), and one worker did 4.9
# lookups/s instead of 3.7 in the realistic benchmark (docs/benchmarks.md). Fonts and media are
# not blocked: the cache serves them after a page's first load.
POOL_ARGS = ("--blink-settings=imagesEnabled=false",)
# The Node driver's young generation: V8's default semi-spaces (16 MB each, grown under load) made
# the driver ~190 MB PSS beside a pool of 6 pages; 2 MB brings it to ~145 MB for a few more cheap
# scavenges (docs/stack.md#playwright). Added to NODE_OPTIONS only while the driver starts.
DRIVER_NODE_OPTIONS = "--max-semi-space-size=2"
CLOSE_TIMEOUT = 10.0


DRIVER_LINE_MAX = 2000
driver_logger = logging.getLogger(f"{__name__}.driver")


def _drain_driver(read_fd: int) -> None:
    """Log the driver's stderr line by line (bounded) until it closes its end."""
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        for raw in iter(pipe.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            if line:
                driver_logger.warning("playwright driver: %s", line[:DRIVER_LINE_MAX])


@contextlib.contextmanager
def driver_stderr_drained():
    """While the Playwright driver starts, point ``sys.stderr`` at a pipe of our own.

    Playwright hands the Node driver ``sys.stderr.fileno()`` as its stderr, and Node
    switches that descriptor to non-blocking. Inside a ``rundramatiq`` worker the
    descriptor is Dramatiq's log pipe to its parent: once non-blocking, one record
    larger than the pipe's free space is half-written and every later log line of
    the worker is lost (docs/stack.md#playwright-driver-stderr). With a pipe of its
    own, drained by a thread into logging, the driver never touches Dramatiq's.
    """
    read_fd, write_fd = os.pipe()
    threading.Thread(
        target=_drain_driver, args=(read_fd,), name="playwright-driver-stderr", daemon=True
    ).start()
    writer = os.fdopen(write_fd, "w", buffering=1)
    saved = sys.stderr
    sys.stderr = writer
    # The driver copies os.environ when it is spawned: our Node options reach it, nobody else.
    node_options = os.environ.get("NODE_OPTIONS")
    os.environ["NODE_OPTIONS"] = f"{node_options or ''} {DRIVER_NODE_OPTIONS}".strip()
    try:
        yield
    finally:
        if node_options is None:
            os.environ.pop("NODE_OPTIONS", None)
        else:
            os.environ["NODE_OPTIONS"] = node_options
        sys.stderr = saved
        # The driver has its own copy of the descriptor; ours closes so the drain
        # thread ends when the driver does.
        writer.close()


@dataclass
class PooledPage:
    """A page in its own context, plus how often it has served."""

    context: BrowserContext
    page: Page
    browser: Browser
    uses: int = 0
    broken: bool = field(default=False)

    @property
    def alive(self) -> bool:
        return not self.broken and not self.page.is_closed() and self.browser.is_connected()


@dataclass
class PoolStats:
    """Counters for tests, benchmarks and operators.

    ``lends`` counts pages lent; ``hold_seconds_max``/``hold_seconds_total`` how long lookups
    held them (the token-first order keeps every hold well under a second).
    """

    browser_launches: int = 0
    pages_created: int = 0
    pages_retired: int = 0
    pages_in_use: int = 0
    lends: int = 0
    hold_seconds_max: float = 0.0
    hold_seconds_total: float = 0.0
    hold_seconds_recent: float = 0.0  # moving average of the last ~20 holds (the pacer's rate)


def launch_js_flags(js_heap_mb: int) -> list[str]:
    return [f"--js-flags=--max-old-space-size={js_heap_mb}"] if js_heap_mb else []


class BrowserPool:
    """A shared headless Chromium with at most ``size`` warm pages.

    :param chromium_path: explicit browser path, ``""`` to auto-detect (see ``find_chromium``).
    :param size: most pages (and so concurrent lookups); callers beyond wait in ``page()``.
    :param max_uses: a page is retired after this many lookups (bounds renderer memory growth).
    :param user_agent: set on every context; ``""`` keeps Chromium's own (which says HeadlessChrome).
    :param on_pages_in_use: called with ``stats.pages_in_use`` each time a page is lent or given back.
    :param js_heap_mb: V8's old-space limit per renderer (``--max-old-space-size``); 0: V8's default.
    """

    def __init__(
        self,
        *,
        chromium_path: str = "",
        size: int = 8,
        max_uses: int = 25,
        user_agent: str = "",
        js_heap_mb: int = JS_HEAP_MB,
        on_pages_in_use: Callable[[int], None] | None = None,
    ) -> None:
        self.on_pages_in_use = on_pages_in_use
        self.chromium_path = chromium_path
        self.size = max(1, size)
        self.max_uses = max(1, max_uses)
        self.user_agent = user_agent
        self.js_heap_mb = max(0, int(js_heap_mb))
        self.stats = PoolStats()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._idle: list[PooledPage] = []
        self._slots = asyncio.Semaphore(self.size)
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def browser(self) -> Browser | None:
        return self._browser

    async def start(self, *, warm: bool = True) -> None:
        """Start the driver and the browser now rather than on the first ``page()``.

        :param warm: also open all ``size`` pages, so the first lookups do not pay for new contexts.
        """
        await self._ensure_browser()
        for _ in range(self.size - len(self._idle) if warm else 0):
            async with self._slots:
                self._idle.append(await self._new_page())

    async def _ensure_browser(self) -> Browser:
        async with self._lock:
            if self._closed:
                raise RuntimeError("browser pool is closed")
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                logger.warning("chromium disconnected; relaunching")
                self._idle.clear()  # those pages died with their browser
            executable = find_chromium(self.chromium_path)
            if self._playwright is None:
                with driver_stderr_drained():
                    self._playwright = await async_playwright().start()
            # Signals belong to the worker: it closes us in its shutdown hook, after the tasks end.
            self._browser = await self._playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                args=[*LAUNCH_ARGS, *POOL_ARGS, *launch_js_flags(self.js_heap_mb)],
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
            )
            self.stats.browser_launches += 1
            logger.info("chromium launched (%s)", executable)
            return self._browser

    async def _new_page(self) -> PooledPage:
        browser = await self._ensure_browser()
        options = {"user_agent": self.user_agent} if self.user_agent else {}
        # A modest desktop window: every repaint is software-rastered, so pixels cost CPU.
        context = await browser.new_context(viewport=VIEWPORT, **options)
        page = await context.new_page()
        self.stats.pages_created += 1
        pooled = PooledPage(context=context, page=page, browser=browser)
        page.on("crash", lambda _page: setattr(pooled, "broken", True))
        return pooled

    async def _retire(self, pooled: PooledPage) -> None:
        self.stats.pages_retired += 1
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await pooled.context.close()

    @contextlib.asynccontextmanager
    async def page(self) -> AsyncIterator[PooledPage]:
        """Lend a warm page for one lookup; waits while all ``size`` pages are busy.

        The page comes back with its cookies cleared. Mark ``pooled.broken = True`` (or let an
        exception escape) to have it retired instead of reused: after a timeout the page may still
        be mid-request.
        """
        async with self._slots:
            pooled = None
            while self._idle:
                candidate = self._idle.pop()
                if candidate.alive:
                    pooled = candidate
                    break
                await self._retire(candidate)
            if pooled is None:
                pooled = await self._new_page()
            pooled.uses += 1
            ok = False
            self._count_in_use(+1)
            self.stats.lends += 1
            lent_at = time.monotonic()
            try:
                yield pooled
                ok = True
            finally:
                held = time.monotonic() - lent_at
                self.stats.hold_seconds_total += held
                self.stats.hold_seconds_max = max(self.stats.hold_seconds_max, held)
                recent = self.stats.hold_seconds_recent
                self.stats.hold_seconds_recent = held if not recent else 0.95 * recent + 0.05 * held
                self._count_in_use(-1)
                # Shielded: a cancelled lookup still returns (or retires) its page.
                await asyncio.shield(self._give_back(pooled, ok=ok))

    def _count_in_use(self, delta: int) -> None:
        self.stats.pages_in_use += delta
        if self.on_pages_in_use is not None:
            try:
                self.on_pages_in_use(self.stats.pages_in_use)
            except Exception:  # a metrics hook must never fail a lookup
                logger.exception("on_pages_in_use hook failed")

    async def _give_back(self, pooled: PooledPage, *, ok: bool) -> None:
        reusable = pooled.alive and pooled.uses < self.max_uses and len(self._idle) < self.size
        if ok and reusable and not self._closed:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await pooled.context.clear_cookies()
            except Exception:  # noqa: BLE001 - any failure here just means "do not reuse"
                pooled.broken = True
            else:
                self._idle.append(pooled)
                return
        await self._retire(pooled)

    async def close(self) -> None:
        """Close every page, the browser and the driver. Idempotent."""
        async with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            for pooled in idle:
                await self._retire(pooled)
            browser, self._browser = self._browser, None
            playwright, self._playwright = self._playwright, None
            if browser is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CLOSE_TIMEOUT):
                        await browser.close()
            if playwright is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CLOSE_TIMEOUT):
                        await playwright.stop()
