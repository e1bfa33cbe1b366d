"""The replica's pages in a real Chromium: what scrapers written against the real pages look for.

registraduria.md §7 and §8: the wsp result heading and Bootstrap error box, its jQuery submit and
cookies; consultacenso's NOVEDAD table; the eleccionescolombia page and its result view.
"""

from __future__ import annotations

import time

import pytest
import requests

pytestmark = pytest.mark.browser

KEY = "replica-key"
SITEKEYS = {
    "wsp": "6LcthjAgAAAAAFIQLxy52074zanHv47cIvmIHglH",
    "consultacenso": "6LeLRw0tAAAAAOfUZZ34vi2KKHjukhLhQ5lfzuLM",
    "eleccionescolombia": "6Lc9DmgrAAAAAJAjWVhjDy1KSgqzqJikY5z7I9SV",
}


@pytest.fixture
def fast(replica_clean):
    replica_clean.set(captcha_delay=0)
    return replica_clean


def solve(replica, source: str) -> str:
    params = {
        "key": KEY,
        "method": "userrecaptcha",
        "googlekey": SITEKEYS[source],
        "pageurl": replica.base_url,
    }
    job = requests.post(f"{replica.captcha_server}/in.php", data=params, timeout=10).text.removeprefix("OK|")
    for _ in range(200):
        answer = requests.get(
            f"{replica.captcha_server}/res.php", params={"key": KEY, "action": "get", "id": job}, timeout=10
        ).text
        if answer.startswith("OK|"):
            return answer[3:]
        time.sleep(0.05)
    raise AssertionError("no token")


def put_token(page, token: str) -> None:
    page.wait_for_selector("#g-recaptcha-response", state="attached")
    page.evaluate("(t) => { document.querySelector('#g-recaptcha-response').value = t; }", token)


def wsp_submit(page, replica, nuip: str) -> None:
    page.goto(replica.wsp_url)
    page.fill("#nuip", nuip)
    put_token(page, solve(replica, "wsp"))
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.click("#enviar")


# ---- wsp -----------------------------------------------------------------------------------------


def test_wsp_found_result_comes_under_the_real_heading(browser_page, fast):
    wsp_submit(browser_page, fast, "1000000004")

    heading = browser_page.locator("h3", has_text="INFORMACIÓN DEL LUGAR DE VOTACIÓN")
    heading.wait_for(state="visible")
    assert browser_page.locator("#success table#consulta td[data-th='MESA']").text_content() == "13"
    # The heading sits right before the result, as scrapers of the real page expect.
    assert (
        browser_page.evaluate("document.querySelector('#titulo_resultado').nextElementSibling.id")
        == "success"
    )


def test_wsp_not_found_shows_no_place_heading(browser_page, fast):
    wsp_submit(browser_page, fast, "2000000001")

    browser_page.wait_for_function("document.querySelector('#success').textContent.length > 0")
    assert "no se encuentra en el censo" in browser_page.text_content("#success")
    assert not browser_page.locator("#titulo_resultado").is_visible()


def test_wsp_errors_land_in_a_bootstrap_alert_danger_box(browser_page, fast):
    fast.set(captcha_reject=True)
    wsp_submit(browser_page, fast, "1000000004")

    box = browser_page.locator(".alert.alert-danger")
    box.wait_for(state="visible")
    assert "Marque el cuadro de verificación" in box.text_content()
    assert box.get_attribute("id") == "div_error"


def test_wsp_page_submits_through_jquery_and_offers_election_677(browser_page, fast):
    browser_page.goto(fast.wsp_url)

    assert browser_page.evaluate("typeof window.jQuery === 'function' && jQuery.fn.jquery") == "3.7.1"
    values = browser_page.eval_on_selector_all("#tipo option", "options => options.map(o => o.value)")
    assert values[0] == "-1" and "677" in values
    # An empty captcha is refused by the page's own script, without a POST.
    browser_page.fill("#nuip", "1000000004")
    browser_page.click("#enviar")
    browser_page.locator("#div_error").wait_for(state="visible")
    assert "No soy un robot" in browser_page.text_content("#error")
    assert "POST /censo/consultar/" not in fast.stats()["requests"]


def test_chromium_keeps_the_secure_httponly_session_cookie_on_loopback_http(browser_page, fast):
    browser_page.goto(fast.wsp_url)

    cookies = {c["name"]: c for c in browser_page.context.cookies()}
    assert cookies["PHPSESSID"]["secure"] and cookies["PHPSESSID"]["httpOnly"]
    assert cookies["cookiesession1"]["httpOnly"] and not cookies["cookiesession1"]["secure"]
    # HttpOnly: the page's scripts cannot read it.
    assert "PHPSESSID" not in browser_page.evaluate("document.cookie")
    # And the browser sends it back over plain HTTP on 127.0.0.1: the next load keeps the session.
    browser_page.goto(fast.wsp_url)
    assert fast.stats()["outcomes"]["wsp:page_same_session"] == 1


