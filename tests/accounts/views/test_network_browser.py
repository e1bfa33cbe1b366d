"""Referidos, Territorio and Tu red in a real Chromium at 1280 px and 390 px.

Asserts what a person would check: no control hidden behind a horizontal scroll or
cut off at the viewport's edge, cards on a phone, htmx filters that update the URL
without reloading, the page working without JavaScript, and the charts drawn (SVG
bars with a real width). ``SCREENSHOT_DIR=/some/dir`` also saves viewport PNGs for
looking at the pages by eye. See tests/accounts/test_registration_browser.py for
how the live server and the browser share the database.
"""

import os
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from accounts.models import CedulaInfo
from scrapers.browser import DESKTOP_CHROME_UA
from tests.fixtures.network import build_network

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
FILTER_CONTROLS = "#referrals-filters :is(select, input:not([type=hidden]), button)"


@pytest.fixture
def network():
    net = build_network(size=70, depth=6, seed=5)
    # A long puesto name, as the Registraduría writes them: it must wrap, not push columns out.
    CedulaInfo.objects.filter(user=net.members[0]).update(
        status="found",
        departamento="ANTIOQUIA",
        municipio="MEDELLÍN",
        puesto="INSTITUCIÓN EDUCATIVA JOSÉ MARÍA CÓRDOBA SEDE PRINCIPAL BLOQUE 2",
        mesa="12",
    )
    return net


