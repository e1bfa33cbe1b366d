"""How the sources drive a page: main-world evaluates and raw input, not Playwright's selector actions.

Playwright's selector actions (fill, click, select_option, wait_for_selector, wait_for_function,
locator counts) run in its injected script, which Chromium compiles again in every new document;
a lookup is one new document, so they cost a third of its CPU (scrapers/sources/base.py). These
tests hold the helpers that replace them to what we relied on: waits that time out and survive the
page's own reload, typing that replaces the text with trusted input, trusted clicks that never
land on something covering the button, and the Playwright fall back where the fast path can't go.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from scrapers.browser import DESKTOP_CHROME_UA, BrowserPool
from scrapers.client import RegistraduriaClient
from scrapers.registraduria import LookupStatus
from scrapers.sources.base import EXISTS_JS, choose, click, fill, until
from tests.fixtures.client import client_config as config_for

pytestmark = pytest.mark.browser

# Every trusted event the page sees, by type, and what the form held when it was submitted.
FORM = """
<form id="form" onsubmit="event.preventDefault(); window.sent = document.querySelector('#nuip').value;">
  <input id="nuip" type="text" maxlength="10" value="viejo">
  <select id="tipo"><option value="1">una</option><option value="-1">actual</option></select>
  <input id="enviar" type="submit" value="Consultar">
  <div id="cover" style="display:none; position:fixed; inset:0; background:#fff"></div>
  <div style="height:3000px"></div>
  <button id="lejos" type="button" onclick="window.farClicked = event.isTrusted">Abajo</button>
</form>
<script>
  window.events = [];
  for (const type of ['input', 'change', 'click', 'mousedown', 'beforeinput']) {
    document.addEventListener(type, (event) => window.events.push(event.type + ':' + event.isTrusted), true);
  }
</script>
"""


@pytest.fixture(scope="module")
def pool(loop_thread):
    pool = BrowserPool(size=2, user_agent=DESKTOP_CHROME_UA)
    yield pool
    loop_thread.run(pool.close())


@pytest.fixture
def on_page(pool, loop_thread):
    """Run ``body(page)`` on a pooled page showing FORM."""

    def run(body, html: str = FORM):
        async def go():
            async with pool.page() as pooled:
                pooled.page.set_default_timeout(2000)
                await pooled.page.goto("about:blank")  # a new window: no globals from the last test
                await pooled.page.set_content(html)
                return await body(pooled.page)

        return loop_thread.run(go())

    return run


def test_fill_replaces_the_text_with_trusted_typing(on_page):
    async def body(page):
        await fill(page, "#nuip", "1000000001")
        return await page.evaluate("[document.querySelector('#nuip').value, window.events]")

    value, events = on_page(body)
    assert value == "1000000001"
    assert "input:true" in events and "beforeinput:true" in events


def test_fill_respects_the_fields_maxlength_as_typing_does(on_page):
    async def body(page):
        await fill(page, "#nuip", "123456789012345")
        return await page.evaluate("document.querySelector('#nuip').value")

    assert on_page(body) == "1234567890"


def test_fill_on_a_missing_field_falls_back_to_playwright_and_times_out(on_page):
    async def body(page):
        with pytest.raises(PlaywrightTimeoutError):
            await fill(page, "#no-such-field", "1")
        return True

    assert on_page(body)


def test_choose_picks_the_option_and_fires_input_and_change(on_page):
    async def body(page):
        await choose(page, "#tipo", "-1")
        return await page.evaluate("[document.querySelector('#tipo').value, window.events]")

    value, events = on_page(body)
    assert value == "-1"
    assert "input:false" in events and "change:false" in events  # as select_option's own events


def test_choose_an_option_the_page_lacks_is_an_error_not_a_silent_pass(on_page):
    async def body(page):
        with pytest.raises(PlaywrightTimeoutError):
            await choose(page, "#tipo", "7")
        return await page.evaluate("document.querySelector('#tipo').value")

    assert on_page(body) == "1"


def test_click_is_a_trusted_mouse_click_that_submits_the_form(on_page):
    async def body(page):
        await fill(page, "#nuip", "1000000001")
        await click(page, "#enviar")
        return await page.evaluate("[window.sent, window.events]")

    sent, events = on_page(body)
    assert sent == "1000000001"
    assert "mousedown:true" in events and "click:true" in events


def test_click_scrolls_a_button_below_the_fold_into_view(on_page):
    async def body(page):
        await click(page, "#lejos")
        return await page.evaluate("window.farClicked")

    assert on_page(body) is True


def test_click_never_lands_on_what_covers_the_button(on_page):
    async def body(page):
        await page.evaluate("document.querySelector('#cover').style.display = 'block'")
        with pytest.raises(PlaywrightTimeoutError):
            await click(page, "#enviar")  # Playwright's own click waits for the cover to go
        return await page.evaluate("window.sent === undefined")

    assert on_page(body)


def test_click_with_a_playwright_only_selector_falls_back_to_playwright(on_page):
    async def body(page):
        await click(page, "button:has-text('Abajo')")
        return await page.evaluate("window.farClicked")

    assert on_page(body) is True


def test_until_returns_the_value_once_the_page_has_it(on_page):
    async def body(page):
        await page.evaluate("setTimeout(() => { window.ready = {n: 3}; }, 200)")
        return await until(page, "() => window.ready", timeout_ms=2000, waiting_for="ready")

    assert on_page(body) == {"n": 3}


def test_until_times_out_with_playwrights_timeout_error(on_page):
    async def body(page):
        with pytest.raises(PlaywrightTimeoutError, match="waiting for #nothing"):
            await until(page, EXISTS_JS, "#nothing", timeout_ms=300, waiting_for="#nothing")
        return True

    assert on_page(body)


def test_until_survives_the_pages_own_reload(pool, loop_thread, replica):
    async def go():
        async with pool.page() as pooled:
            page = pooled.page
            await page.goto(replica.wsp_url)
            # The page reloads itself while we wait (as the wsp page does on {"reload": true}); the
            # wait goes on in the new document and finds what only that document has.
            await page.evaluate("setTimeout(() => location.reload(), 100)")
            reloaded = "() => performance.getEntriesByType('navigation')[0].type === 'reload'"
            return await until(page, reloaded, timeout_ms=10_000, waiting_for="the reload")

    assert loop_thread.run(go()) is True


@pytest.mark.parametrize("source", ["wsp", "consultacenso"])
def test_a_lookup_uses_no_playwright_selector_action(
    source, replica, replica_clean, loop_thread, monkeypatch
):
    """The two server-rendered sources answer with none of the actions that load the injected script."""
    replica.set(captcha_delay=0)

    def forbidden(name):
        def fail(*args, **kwargs):
            raise AssertionError(f"Playwright's {name} was used")

        return fail

    for name in ("fill", "click", "select_option", "wait_for_selector", "wait_for_function", "text_content"):
        monkeypatch.setattr(Page, name, forbidden(f"Page.{name}"))
    monkeypatch.setattr(Locator, "count", forbidden("Locator.count"))
    client = RegistraduriaClient(config_for(replica, pool_size=1))
    try:
        result = loop_thread.run(client.lookup("1000000001", source=source))
    finally:
        loop_thread.run(client.close())
    assert result.status == LookupStatus.FOUND, result.error
    assert result.source == source