# ---- consultacenso -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nuip", "novedad", "resolucion", "fecha"),
    [
        ("3000000001", "CANCELADA POR MUERTE", "1234 de 2024", "15/03/2024"),
        ("4000000001", "Pendiente por estar en Proceso de Expedición", "", ""),
    ],
)
def test_consultacenso_shows_novedades_as_a_novedad_table(
    browser_page, fast, nuip, novedad, resolucion, fecha
):
    browser_page.goto(fast.consultacenso_url)
    browser_page.wait_for_function("document.querySelectorAll('#eleccion option').length > 0")
    browser_page.fill("#documento", nuip)
    put_token(browser_page, solve(fast, "consultacenso"))
    browser_page.click("#consultar")

    table = browser_page.locator("#resultado table")
    table.wait_for()
    headers = table.locator("th").all_text_contents()
    assert headers == ["NUIP", "NOVEDAD", "RESOLUCIÓN", "FECHA NOVEDAD"]
    cells = {td.get_attribute("data-th"): td.text_content() for td in table.locator("td").all()}
    assert cells == {"NUIP": nuip, "NOVEDAD": novedad, "RESOLUCIÓN": resolucion, "FECHA NOVEDAD": fecha}


def test_consultacenso_not_found_is_said_in_words(browser_page, fast):
    browser_page.goto(fast.consultacenso_url)
    browser_page.wait_for_function("document.querySelectorAll('#eleccion option').length > 0")
    browser_page.fill("#documento", "2000000001")
    put_token(browser_page, solve(fast, "consultacenso"))
    browser_page.click("#consultar")

    browser_page.wait_for_function("document.querySelector('#mensaje').textContent.length > 0")
    assert "no se encuentra en el censo" in browser_page.text_content("#mensaje")


def test_consultacenso_lives_at_consultar_with_the_old_path_as_alias(fast):
    real = requests.get(f"{fast.base_url}/consultar/", timeout=10)
    alias = requests.get(f"{fast.base_url}/consultacenso/", timeout=10)

    assert real.status_code == alias.status_code == 200
    assert real.text == alias.text and 'id="documento"' in real.text


# ---- eleccionescolombia ------------------------------------------------------------------------------


def test_eleccionescolombia_page_has_the_real_markup(browser_page, fast):
    browser_page.goto(fast.eleccionescolombia_url)

    assert browser_page.title() == "Elecciones Colombia"
    assert browser_page.locator("h1").first.text_content() == "¿Dónde puedo votar?"
    document = browser_page.locator("input#document")
    assert document.get_attribute("type") == "number" and document.get_attribute("maxlength") == "11"
    assert document.get_attribute("placeholder") == "Ej: 12345678"
    assert browser_page.locator("label[for=document]").text_content() == "Ingresa tu cédula de ciudadanía"
    assert browser_page.get_by_text("Ingresa tu número de documento sin puntos").count() == 1
    assert browser_page.get_by_role("button", name="Consultar").count() == 1
    assert (
        browser_page.locator(".g-recaptcha").get_attribute("data-sitekey") == SITEKEYS["eleccionescolombia"]
    )


def test_eleccionescolombia_v3_page_loads_api_js_with_render_and_no_checkbox(browser_page, fast):
    fast.set(ec_captcha="v3")
    browser_page.goto(fast.eleccionescolombia_url)

    scripts = browser_page.eval_on_selector_all("script[src]", "s => s.map(x => x.getAttribute('src'))")
    assert f"/recaptcha/api.js?render={SITEKEYS['eleccionescolombia']}" in scripts
    assert browser_page.locator(".g-recaptcha").count() == 0
    assert browser_page.locator("#g-recaptcha-response").count() == 0


def test_eleccionescolombia_result_view_shows_puesto_mesa_zona_then_place(browser_page, fast):
    browser_page.goto(fast.eleccionescolombia_url)
    browser_page.fill("#document", "1000000004")
    put_token(browser_page, solve(fast, "eleccionescolombia"))
    browser_page.get_by_role("button", name="Consultar").click()

    browser_page.locator("#polling dl").wait_for()
    terms = browser_page.locator("#polling dt").all_text_contents()
    values = browser_page.locator("#polling dd").all_text_contents()
    assert terms == ["Puesto", "Mesa", "Zona", "Departamento", "Municipio", "Dirección"]
    assert values == ["02 - IE SAN JOSE C I P", "13", "03", "SUCRE", "SINCELEJO", "CL 22 No. 10A-380"]
    assert browser_page.url.endswith("/Polling")


def test_eleccionescolombia_without_a_ticked_box_says_so_and_sends_nothing(browser_page, fast):
    browser_page.goto(fast.eleccionescolombia_url)
    browser_page.fill("#document", "1000000004")
    browser_page.get_by_role("button", name="Consultar").click()

    browser_page.wait_for_function("document.querySelector('#message').textContent.length > 0")
    assert "No soy un robot" in browser_page.text_content("#message")
    assert "POST /api/v1/citizen/get-information" not in fast.stats()["requests"]
