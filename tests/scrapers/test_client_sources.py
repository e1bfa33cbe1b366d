"""Every source, every state: the client in a real Chromium against the replica.

wsp, consultacenso and eleccionescolombia answer for the same synthetic census; the client must
classify each state the same way on each page, whichever captcha (v2 checkbox, v3 execute) the
eleccionescolombia page uses, and fall back along ``sources`` when a page is blocked or failing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scrapers.client import RegistraduriaClient
from scrapers.registraduria import LookupStatus
from scrapers.text import fold
from tests.fixtures.client import client_config

pytestmark = pytest.mark.browser

ALL_SOURCES = ("wsp", "consultacenso", "eleccionescolombia")
CITIZENS = {
    row["nuip"]: row
    for row in json.loads(
        (Path(__file__).resolve().parents[2] / "scrapers" / "replica" / "citizens.json").read_text("utf-8")
    )
}


EC_SITEKEY = "6Lc9DmgrAAAAAJAjWVhjDy1KSgqzqJikY5z7I9SV"


@pytest.fixture(scope="module")
def client(replica, loop_thread):
    shared = RegistraduriaClient(client_config(replica, pool_size=4))
    yield shared
    loop_thread.run(shared.close())


@pytest.fixture
def fast_replica(replica_clean):
    replica_clean.set(captcha_delay=0)
    return replica_clean


@pytest.fixture
def lookup(client, loop_thread, fast_replica):
    # Each test starts from the seeded captchas with no kept token: the shared client would
    # otherwise carry what an earlier test's page taught it (a v3 page, a rotated key).
    client.specs = RegistraduriaClient(client.config).specs
    client.tokens._stock.clear()

    def run(cedula, **kwargs):
        return loop_thread.run(client.lookup(cedula, **kwargs))

    return run


@pytest.fixture
def make_client(replica, loop_thread):
    clients = []

    def make(**overrides) -> RegistraduriaClient:
        clients.append(RegistraduriaClient(client_config(replica, **overrides)))
        return clients[-1]

    yield make
    for extra in clients:
        loop_thread.run(extra.close())


# ---- the census states, on every source ----------------------------------------------------------

CENSUS_STATES = [
    ("1000000004", LookupStatus.FOUND, False),  # SUCRE / SINCELEJO, mesa 13
    ("1000000002", LookupStatus.FOUND, False),  # NARIÑO: the ñ survives
    ("1000000003", LookupStatus.FOUND, False),  # CONSULADOS / ALEMANIA
    ("1000000009", LookupStatus.FOUND, False),  # & " < > in the puesto and address
    ("2000000001", LookupStatus.NOT_FOUND, False),
    ("3000000001", LookupStatus.CANCELLED, True),  # CANCELADA POR MUERTE
    ("3000000002", LookupStatus.CANCELLED, False),  # doble cedulación
    ("3000000008", LookupStatus.CANCELLED, False),  # pérdida de derechos políticos
    ("4000000001", LookupStatus.PENDING, False),
    ("6000000001", LookupStatus.UNKNOWN, False),  # plain "Vigente": no cancellation, no place
]


@pytest.mark.parametrize("source", ALL_SOURCES)
@pytest.mark.parametrize(("cedula", "status", "deceased"), CENSUS_STATES)
def test_every_census_state_is_classified_alike_on_every_source(lookup, source, cedula, status, deceased):
    row = CITIZENS[cedula]

    result = lookup(cedula, source=source)

    assert (result.status, result.source, result.deceased) == (status, source, deceased)
    if status is LookupStatus.FOUND:
        place = (result.departamento, result.municipio, result.puesto, result.direccion, result.mesa)
        assert place == (row["departamento"], row["municipio"], row["puesto"], row["direccion"], row["mesa"])
        # Only eleccionescolombia gives the electoral zone.
        assert result.zona == (row["zona"] if source == "eleccionescolombia" else "")
    else:
        assert (result.departamento, result.puesto, result.mesa, result.zona) == ("", "", "", "")
    if status is LookupStatus.PENDING and source == "wsp":
        # wsp says it in a sentence, not a NOVEDAD table: the text is the message, and the state it
        # names is read by the vocabulary (docs/registraduria.md#vocabulary).
        assert row["novedad"] in result.message
        assert fold(result.novedad) == fold(row["novedad"])
    elif status in (LookupStatus.CANCELLED, LookupStatus.PENDING, LookupStatus.UNKNOWN):
        assert result.novedad == row["novedad"]
    if status is LookupStatus.CANCELLED:
        assert (result.resolucion, result.fecha_novedad) == (row["resolucion"], row["fecha_novedad"])
    assert not result.is_transient


def test_eleccionescolombia_gives_the_zona_of_the_documented_example(lookup):
    result = lookup("1000000004", source="eleccionescolombia")

    assert (result.puesto, result.mesa, result.zona) == ("IE SAN JOSE C I P", "13", "03")
    assert (result.departamento, result.municipio, result.direccion) == (
        "SUCRE",
        "SINCELEJO",
        "CL 22 No. 10A-380",
    )


# ---- the failure states, on every source -----------------------------------------------------------

FAULTS = [
    ("wsp", {"waf": True}, LookupStatus.BLOCKED),
    ("wsp", {"captcha_reject": True}, LookupStatus.CAPTCHA_REJECTED),
    ("wsp", {"upstream_timeout": True}, LookupStatus.SITE_ERROR),
    ("wsp", {"maintenance": True}, LookupStatus.SITE_ERROR),
    ("wsp", {"reload": True}, LookupStatus.SESSION_EXPIRED),
    ("wsp", {"get_500": True}, LookupStatus.SITE_ERROR),
    ("consultacenso", {"consultacenso_waf": True}, LookupStatus.BLOCKED),
    ("consultacenso", {"consultacenso_captcha_reject": True}, LookupStatus.CAPTCHA_REJECTED),
    ("consultacenso", {"consultacenso_down": True}, LookupStatus.SITE_ERROR),
    ("eleccionescolombia", {"ec_waf": True}, LookupStatus.BLOCKED),
    ("eleccionescolombia", {"ec_captcha_reject": True}, LookupStatus.CAPTCHA_REJECTED),
    ("eleccionescolombia", {"ec_down": True}, LookupStatus.SITE_ERROR),
    ("eleccionescolombia", {"ec_upstream_timeout": True}, LookupStatus.SITE_ERROR),
    ("eleccionescolombia", {"ec_maintenance": True}, LookupStatus.SITE_ERROR),
    ("eleccionescolombia", {"ec_get_500": True}, LookupStatus.SITE_ERROR),
    ("eleccionescolombia", {"ec_captcha": "v3", "ec_captcha_reject": True}, LookupStatus.CAPTCHA_REJECTED),
]


@pytest.mark.parametrize(("source", "switches", "status"), FAULTS, ids=lambda v: str(v))
def test_every_failure_state_is_classified_on_every_source(lookup, fast_replica, source, switches, status):
    fast_replica.set(**switches)

    result = lookup("1000000004", source=source)

    assert (result.status, result.source) == (status, source)
    assert result.is_transient
    assert result.puesto == "" and result.zona == ""


@pytest.mark.parametrize("source", ALL_SOURCES)
def test_a_captcha_the_solver_cannot_solve_is_captcha_rejected_on_every_source(
    make_client, loop_thread, fast_replica, source
):
    # A fresh client: the shared one may keep an unsubmitted token that would need no solve.
    fresh = make_client(pool_size=1)
    fast_replica.set(captcha_fail=True)

    result = loop_thread.run(fresh.lookup("1000000004", source=source))

    assert (result.status, result.source) == (LookupStatus.CAPTCHA_REJECTED, source)
    assert "ERROR_CAPTCHA_UNSOLVABLE" in result.error


def test_eleccionescolombia_page_get_500_once_is_retried(make_client, loop_thread, fast_replica):
    # A fresh client: the shared one may have learned the v3 page of another test, and would
    # load the page once more to find it v2 again (tests/scrapers/test_tokens.py).
    fresh = make_client(pool_size=1)
    fast_replica.set(ec_get_500=1)

    result = loop_thread.run(fresh.lookup("1000000004", source="eleccionescolombia"))

    assert result.status is LookupStatus.FOUND
    assert fast_replica.stats()["requests"]["GET /identificacion"] == 2


def test_a_hanging_eleccionescolombia_api_ends_at_the_deadline(make_client, loop_thread, fast_replica):
    impatient = make_client(deadline_seconds=4.0, pool_size=1)
    loop_thread.run(impatient.start())  # the browser launch is not part of the lookup's budget
    fast_replica.set(ec_hang_post=True)

    result = loop_thread.run(impatient.lookup("1000000004", source="eleccionescolombia"), timeout=30)

    assert (result.status, result.timed_out) == (LookupStatus.SITE_ERROR, True)
    assert impatient.pool.stats.pages_retired == 1


# ---- the two captcha paths of eleccionescolombia -----------------------------------------------------


def test_v2_checkbox_path_solves_a_v2_token_and_puts_it_in_the_widget(lookup, fast_replica):
    fast_replica.set(ec_captcha="v2")

    result = lookup("1000000004", source="eleccionescolombia")

    assert (result.status, result.zona) == (LookupStatus.FOUND, "03")
    stats = fast_replica.stats()
    assert stats["outcomes"]["eleccionescolombia:page_v2"] == 1
    assert stats["captcha"]["submitted"] == 1 and "submitted_v3" not in stats["captcha"]
    assert stats["captcha"]["accepted"] == 1


def test_v3_execute_path_solves_a_v3_token_for_the_pages_own_action(make_client, loop_thread, fast_replica):
    # Seeded with the v3 spec the page will show, so the first token is solved for it (a v2
    # seed would be thrown away once the page shows v3: tests/scrapers/test_tokens.py).
    client = make_client(captcha_sitekeys={"eleccionescolombia": f"v3:{EC_SITEKEY}:polling_place"})
    fast_replica.set(ec_captcha="v3")

    def lookup(cedula, **kwargs):
        return loop_thread.run(client.lookup(cedula, **kwargs))

    found = lookup("1000000004", source="eleccionescolombia")
    cancelled = lookup("3000000001", source="eleccionescolombia")
    missing = lookup("2000000001", source="eleccionescolombia")

    assert (found.status, found.zona, found.mesa) == (LookupStatus.FOUND, "03", "13")
    assert (cancelled.status, cancelled.deceased) == (LookupStatus.CANCELLED, True)
    assert missing.status is LookupStatus.NOT_FOUND
    stats = fast_replica.stats()
    assert stats["outcomes"]["eleccionescolombia:page_v3"] == 3
    assert stats["captcha"]["submitted_v3"] == 3 and "submitted" not in stats["captcha"]
    assert stats["captcha"]["accepted_v3"] == 3
    # Google's own execute() was never asked: the page waited for our solved token.
    assert "demo_v3_automated" not in stats["captcha"]


def test_the_v3_page_refuses_the_low_score_token_a_browser_under_automation_gets(browser_page, fast_replica):
    # Control for the test above: without the solver, the page's own execute() is not enough.
    fast_replica.set(ec_captcha="v3")
    browser_page.goto(fast_replica.eleccionescolombia_url)
    browser_page.fill("#document", "1000000004")
    with browser_page.expect_response(lambda r: r.url == fast_replica.eleccionescolombia_api_url) as reply:
        browser_page.click("button:has-text('Consultar')")

    assert reply.value.status == 401
    browser_page.wait_for_function("document.querySelector('#message').textContent.length > 0")
    assert "reCAPTCHA" in browser_page.text_content("#message")
    assert fast_replica.stats()["captcha"]["rejected: score too low"] == 1


# ---- order and fallback ----------------------------------------------------------------------------


def test_eleccionescolombia_as_primary_answers_alone(make_client, loop_thread, fast_replica):
    primary = make_client(sources=("eleccionescolombia", "wsp", "consultacenso"), pool_size=1)

    result = loop_thread.run(primary.lookup("1000000004"))

    assert (result.status, result.source, result.zona) == (LookupStatus.FOUND, "eleccionescolombia", "03")
    by_source = fast_replica.stats()["lookups_by_source"]
    assert by_source["eleccionescolombia"] == {"1000000004": 1}
    assert by_source["wsp"] == {} and by_source["consultacenso"] == {}


def test_eleccionescolombia_answers_when_both_others_are_blocked(lookup, fast_replica):
    fast_replica.set(waf=True, consultacenso_waf=True)

    result = lookup("1000000004")

    assert (result.status, result.source, result.zona) == (LookupStatus.FOUND, "eleccionescolombia", "03")
    outcomes = fast_replica.stats()["outcomes"]
    assert outcomes["wsp:waf"] == 1 and outcomes["consultacenso:waf"] == 1


def test_eleccionescolombia_answers_when_wsp_is_blocked_and_consultacenso_down(lookup, fast_replica):
    fast_replica.set(waf=True, consultacenso_down=True)

    result = lookup("3000000001")

    assert (result.status, result.source, result.deceased) == (
        LookupStatus.CANCELLED,
        "eleccionescolombia",
        True,
    )


def test_a_blocked_eleccionescolombia_primary_falls_back_to_wsp(make_client, loop_thread, fast_replica):
    primary = make_client(sources=("eleccionescolombia", "wsp"), pool_size=1)
    fast_replica.set(ec_waf=True)

    result = loop_thread.run(primary.lookup("1000000004"))

    assert (result.status, result.source, result.zona) == (LookupStatus.FOUND, "wsp", "")


def test_all_three_failing_reports_each_source(lookup, fast_replica):
    fast_replica.set(waf=True, consultacenso_down=True, ec_down=True)

    result = lookup("1000000004")

    assert result.status is LookupStatus.SITE_ERROR and result.is_transient
    assert result.source == "eleccionescolombia"
    for name in ALL_SOURCES:
        assert f"{name}:" in result.error


def test_a_source_left_out_of_the_order_is_never_asked(make_client, loop_thread, fast_replica):
    only_two = make_client(sources=("wsp", "consultacenso"), pool_size=1)
    fast_replica.set(waf=True, consultacenso_down=True)

    result = loop_thread.run(only_two.lookup("1000000004"))

    assert result.status in (LookupStatus.BLOCKED, LookupStatus.SITE_ERROR)
    assert "GET /identificacion" not in fast_replica.stats()["requests"]


def test_a_fourth_source_needs_only_its_registry_entry_and_url(
    make_client, loop_thread, fast_replica, monkeypatch
):
    # Shape check for "one module, one replica module, one setting": a source registered under a
    # new name, with its URL in source_urls, is driven by the client with no other change.
    from scrapers import sources
    from scrapers.sources.base import Source

    copy = sources.SOURCES["eleccionescolombia"]
    monkeypatch.setitem(
        sources.SOURCES,
        "cuarta",
        Source(
            name="cuarta",
            url_setting="REGISTRADURIA_CUARTA_URL",
            replica_path="/identificacion",
            lookup=copy.lookup,
            parse=copy.parse,
        ),
    )
    fourth = make_client(
        sources=("cuarta",), source_urls={"cuarta": fast_replica.eleccionescolombia_url}, pool_size=1
    )

    result = loop_thread.run(fourth.lookup("1000000004"))

    assert (result.status, result.source, result.zona) == (LookupStatus.FOUND, "cuarta", "03")


FULL_CHROMIUM = shutil.which("chromium") or ""


@pytest.mark.parametrize(("source", "switch"), [("wsp", "get_500"), ("eleccionescolombia", "ec_get_500")])
@pytest.mark.skipif(
    not FULL_CHROMIUM,
    reason="only the full chromium leaves a page on its error page (chromium-headless-shell shows "
    "the 500 itself); .ci/run installs it beside the headless shell",
)
def test_a_page_left_on_chromiums_error_page_is_retired_not_reused(
    make_client, loop_thread, fast_replica, source, switch
):
    single = make_client(pool_size=1, chromium_path=FULL_CHROMIUM)
    fast_replica.set(**{switch: True})
    assert loop_thread.run(single.lookup("1000000004", source=source)).error == "GET 500 twice"
    fast_replica.set(**{switch: False})

    # The error page's own reload would otherwise interrupt this navigation.
    result = loop_thread.run(single.lookup("1000000004", source=source))

    assert result.status is LookupStatus.FOUND
    assert (single.pool.stats.pages_retired, single.pool.stats.pages_created) == (1, 2)


@pytest.mark.parametrize(("source", "switch"), [("wsp", "get_500"), ("eleccionescolombia", "ec_get_500")])
def test_a_page_that_got_a_500_twice_serves_the_next_lookup(
    make_client, loop_thread, fast_replica, source, switch
):
    # Whichever browser runs (the headless shell keeps the page on the 500, the full chromium
    # retires it): the next lookup on a one-page pool gets its answer.
    single = make_client(pool_size=1)
    fast_replica.set(**{switch: True})
    assert loop_thread.run(single.lookup("1000000004", source=source)).error == "GET 500 twice"
    fast_replica.set(**{switch: False})

    assert loop_thread.run(single.lookup("1000000004", source=source)).status is LookupStatus.FOUND
    stats = single.pool.stats
    assert stats.pages_created == 1 + stats.pages_retired


LATE_FORM = """<!DOCTYPE html><html><body><main id="root"></main><script>
setTimeout(function () {
  document.getElementById("root").innerHTML = '<input id="document" type="number">';
}, 400);
</script></body></html>"""


def test_a_page_that_builds_its_form_after_load_is_waited_for(loop_thread, fast_replica):
    # The real eleccionescolombia page is a React app: its form exists only once its script ran.
    from scrapers.browser import DESKTOP_CHROME_UA, BrowserPool
    from scrapers.sources.base import Failed, load

    url = fast_replica.base_url + "/app-de-prueba"
    pool = BrowserPool(size=1, user_agent=DESKTOP_CHROME_UA)

    async def attempt(render_ms: float) -> str:
        async with pool.page() as pooled:
            await pooled.page.route(
                url, lambda route: route.fulfill(body=LATE_FORM, content_type="text/html")
            )
            try:
                await load(pooled.page, url, "#document", render_ms=render_ms)
            except Failed as failed:
                return failed.result.error
            return "ready"

    try:
        assert loop_thread.run(attempt(0)) == "page without the form"
        assert loop_thread.run(attempt(3000)) == "ready"
    finally:
        loop_thread.run(pool.close())


def test_a_v3_solve_that_fails_is_captcha_rejected_and_the_page_is_reusable(
    make_client, loop_thread, fast_replica
):
    single = make_client(pool_size=1)
    fast_replica.set(ec_captcha="v3", captcha_fail=1)

    failed = loop_thread.run(single.lookup("1000000004", source="eleccionescolombia"))
    found = loop_thread.run(single.lookup("1000000004", source="eleccionescolombia"))

    assert (failed.status, failed.source) == (LookupStatus.CAPTCHA_REJECTED, "eleccionescolombia")
    assert "ERROR_CAPTCHA_UNSOLVABLE" in failed.error
    assert (found.status, found.zona) == (LookupStatus.FOUND, "03")


def test_a_hung_primary_leaves_half_the_deadline_to_the_fallbacks(make_client, loop_thread, fast_replica):
    three = make_client(deadline_seconds=16.0, pool_size=2)
    loop_thread.run(three.start())  # the browser launch is not part of the lookup's budget
    fast_replica.set(hang_post=True, consultacenso_down=True)

    result = loop_thread.run(three.lookup("1000000004"), timeout=40)

    # wsp hangs for its half (8 s), consultacenso fails at once, eleccionescolombia answers in time.
    assert (result.status, result.source, result.zona) == (LookupStatus.FOUND, "eleccionescolombia", "03")
    assert fast_replica.stats()["outcomes"]["wsp:hang"] == 1


def _chromium_command_lines() -> list[str]:
    import psutil

    lines = []
    for child in psutil.Process().children(recursive=True):
        try:
            lines.append(" ".join(child.cmdline()))
        except psutil.Error:
            continue
    return [line for line in lines if "chrom" in line and "--type=" not in line]


@pytest.mark.parametrize(("js_heap_mb", "flag"), [(64, "--js-flags=--max-old-space-size=64"), (0, None)])
def test_the_js_heap_setting_reaches_the_browser(make_client, loop_thread, fast_replica, js_heap_mb, flag):
    before = set(_chromium_command_lines())
    client = make_client(pool_size=1, js_heap_mb=js_heap_mb, sources=("wsp",))
    assert loop_thread.run(client.lookup("2000000001")).status is LookupStatus.NOT_FOUND
    launched = [line for line in _chromium_command_lines() if line not in before]
    assert launched, "the pool's browser process was not found"
    if flag:
        assert any(flag in line for line in launched), launched
    else:
        assert not any("max-old-space-size" in line for line in launched), launched
