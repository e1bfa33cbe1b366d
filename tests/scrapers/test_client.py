"""The Registraduría client driving a real Chromium against the running replica.

Clients live on one event loop in a background thread, the way a Dramatiq worker runs them
(``dramatiq.asyncio.get_event_loop_thread()``); tests submit coroutines to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import psutil
import pytest

from scrapers.browser import DESKTOP_CHROME_UA, BrowserPool
from scrapers.client import RegistraduriaClient
from scrapers.registraduria import LookupStatus
from tests.fixtures.client import client_config as config_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def client(replica, loop_thread):
    """The client most tests share, as a worker process would."""
    shared = RegistraduriaClient(config_for(replica, pool_size=8))
    yield shared
    loop_thread.run(shared.close())


@pytest.fixture
def make_client(replica, loop_thread):
    """Build extra clients with other settings; closed at the end of the test."""
    clients = []

    def make(**overrides) -> RegistraduriaClient:
        clients.append(RegistraduriaClient(config_for(replica, **overrides)))
        return clients[-1]

    yield make
    for extra in clients:
        loop_thread.run(extra.close())


@pytest.fixture
def fast_replica(replica, replica_clean):
    """Default switches, but captchas solved at once (the default 0.5 s would dominate the run time)."""
    replica.set(captcha_delay=0)
    return replica


@pytest.fixture
def lookup(client, loop_thread, fast_replica):
    # Each test starts from the seeded captchas with no kept token (tests/scrapers/test_tokens.py).
    client.specs = RegistraduriaClient(client.config).specs
    client.tokens._stock.clear()

    def run(cedula, **kwargs):
        return loop_thread.run(client.lookup(cedula, **kwargs))

    return run


def chromium_browser_pids() -> set[int]:
    """Chromium browser processes (not renderers/helpers) below this test process."""
    found = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            cmdline = proc.cmdline()
        except psutil.Error:
            continue
        if cmdline and "chrom" in cmdline[0] and not any(arg.startswith("--type=") for arg in cmdline):
            found.add(proc.pid)
    return found


def cmdlines_below(pid: int) -> list[list[str]]:
    found = []
    for proc in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            found.append(proc.cmdline())
    return found


def test_found_citizen_has_the_sites_exact_fields(lookup):
    result = lookup("1000000004")

    assert result.status == LookupStatus.FOUND
    assert result.source == "wsp"
    assert (result.departamento, result.municipio, result.puesto, result.direccion, result.mesa) == (
        "SUCRE",
        "SINCELEJO",
        "IE SAN JOSE C I P",
        "CL 22 No. 10A-380",
        "13",
    )
    assert not result.is_transient


def test_found_citizen_keeps_accents_and_enye(lookup):
    bogota = lookup("1000000001")
    narino = lookup("1000000002")

    assert bogota.status == LookupStatus.FOUND
    assert (bogota.departamento, bogota.municipio, bogota.direccion, bogota.mesa) == (
        "BOGOTA D.C.",
        "BOGOTA D.C.",
        "KR 7 # 120 - 20",
        "5",
    )
    assert "USAQUÉN" in bogota.puesto
    assert (narino.departamento, narino.municipio) == ("NARIÑO", "PASTO")


def test_voter_abroad_is_found_in_a_consulate(lookup):
    result = lookup("1000000003")

    assert (result.status, result.departamento, result.municipio) == (
        LookupStatus.FOUND,
        "CONSULADOS",
        "ALEMANIA",
    )
    assert "Berlin" in result.puesto


def test_cedula_not_in_census_is_not_found(lookup):
    result = lookup("2000000001")

    assert result.status == LookupStatus.NOT_FOUND
    assert "no se encuentra" in result.message.lower()


def test_cancelled_by_death_is_cancelled_and_deceased(lookup):
    result = lookup("3000000001")

    assert result.status == LookupStatus.CANCELLED
    assert result.deceased
    assert "MUERTE" in result.novedad.upper()


def test_cancelled_by_double_cedulation_is_cancelled_not_deceased(lookup):
    result = lookup("3000000002")

    assert result.status == LookupStatus.CANCELLED
    assert not result.deceased
    assert "doble" in result.novedad.lower()


def test_vigente_cedula_is_not_reported_as_cancelled(lookup):
    result = lookup("6000000001")

    assert result.status == LookupStatus.UNKNOWN
    assert result.novedad == "Vigente" and not result.deceased
    assert result.source == "wsp"


def test_loss_of_political_rights_is_cancelled_not_deceased(lookup):
    result = lookup("3000000008")

    assert result.status == LookupStatus.CANCELLED
    assert not result.deceased
    assert result.novedad == "Vigente con Pérdida o Suspensión de los Derechos Políticos"


def test_pending_expedition_is_pending(lookup):
    assert lookup("4000000001").status == LookupStatus.PENDING


def test_formatted_cedula_is_cleaned_before_the_lookup(lookup):
    assert lookup("1.000.000.004").mesa == "13"


def test_invalid_cedula_is_refused_without_touching_the_site(make_client, loop_thread, fast_replica):
    fresh = make_client()

    result = loop_thread.run(fresh.lookup("01234abc"))

    assert result.status == LookupStatus.UNKNOWN
    assert "invalid" in result.error
    assert fresh.pool.stats.browser_launches == 0


def test_headless_user_agent_is_blocked_by_the_waf_and_desktop_one_passes(make_client, loop_thread, lookup):
    headless = make_client(user_agent="", pool_size=1)

    blocked = loop_thread.run(headless.lookup("1000000004", source="wsp"))

    assert blocked.status == LookupStatus.BLOCKED
    assert blocked.is_transient
    assert lookup("1000000004", source="wsp").status == LookupStatus.FOUND


def test_hanging_site_ends_at_the_deadline_with_timed_out(make_client, loop_thread, fast_replica):
    impatient = make_client(deadline_seconds=5.0, pool_size=1)
    fast_replica.set(hang_post=True)

    result = loop_thread.run(impatient.lookup("1000000004", source="wsp"), timeout=30)

    assert result.status == LookupStatus.SITE_ERROR
    assert result.timed_out
    assert result.is_transient
    # The page that hung is retired, not reused.
    assert impatient.pool.stats.pages_retired == 1


def test_get_500_once_is_retried_and_succeeds(lookup, replica):
    replica.set(get_500=1)

    result = lookup("1000000004", source="wsp")

    assert result.status == LookupStatus.FOUND
    assert replica.stats()["requests"]["GET /censo/consultar/"] == 2


def test_rejected_captcha_is_captcha_rejected(lookup, replica):
    replica.set(captcha_reject=True)

    result = lookup("1000000004", source="wsp")

    assert result.status == LookupStatus.CAPTCHA_REJECTED
    assert result.is_transient


def test_captcha_solver_failure_is_a_retryable_status(lookup, replica):
    replica.set(captcha_fail=True)

    result = lookup("1000000004", source="wsp")

    assert result.status == LookupStatus.CAPTCHA_REJECTED
    assert result.is_transient
    assert "ERROR_CAPTCHA_UNSOLVABLE" in result.error


def test_expired_session_is_reloaded_once_and_found(lookup, replica):
    replica.set(reload=1)

    result = lookup("1000000004", source="wsp")

    assert result.status == LookupStatus.FOUND
    assert replica.stats()["requests"]["POST /censo/consultar/"] == 2


def test_blocked_primary_falls_back_to_consultacenso(lookup, replica):
    replica.set(waf=True)

    result = lookup("1000000004")

    assert result.status == LookupStatus.FOUND
    assert result.source == "consultacenso"
    assert (result.departamento, result.municipio, result.mesa) == ("SUCRE", "SINCELEJO", "13")


def test_consultacenso_can_be_forced(lookup):
    result = lookup("3000000001", source="consultacenso")

    assert (result.status, result.source, result.deceased) == (LookupStatus.CANCELLED, "consultacenso", True)


def test_both_sources_failing_reports_both(make_client, loop_thread, fast_replica):
    fast_replica.set(waf=True, consultacenso_down=True)
    two = make_client(sources=("wsp", "consultacenso"), pool_size=1)

    result = loop_thread.run(two.lookup("1000000004"))

    assert result.status in (LookupStatus.BLOCKED, LookupStatus.SITE_ERROR)
    assert result.is_transient
    assert "wsp:" in result.error
    assert "consultacenso:" in result.error


def test_concurrent_lookups_share_one_browser(make_client, loop_thread, fast_replica):
    before = chromium_browser_pids()
    busy = make_client(pool_size=8)
    cedulas = ["1000000001", "1000000002", "1000000003", "1000000004"] * 2

    async def many():
        return await asyncio.gather(*(busy.lookup(c, source="wsp") for c in cedulas))

    results = loop_thread.run(many())

    assert [r.municipio for r in results] == ["BOGOTA D.C.", "PASTO", "ALEMANIA", "SINCELEJO"] * 2
    assert busy.pool.stats.browser_launches == 1
    assert busy.pool.stats.pages_created == 8
    assert len(chromium_browser_pids() - before) == 1


def test_pages_are_recycled_after_max_uses(make_client, loop_thread, fast_replica):
    small = make_client(pool_size=1, page_max_uses=2)

    for cedula in ["1000000004", "2000000001", "1000000004", "2000000001", "1000000004"]:
        assert not loop_thread.run(small.lookup(cedula, source="wsp")).is_transient

    assert small.pool.stats.pages_created == 3
    assert small.pool.stats.browser_launches == 1


def test_pooled_page_starts_each_lookup_without_the_previous_cookies(make_client, loop_thread, fast_replica):
    single = make_client(pool_size=1)

    for cedula in ("1000000001", "1000000002"):
        assert loop_thread.run(single.lookup(cedula, source="wsp")).status == LookupStatus.FOUND

    assert single.pool.stats.pages_created == 1  # one page served both lookups
    # The replica counts page GETs that arrive without a live PHPSESSID: both did.
    outcomes = fast_replica.stats()["outcomes"]
    assert outcomes.get("wsp:page_new_session") == 2
    assert "wsp:page_same_session" not in outcomes


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_lookups_never_fetch_the_pages_images(make_client, loop_thread, fast_replica, browser_page):
    # Control: an ordinary browser does fetch the header image of both pages.
    browser_page.goto(fast_replica.wsp_url)
    browser_page.goto(fast_replica.consultacenso_url)
    assert wait_for(lambda: fast_replica.stats()["requests"].get("GET /static/escudo.svg") == 2)
    fast_replica.reset()
    fast_replica.set(captcha_delay=0)
    client = make_client(pool_size=1)

    assert loop_thread.run(client.lookup("1000000004", source="wsp")).status == LookupStatus.FOUND
    assert loop_thread.run(client.lookup("1000000004", source="consultacenso")).status == LookupStatus.FOUND

    requests = fast_replica.stats()["requests"]
    assert requests["GET /censo/consultar/"] == 1 and requests["GET /consultar/"] == 1
    assert "GET /static/escudo.svg" not in requests


# An image on a path the replica does not know (it counts it as "GET (unknown)").
IMAGE_PAGE = """<!DOCTYPE html><html><body><p>Texto de prueba</p>
<img src="{base}/assets/foto.png" alt=""></body></html>"""


def test_the_pools_pages_fetch_no_images(loop_thread, fast_replica, browser_page):
    page_html = IMAGE_PAGE.format(base=fast_replica.base_url)
    # Control: an ordinary browser asks for the image.
    browser_page.set_content(page_html)
    for _ in range(100):  # the sync API delivers events only while it runs: wait inside it
        if fast_replica.stats()["requests"].get("GET (unknown)", 0) >= 1:
            break
        browser_page.wait_for_timeout(50)
    assert fast_replica.stats()["requests"].get("GET (unknown)", 0) >= 1
    fast_replica.reset()
    pool = BrowserPool(size=1, user_agent=DESKTOP_CHROME_UA)

    async def visit() -> list[str]:
        async with pool.page() as pooled:
            asked: list[str] = []
            pooled.page.on("request", lambda request: asked.append(request.resource_type))
            await pooled.page.set_content(page_html)
            await pooled.page.wait_for_timeout(500)
            return asked

    try:
        asked = loop_thread.run(visit())
    finally:
        loop_thread.run(pool.close())

    assert "image" not in asked
    assert "GET (unknown)" not in fast_replica.stats()["requests"]


def test_a_pooled_page_fetches_the_sites_scripts_once(make_client, loop_thread, fast_replica):
    # No request interception, so Chromium's HTTP cache works: the page's jQuery and functions.js
    # (cacheable for a day) come from the site once per page, not once per lookup. Fewer requests
    # to the Registraduría, and less work for the page.
    fast_replica.set(captcha_delay=0)
    client = make_client(pool_size=1)
    for _ in range(3):
        assert loop_thread.run(client.lookup("1000000004", source="wsp")).status == LookupStatus.FOUND

    requests = fast_replica.stats()["requests"]
    assert requests["GET /censo/consultar/"] == 3
    assert requests["GET /censo/public/js/jquery-3.7.1.min.js"] == 1
    assert requests["GET /censo/public/js/functions.js"] == 1


def test_crashed_browser_is_relaunched(make_client, loop_thread, fast_replica):
    before = chromium_browser_pids()
    crashy = make_client(pool_size=1)
    assert loop_thread.run(crashy.lookup("1000000004", source="wsp")).status == LookupStatus.FOUND
    (browser_pid,) = chromium_browser_pids() - before
    psutil.Process(browser_pid).kill()
    deadline = time.monotonic() + 10
    while crashy.pool.browser.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)

    result = loop_thread.run(crashy.lookup("1000000004", source="wsp"))

    assert result.status == LookupStatus.FOUND
    assert crashy.pool.stats.browser_launches == 2


def test_one_log_line_per_lookup_with_masked_cedula(lookup, caplog):
    caplog.set_level(logging.INFO, logger="scrapers.client")

    lookup("1000000004", source="wsp")

    lines = [r.getMessage() for r in caplog.records if r.name == "scrapers.client"]
    assert len(lines) == 1
    assert "*******004" in lines[0]
    assert "status=found" in lines[0]
    assert "source=wsp" in lines[0]
    assert "duration=" in lines[0]
    assert "1000000004" not in caplog.text


def test_close_leaves_no_chromium_behind(make_client, loop_thread, fast_replica):
    before = chromium_browser_pids()
    own = make_client(pool_size=2)
    assert loop_thread.run(own.lookup("1000000004", source="wsp")).status == LookupStatus.FOUND
    (browser_pid,) = chromium_browser_pids() - before
    tree = [psutil.Process(browser_pid), *psutil.Process(browser_pid).children(recursive=True)]
    assert len(tree) > 1  # the browser and at least one renderer

    loop_thread.run(own.close())
    loop_thread.run(own.close())  # idempotent

    _gone, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == []


def test_start_opens_warm_pages_without_browser_ui_renderers(make_client, loop_thread, fast_replica):
    before = chromium_browser_pids()
    warm = make_client(pool_size=3)

    loop_thread.run(warm.start())

    assert warm.pool.stats.pages_created == 3
    (browser_pid,) = chromium_browser_pids() - before
    renderers = [cmd for cmd in cmdlines_below(browser_pid) if "--type=renderer" in cmd]
    assert len(renderers) >= 3
    # Chromium's omnibox popup WebUI would add one renderer per context; we disable it.
    assert not [cmd for cmd in renderers if "--top-chrome-webui" in cmd]
    assert loop_thread.run(warm.lookup("1000000004", source="wsp")).status == LookupStatus.FOUND
    assert warm.pool.stats.pages_created == 3


def test_shared_browser_fixture_passes_the_waf_with_a_desktop_agent(browser_page, fast_replica):
    # Smoke test of the system Chromium with the pinned Playwright, as portal UI tests use it.
    response = browser_page.goto(fast_replica.wsp_url)

    assert response.status == 200
    assert browser_page.locator("#nuip").count() == 1
    assert "HeadlessChrome" not in browser_page.evaluate("navigator.userAgent")