def _login(context, live_server, user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def _page(browser, live_server, user, viewport, *, javascript=True):
    context = browser.new_context(
        user_agent=DESKTOP_CHROME_UA, locale="es-CO", viewport=viewport, java_script_enabled=javascript
    )
    context.set_default_timeout(10_000)
    _login(context, live_server, user)
    page = context.new_page()
    # Every page here must run under the portal's Content-Security-Policy untouched.
    page.on(
        "console",
        lambda msg: _CSP_VIOLATIONS.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return context, page


_CSP_VIOLATIONS: list[str] = []


@pytest.fixture(autouse=True)
def _no_csp_violations():
    _CSP_VIOLATIONS.clear()
    yield
    assert _CSP_VIOLATIONS == []


def _shot(page, name):
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"))


def _assert_no_horizontal_scroll(page):
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page scrolls sideways by {overflow}px"


def _assert_controls_inside(page, *controls):
    """``_assert_inside`` for each (selector, what) pair: every control of the page is reachable."""
    for selector, what in controls:
        _assert_inside(page, page.locator(selector), what)


def _assert_inside(page, locator, what):
    """Every matching element is visible and lies fully inside the viewport's width, unclipped."""
    width = page.viewport_size["width"]
    count = locator.count()
    assert count, f"no {what} on the page"
    for i in range(count):
        element = locator.nth(i)
        expect(element).to_be_visible()
        box = element.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (what, i, box)
        # Not cut by an ancestor with overflow hidden/auto (e.g. a scrolling table wrapper).
        clipped = element.evaluate(
            """el => { const r = el.getBoundingClientRect();
                 for (let p = el.parentElement; p; p = p.parentElement) {
                   const s = getComputedStyle(p);
                   if (s.overflowX !== 'visible') { const q = p.getBoundingClientRect();
                     if (r.left < q.left - 0.5 || r.right > q.right + 0.5) return true; } }
                 return false; }"""
        )
        assert not clipped, (what, i)


def test_referidos_at_1280_shows_every_column_and_control(live_server, browser, network):
    context, page = _page(browser, live_server, network.root, DESKTOP)
    try:
        page.goto(f"{live_server.url}/referidos/")
        _assert_no_horizontal_scroll(page)
        _assert_inside(page, page.locator("table.table-referrals thead th"), "column header")
        first_rows = page.locator("table.table-referrals tbody tr").filter(has=page.locator("td"))
        assert first_rows.count() == 50
        _assert_controls_inside(
            page,
            ("tbody tr input[type=checkbox][name=ids]", "row check-box"),
            ("tbody tr button:has-text('Actualizar')", "row refresh button"),
            ("tbody tr button:has-text('sublíder')", "sub-leader button"),
            (FILTER_CONTROLS, "filter"),
            ("#referrals-actions button, #referrals-actions a", "bulk action"),
            (".pagination a, .pagination span", "page link"),
        )
        _shot(page, "referidos-1280")
    finally:
        context.close()


def test_referidos_at_390_is_a_list_of_cards_with_status_and_puesto(live_server, browser, network):
    context, page = _page(browser, live_server, network.root, PHONE)
    try:
        page.goto(f"{live_server.url}/referidos/?orden=-puesto")
        _assert_no_horizontal_scroll(page)
        rows = page.locator("table.table-referrals tbody tr")
        assert rows.first.evaluate("el => getComputedStyle(el).display") == "block"
        assert (
            page.locator("table.table-referrals thead").evaluate("el => getComputedStyle(el).display")
            == "none"
        )
        _assert_inside(page, page.locator("tbody tr .badge[data-status]").first, "status badge")
        long_puesto = page.get_by_text(re.compile("JOSÉ MARÍA CÓRDOBA SEDE PRINCIPAL"))
        _assert_inside(page, long_puesto, "puesto")
        _assert_controls_inside(
            page,
            ("tbody tr:nth-child(-n+5) input[name=ids]", "row check-box"),
            ("tbody tr:nth-child(-n+5) button", "row button"),
            ("#referrals-filters select, #referrals-filters button", "filter"),
            ("#referrals-actions button", "bulk action"),
        )
        _shot(page, "referidos-390")
    finally:
        context.close()


def test_filters_update_the_list_and_the_url_without_a_reload(live_server, browser, network):
    context, page = _page(browser, live_server, network.root, DESKTOP)
    try:
        page.goto(f"{live_server.url}/referidos/")
        page.evaluate("() => { window.__sameDocument = true; }")
        total = int(page.get_by_test_id("referral-total").inner_text())
        page.locator("#f-resultado").select_option("puede_votar")
        page.wait_for_url(re.compile(r"resultado=puede_votar"))
        expect(page.get_by_test_id("result-count")).to_contain_text("con estos filtros")
        assert page.evaluate("() => window.__sameDocument") is True  # htmx swapped, no reload
        shown = int(page.get_by_test_id("result-count").inner_text().split()[0])
        assert 0 < shown < total
        badges = page.locator("tbody tr .badge[data-status]")
        for i in range(badges.count()):
            assert badges.nth(i).get_attribute("data-status") in ("found", "pending", "processing")
        # Sorting keeps the filter, also through htmx.
        page.locator("a[data-sort=nombre]").first.click()
        page.wait_for_url(re.compile(r"orden=nombre"))
        query = parse_qs(urlparse(page.url).query)
        assert query["resultado"] == ["puede_votar"]
        names = page.locator("tbody tr td.cell-name strong").all_inner_texts()
        assert names == sorted(names)
        # The bookmarked URL gives the same page from scratch.
        page.goto(page.url)
        assert page.locator("tbody tr td.cell-name strong").all_inner_texts() == names
    finally:
        context.close()


def test_referidos_filters_work_without_javascript(live_server, browser, network):
    context, page = _page(browser, live_server, network.root, DESKTOP, javascript=False)
    try:
        page.goto(f"{live_server.url}/referidos/")
        page.locator("#f-nivel").select_option("2")
        page.get_by_role("button", name="Filtrar").click()
        page.wait_for_url(re.compile(r"nivel=2"))
        levels = page.locator("tbody tr td[data-label=Nivel]").all_inner_texts()
        assert levels and set(levels) == {"2"}
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_territory_draws_its_charts_and_drills_down(live_server, browser, network, viewport):
    context, page = _page(browser, live_server, network.root, viewport)
    try:
        page.goto(f"{live_server.url}/territorio/")
        _assert_no_horizontal_scroll(page)
        for chart in ("#chart-split", "#chart-top svg"):
            bars = page.locator(f"{chart} rect")
            assert bars.count() > 0, chart
            widths = bars.evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
            assert all(w > 0 for w in widths), (chart, widths)
            svg_width = page.locator(chart).first.evaluate("el => el.getBoundingClientRect().width")
            assert svg_width > 100
        _shot(page, f"territorio-{viewport['width']}")
        page.get_by_role("link", name="ANTIOQUIA", exact=True).click()
        page.wait_for_url(re.compile(r"departamento=ANTIOQUIA"))
        expect(page.get_by_role("link", name="MEDELLÍN", exact=True)).to_be_visible()
        _assert_no_horizontal_scroll(page)
        _assert_inside(page, page.locator("table.territory-table a[data-outcome]"), "count link")
        if viewport["width"] == PHONE["width"]:  # no column headers on a phone: the sort has its own control
            page.locator("#t-orden").select_option("nombre")
            page.get_by_role("button", name="Ordenar").click()
            page.wait_for_url(re.compile(r"orden=nombre"))
            assert "departamento=ANTIOQUIA" in page.url
            names = page.locator("table.territory-table tbody th").all_inner_texts()
            assert names == sorted(names, key=lambda n: (n == "Sin dato", n.casefold()))
    finally:
        context.close()


def test_network_overview_and_print_list_fit_a_phone(live_server, browser, network):
    context, page = _page(browser, live_server, network.root, PHONE)
    try:
        page.goto(f"{live_server.url}/red/")
        _assert_no_horizontal_scroll(page)
        expect(page.get_by_test_id("sub-leaders")).to_be_visible()
        _shot(page, "red-390")
        page.goto(
            f"{live_server.url}/territorio/lista/?departamento=ANTIOQUIA&municipio=MEDELL%C3%8DN&puesto=COLISEO"
        )
        _assert_no_horizontal_scroll(page)
        # The button works through js/print.js (the CSP forbids an inline onclick).
        page.evaluate("() => { window.print = () => { window.__printed = true; }; }")
        page.get_by_role("button", name="Imprimir").click()
        assert page.evaluate("() => window.__printed") is True
        page.emulate_media(media="print")
        assert page.locator("nav.navbar").evaluate("el => getComputedStyle(el).display") == "none"
        _shot(page, "lista-print-390")
    finally:
        context.close()


def test_home_share_buttons_and_qr_fit_a_phone(live_server, browser, network):
    context, page = _page(browser, live_server, network.root, PHONE)
    try:
        page.goto(f"{live_server.url}/")
        _assert_no_horizontal_scroll(page)
        _assert_inside(page, page.locator("#whatsapp-share"), "WhatsApp button")
        page.get_by_text("Ver código QR").click()
        qr = page.locator("#referral-qr svg")
        expect(qr).to_be_visible()
        box = qr.bounding_box()
        assert box["width"] >= 120 and box["height"] >= 120
        _shot(page, "inicio-390")
    finally:
        context.close()
