"""The local replica, over real HTTP: markup, sessions, check order, every state, every switch, 2captcha."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from twocaptcha import TwoCaptcha
from twocaptcha.api import ApiClient
from twocaptcha.exceptions.api import ApiException, NetworkException

from scrapers.registraduria import LookupStatus, parse_consultacenso, parse_response
from scrapers.replica.captcha import TokenAuthority
from scrapers.text import fold
from tests.fixtures.processes import start_replica, stop_replica

WSP_SITEKEY = "6LcthjAgAAAAAFIQLxy52074zanHv47cIvmIHglH"
CC_SITEKEY = "6LeLRw0tAAAAAOfUZZ34vi2KKHjukhLhQ5lfzuLM"
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
)
HEADLESS_UA = DESKTOP_UA.replace("Chrome/", "HeadlessChrome/")
CITIZENS = json.loads(
    (Path(__file__).resolve().parents[2] / "scrapers" / "replica" / "citizens.json").read_text("utf-8")
)
KEY = "replica-key"
TIMEOUT = 10


@pytest.fixture(autouse=True)
def fast(replica_clean):
    """Default switches, zeroed counters, and captchas solved at once (tests that need a delay set one).

    ``requests`` (unlike Chromium) never sends a ``secure`` cookie over plain HTTP, not even to
    loopback, so these tests run with ``secure_cookies`` off (the adaptation docs/replica.md
    describes); the test of the cookie itself turns it back on.
    """
    replica_clean.set(captcha_delay=0, secure_cookies=False)
    return replica_clean


def browser_session(ua: str = DESKTOP_UA) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = ua
    return session


class Markup(HTMLParser):
    """Elements by id, plus every tag's attributes, of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_id: dict[str, tuple[str, dict[str, str]]] = {}
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.options: list[tuple[str, str]] = []
        self._option: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.by_id[attributes["id"]] = (tag, attributes)
        if tag == "option":
            self._option = attributes.get("value", "")

    def handle_data(self, data):
        if self._option is not None:
            self.options.append((self._option, data.strip()))
            self._option = None


def load_page(replica, session: requests.Session) -> tuple[requests.Response, str]:
    response = session.get(replica.wsp_url, timeout=TIMEOUT)
    match = re.search(r'id="token" value="([0-9a-f]*)"', response.text)
    return response, match.group(1) if match else ""


def solve(replica, sitekey: str = WSP_SITEKEY) -> str:
    """A captcha token from the 2captcha stand-in, via its raw HTTP API."""
    params = {"key": KEY, "method": "userrecaptcha", "googlekey": sitekey, "pageurl": replica.wsp_url}
    reply = requests.post(f"{replica.captcha_server}/in.php", data=params, timeout=TIMEOUT).text
    assert reply.startswith("OK|"), reply
    job = reply[3:]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = requests.get(
            f"{replica.captcha_server}/res.php",
            params={"key": KEY, "action": "get", "id": job},
            timeout=TIMEOUT,
        ).text
        if answer != "CAPCHA_NOT_READY":
            assert answer.startswith("OK|"), answer
            return answer[3:]
        time.sleep(0.05)
    raise AssertionError("the 2captcha stand-in never answered")


def post_lookup(
    replica, session, *, nuip: str, token: str, captcha: str, tipo: str = "-1", multipart: bool = True
) -> requests.Response:
    fields = {"nuip": nuip, "tipo": tipo, "token": token, "g-recaptcha-response": captcha}
    if multipart:  # what the page's FormData sends
        return session.post(replica.wsp_url, files={k: (None, v) for k, v in fields.items()}, timeout=TIMEOUT)
    return session.post(replica.wsp_url, data=fields, timeout=TIMEOUT)


def full_lookup(replica, nuip: str, session: requests.Session | None = None) -> requests.Response:
    session = session or browser_session()
    _, token = load_page(replica, session)
    return post_lookup(replica, session, nuip=nuip, token=token, captcha=solve(replica))


# ---- the wsp page --------------------------------------------------------------------------------


def test_the_page_has_the_real_form(replica):
    response = browser_session().get(replica.wsp_url, timeout=TIMEOUT)
    assert response.status_code == 200
    page = Markup(response.text)
    assert page.by_id["form"][0] == "form"
    tag, nuip = page.by_id["nuip"]
    assert (tag, nuip["name"], nuip["maxlength"]) == ("input", "nuip", "10")
    assert page.by_id["tipo"][0] == "select" and page.by_id["tipo"][1]["name"] == "tipo"
    assert page.options[0] == ("-1", "LUGAR DE VOTACIÓN ACTUAL")
    assert len(page.options) >= 2 and page.options[1][0] != "-1"
    tag, token = page.by_id["token"]
    assert (token["type"], token["name"]) == ("hidden", "token")
    assert re.fullmatch(r"[0-9a-f]{32}", token["value"])
    captcha = [a for t, a in page.tags if t == "div" and "g-recaptcha" in a.get("class", "").split()]
    assert captcha and captcha[0]["data-sitekey"] == WSP_SITEKEY
    assert any(t == "script" and a.get("src", "").endswith("/recaptcha/api.js") for t, a in page.tags)
    tag, submit = page.by_id["enviar"]
    assert (tag, submit["type"]) == ("input", "submit")
    assert {"success", "error", "div_error"} <= page.by_id.keys()
    assert "Marque el cuadro de verificación (Captcha: No soy un robot)" in response.text


def test_the_page_submits_with_jquery_from_functions_js(replica):
    page = requests.get(replica.wsp_url, timeout=TIMEOUT).text
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert "/censo/public/js/functions.js" in sources
    jquery = next(src for src in sources if "jquery" in src)
    assert sources.index(jquery) < sources.index("/censo/public/js/functions.js")
    script = requests.get(replica.base_url + "/censo/public/js/functions.js", timeout=TIMEOUT)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    for needle in (
        "grecaptcha.getResponse()",
        "new FormData()",
        '"g-recaptcha-response"',
        "location.reload()",
        "$.ajax(",
        'dataType: "json"',
    ):
        assert needle in script.text
    library = requests.get(replica.base_url + jquery, timeout=TIMEOUT)
    assert library.status_code == 200 and library.text.startswith("/*! jQuery v3.7.1")
    assert "max-age" in library.headers["Cache-Control"]  # pooled pages keep it in their HTTP cache


def test_the_vendored_jquery_ships_with_its_license():
    vendor = Path(__file__).resolve().parents[2] / "scrapers" / "replica" / "static" / "vendor" / "jquery"
    assert "Permission is hereby granted" in (vendor / "LICENSE").read_text("utf-8")
    assert (vendor / "jquery.min.js").read_text("utf-8").startswith("/*! jQuery v3.7.1")


def test_api_js_defines_the_grecaptcha_api(replica):
    response = requests.get(f"{replica.base_url}/recaptcha/api.js", timeout=TIMEOUT)
    assert response.status_code == 200
    assert "javascript" in response.headers["Content-Type"]
    for needle in ("getResponse", "reset", "render", '"g-recaptcha-response"', "display: none", "webdriver"):
        assert needle in response.text


def test_the_session_cookie_is_set_once_and_the_token_changes_on_every_load(replica):
    replica.set(secure_cookies=True)
    first, token1 = load_page(replica, browser_session())
    cookies = first.raw.headers.getlist("Set-Cookie")
    phpsessid = next(c for c in cookies if c.startswith("PHPSESSID="))
    assert phpsessid.endswith("; path=/; secure; HttpOnly")  # as PHP sends it, like the real site
    f5 = next(c for c in cookies if c.startswith("cookiesession1="))
    assert re.fullmatch(r"cookiesession1=[0-9A-F]{32};Path=/;HttpOnly", f5)
    # A browser keeps and sends a secure cookie on http://127.0.0.1 (a potentially trustworthy
    # origin); requests would not, so the second load sends both cookies by hand.
    session = browser_session()
    session.headers["Cookie"] = "; ".join(cookie.split(";")[0] for cookie in cookies)
    second, token2 = load_page(replica, session)
    assert "Set-Cookie" not in second.headers
    assert re.fullmatch(r"[0-9a-f]{32}", token1) and re.fullmatch(r"[0-9a-f]{32}", token2)
    assert token1 != token2


def test_plain_http_clients_get_the_session_cookie_without_secure_when_switched_off(replica):
    replica.set(secure_cookies=False)
    cookies = browser_session().get(replica.wsp_url, timeout=TIMEOUT).raw.headers.getlist("Set-Cookie")
    assert next(c for c in cookies if c.startswith("PHPSESSID=")).endswith("; path=/; HttpOnly")


# ---- sessions and the check order ----------------------------------------------------------------


def test_the_token_belongs_to_its_session(replica):
    alice, bob = browser_session(), browser_session()
    _, alice_token = load_page(replica, alice)
    load_page(replica, bob)
    reply = post_lookup(replica, bob, nuip="1000000001", token=alice_token, captcha=solve(replica))
    assert reply.json()["reload"] is True
    assert parse_response(reply.text).status is LookupStatus.SESSION_EXPIRED


def test_a_post_without_the_cookie_must_reload(replica):
    _, token = load_page(replica, browser_session())
    reply = post_lookup(replica, browser_session(), nuip="1000000001", token=token, captcha=solve(replica))
    assert parse_response(reply.text).status is LookupStatus.SESSION_EXPIRED


def test_a_new_page_load_replaces_the_previous_token(replica):
    session = browser_session()
    _, old = load_page(replica, session)
    _, new = load_page(replica, session)
    stale = post_lookup(replica, session, nuip="1000000001", token=old, captcha=solve(replica))
    assert parse_response(stale.text).status is LookupStatus.SESSION_EXPIRED
    fresh = post_lookup(replica, session, nuip="1000000001", token=new, captcha=solve(replica))
    assert parse_response(fresh.text).status is LookupStatus.FOUND


def test_the_token_survives_a_post_but_the_captcha_does_not(replica):
    session = browser_session()
    _, token = load_page(replica, session)
    captcha = solve(replica)
    first = post_lookup(replica, session, nuip="1000000001", token=token, captcha=captcha)
    again = post_lookup(replica, session, nuip="1000000001", token=token, captcha=captcha)
    third = post_lookup(replica, session, nuip="1000000002", token=token, captcha=solve(replica))
    assert parse_response(first.text).status is LookupStatus.FOUND
    assert parse_response(again.text).status is LookupStatus.CAPTCHA_REJECTED
    assert parse_response(third.text).departamento == "NARIÑO"


def test_check_order_waf_then_session_then_captcha_then_nuip(replica):
    headless = browser_session(HEADLESS_UA)
    waf = post_lookup(replica, headless, nuip="0abc", token="nope", captcha="")
    assert waf.status_code == 200 and parse_response(waf.text).status is LookupStatus.BLOCKED

    session = browser_session()
    _, token = load_page(replica, session)
    reload = post_lookup(replica, session, nuip="0abc", token="nope", captcha="")
    assert parse_response(reload.text).status is LookupStatus.SESSION_EXPIRED

    captcha = post_lookup(replica, session, nuip="0abc", token=token, captcha="")
    assert parse_response(captcha.text).status is LookupStatus.CAPTCHA_REJECTED

    bad_nuip = post_lookup(replica, session, nuip="0abc", token=token, captcha=solve(replica))
    body = bad_nuip.json()
    assert body["success"] is False and "documento" in body["data"]["message"]
    assert parse_response(bad_nuip.text).status is LookupStatus.UNKNOWN
    assert replica.stats()["lookups_total"] == 0


@pytest.mark.parametrize("nuip", ["12", "0123456", "12345678901", "1.000.001", "12a45", ""])
def test_malformed_nuips_are_refused_without_a_lookup(replica, nuip):
    reply = full_lookup(replica, nuip)
    assert reply.json()["success"] is False
    assert replica.stats()["lookups_total"] == 0


def test_an_unknown_tipo_is_refused(replica):
    session = browser_session()
    _, token = load_page(replica, session)
    reply = post_lookup(replica, session, nuip="1000000001", token=token, captcha=solve(replica), tipo="999")
    assert reply.json()["success"] is False


def test_url_encoded_posts_and_the_path_without_slash_work_too(replica):
    session = browser_session()
    _, token = load_page(replica, session)
    fields = {"nuip": "1000000001", "tipo": "-1", "token": token, "g-recaptcha-response": solve(replica)}
    reply = session.post(replica.wsp_url.rstrip("/"), data=fields, timeout=TIMEOUT)
    assert parse_response(reply.text).status is LookupStatus.FOUND


# ---- every state, replica -> parser --------------------------------------------------------------


def expected_status(row: dict) -> LookupStatus:
    return {
        "found": LookupStatus.FOUND,
        "not_found": LookupStatus.NOT_FOUND,
        "cancelled": LookupStatus.CANCELLED,
        "pending": LookupStatus.PENDING,
        # A valid cédula is no cancellation: the parser keeps the novedad and says UNKNOWN.
        "vigente": LookupStatus.UNKNOWN,
    }[row["estado"]]


def assert_matches_row(result, row: dict) -> None:
    assert result.status is expected_status(row), (row, result)
    for name in ("departamento", "municipio", "puesto", "direccion", "mesa"):
        assert getattr(result, name) == row.get(name, ""), (name, row, result)
    if row["estado"] in ("cancelled", "vigente"):
        assert (result.novedad, result.resolucion, result.fecha_novedad) == (
            row["novedad"],
            row.get("resolucion", ""),
            row.get("fecha_novedad", ""),
        )
        assert result.deceased is ("muerte" in row["novedad"].lower())
    if row["estado"] == "not_found":
        assert row["nuip"] in result.message


def test_the_census_has_every_state_and_the_contract_rows():
    by_nuip = {row["nuip"]: row for row in CITIZENS}
    assert len(CITIZENS) >= 30
    assert {row["estado"] for row in CITIZENS} == {"found", "not_found", "cancelled", "pending", "vigente"}
    assert by_nuip["6000000001"]["novedad"] == "Vigente"
    assert by_nuip["1000000004"]["direccion"] == "CL 22 No. 10A-380"
    assert by_nuip["3000000001"]["novedad"] == "CANCELADA POR MUERTE"
    assert by_nuip["4000000001"]["novedad"] == "Pendiente por estar en Proceso de Expedición"
    assert {"NARIÑO", "BOGOTA D.C.", "CONSULADOS"} <= {row.get("departamento") for row in CITIZENS}


# docs/registraduria.md#novedades: the ANI novedad states.
OFFICIAL_NOVEDADES = (
    "Vigente",
    "Vigente con Pérdida o Suspensión de los Derechos Políticos",
    "Cancelada por Muerte",
    "Cancelada por Doble Cedulación",
    "Cancelada por Suplantación",
    "Cancelada por Menoría de Edad",
    "Cancelada por Extranjería",
    "Cancelada por Mala Elaboración",
    "Cancelada por Falsa Identidad",
    "Baja por Perdida o Suspension de los Derechos Politicos",
    "Pendiente Solicitud en Reproceso",
    "Pendiente por estar en Proceso de Expedición",
)


def test_the_census_has_a_citizen_for_every_official_novedad():
    in_census = {fold(row["novedad"]) for row in CITIZENS if row.get("novedad")}
    assert {fold(novedad) for novedad in OFFICIAL_NOVEDADES} <= in_census


def test_every_citizen_round_trips_through_wsp_and_the_parser(replica):
    session = browser_session()
    _, token = load_page(replica, session)
    for row in CITIZENS:
        reply = post_lookup(replica, session, nuip=row["nuip"], token=token, captcha=solve(replica))
        assert reply.status_code == 200
        assert_matches_row(parse_response(reply.text), row)
    stats = replica.stats()
    assert stats["lookups_by_source"]["wsp"] == {row["nuip"]: 1 for row in CITIZENS}


def test_the_found_body_is_byte_for_byte_the_captured_one(replica):
    expected = (
        '{"success": true, "data": {"message": "<div class=\'table-responsive\'><table class=\'display '
        "responsive table table-bordered table-striped' id='consulta'><thead><tr><th class='text-center'>"
        "NUIP</th><th class='text-center'>DEPARTAMENTO</th><th class='text-center'>MUNICIPIO</th><th "
        "class='text-center'>PUESTO</th><th class='text-center'>DIRECCIÓN</th><th class='text-center'>MESA"
        "</th></tr></thead><tbody><tr><td data-th='NUIP'>1000000004</td><td data-th='DEPARTAMENTO'>SUCRE"
        "</td><td data-th='MUNICIPIO'>SINCELEJO</td><td data-th='PUESTO'>IE SAN JOSE C I P</td><td "
        "data-th='DIRECCIÓN'>CL 22 No. 10A-380</td><td data-th='MESA' class='text-center'><b>13</b></td>"
        "</tr></tbody></table></p></div><h3><b>Señor Ciudadano:</b></h3><h4 style='font-weight: 400 "
        "!important;'>Si usted realizó su trámite de inscripción, recuerde que éste se verá reflejado una "
        "vez sea validado y se conforme el censo electoral definitivo para las elecciones de Congreso, "
        'presidente y vicepresidente de la República 2026.</h4>"}}'
    )
    reply = full_lookup(replica, "1000000004")
    assert reply.content.decode("utf-8") == expected


def test_ampersands_quotes_and_brackets_are_escaped_in_the_body(replica):
    reply = full_lookup(replica, "1000000009")
    assert "SANTANDER &amp; CIA &quot;SEDE A&quot;" in reply.text
    assert "&lt;INT 2&gt;" in reply.text
    result = parse_response(reply.text)
    assert result.puesto == 'COLEGIO SANTANDER & CIA "SEDE A"'
    assert result.direccion == "CL 45 # 27 - 10 <INT 2>"


def test_a_valid_cedula_missing_from_the_file_is_not_in_the_census(replica):
    reply = full_lookup(replica, "987654321")
    result = parse_response(reply.text)
    assert result.status is LookupStatus.NOT_FOUND
    assert result.message == (
        "El documento de identidad número 987654321 no se encuentra en el censo para esta elección."
    )


# ---- captcha tokens ------------------------------------------------------------------------------


def test_tokens_for_the_other_sitekey_or_forged_ones_are_rejected(replica):
    session = browser_session()
    _, token = load_page(replica, session)
    for captcha in (solve(replica, CC_SITEKEY), "03AGdBq2" + "x" * 400, solve(replica)[:-2] + "00"):
        reply = post_lookup(replica, session, nuip="1000000001", token=token, captcha=captcha)
        assert parse_response(reply.text).status is LookupStatus.CAPTCHA_REJECTED


def test_the_demo_checkbox_endpoint_issues_a_token_the_site_accepts(replica):
    demo = requests.post(
        f"{replica.base_url}/recaptcha/api2/demo-verify", data={"k": WSP_SITEKEY}, timeout=TIMEOUT
    ).json()
    assert demo["success"] is True
    session = browser_session()
    _, token = load_page(replica, session)
    reply = post_lookup(replica, session, nuip="1000000001", token=token, captcha=demo["token"])
    assert parse_response(reply.text).status is LookupStatus.FOUND
    bad = requests.post(f"{replica.base_url}/recaptcha/api2/demo-verify", data={"k": "x"}, timeout=TIMEOUT)
    assert bad.json()["success"] is False
    assert replica.stats()["captcha"]["demo"] == 1


def test_token_authority_rejects_expired_and_reused_tokens():
    expired = TokenAuthority(lifetime=-1)
    assert expired.verify(expired.issue(WSP_SITEKEY), WSP_SITEKEY) == "expired"
    authority = TokenAuthority()
    token = authority.issue(WSP_SITEKEY)
    assert authority.verify(token, CC_SITEKEY) == "wrong sitekey"
    assert authority.verify(token, WSP_SITEKEY) == ""
    assert authority.verify(token, WSP_SITEKEY) == "already used"
    assert TokenAuthority().verify(authority.issue(WSP_SITEKEY), WSP_SITEKEY) == "bad signature"


# ---- switches ------------------------------------------------------------------------------------


def test_get_500_once_then_the_page(replica):
    replica.set(get_500=1)
    session = browser_session()
    first = session.get(replica.wsp_url, timeout=TIMEOUT)
    second = session.get(replica.wsp_url, timeout=TIMEOUT)
    assert (first.status_code, first.content) == (500, b"")
    assert second.status_code == 200 and 'id="token"' in second.text
    assert replica.state()["get_500"] is False


def test_headless_chrome_meets_the_waf_on_get_and_post(replica):
    session = browser_session(HEADLESS_UA)
    page = session.get(replica.wsp_url, timeout=TIMEOUT)
    assert page.status_code == 500
    assert "se presentó un evento de seguridad" in page.text
    assert 'class="blocked"' in page.text and "<h3>" in page.text
    post = post_lookup(replica, session, nuip="1000000001", token="x", captcha="y")
    assert post.status_code == 200
    assert parse_response(post.text).status is LookupStatus.BLOCKED


def test_waf_headless_can_be_switched_off(replica):
    replica.set(waf_headless=False)
    session = browser_session(HEADLESS_UA)
    _, token = load_page(replica, session)
    reply = post_lookup(replica, session, nuip="1000000001", token=token, captcha=solve(replica))
    assert parse_response(reply.text).status is LookupStatus.FOUND


def test_forced_waf_blocks_posts_only_for_the_count(replica):
    replica.set(waf=2)
    session = browser_session()
    _, token = load_page(replica, session)
    results = [
        parse_response(
            post_lookup(replica, session, nuip="1000000001", token=token, captcha=solve(replica)).text
        )
        for _ in range(3)
    ]
    assert [r.status for r in results] == [LookupStatus.BLOCKED, LookupStatus.BLOCKED, LookupStatus.FOUND]


@pytest.mark.parametrize(
    ("switch", "status", "text"),
    [
        ("reload", LookupStatus.SESSION_EXPIRED, ""),
        ("captcha_reject", LookupStatus.CAPTCHA_REJECTED, "Marque el cuadro de verificación"),
        (
            "upstream_timeout",
            LookupStatus.SITE_ERROR,
            "Curl error: Operation timed out after 15008 milliseconds",
        ),
        ("maintenance", LookupStatus.SITE_ERROR, "La información se encuentra en actualización."),
    ],
)
def test_count_limited_reply_switches(replica, switch, status, text):
    replica.set(**{switch: 1})
    session = browser_session()
    _, token = load_page(replica, session)
    first = parse_response(
        post_lookup(replica, session, nuip="1000000001", token=token, captcha=solve(replica)).text
    )
    second = parse_response(
        post_lookup(replica, session, nuip="1000000001", token=token, captcha=solve(replica)).text
    )
    assert first.status is status
    assert text in first.message
    assert first.timed_out is False
    assert second.status is LookupStatus.FOUND
    assert replica.stats()["lookups"] == {"1000000001": 1}


def test_always_on_switch_stays_on_until_reset(replica):
    replica.set(maintenance=True)
    for _ in range(3):
        assert parse_response(full_lookup(replica, "1000000001").text).status is LookupStatus.SITE_ERROR
    replica.reset()
    replica.set(captcha_delay=0, secure_cookies=False)
    assert parse_response(full_lookup(replica, "1000000001").text).status is LookupStatus.FOUND


def test_switches_fire_only_at_their_stage(replica):
    # reload=1 is not used up by a request the WAF stops first.
    replica.set(reload=1)
    blocked = post_lookup(replica, browser_session(HEADLESS_UA), nuip="1", token="x", captcha="y")
    assert parse_response(blocked.text).status is LookupStatus.BLOCKED
    assert replica.state()["reload"] == 1


def test_latency_delays_site_replies(replica):
    replica.set(latency=0.3)
    started = time.monotonic()
    requests.get(replica.wsp_url, timeout=TIMEOUT)
    assert time.monotonic() - started >= 0.3
    control = replica.state()  # the control endpoint is never delayed
    assert control["latency"] == 0.3


@pytest.mark.parametrize(
    ("switch", "method"), [("hang_get", "GET"), ("hang_post", "POST"), ("hang", "GET"), ("hang", "POST")]
)
def test_hang_switches_never_answer_then_recover(replica, switch, method):
    replica.set(**{switch: 1})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.request(method, replica.wsp_url, data={"nuip": "1"}, timeout=0.5)
    assert replica.state()[switch] is False
    assert requests.get(replica.wsp_url, timeout=TIMEOUT).status_code == 200
    assert replica.stats()["outcomes"]["wsp:hang"] == 1


def test_control_rejects_unknown_switches_and_bad_values(replica):
    for payload in ({"nope": True}, {"latency": "slow"}, {"get_500": -1}, {"waf_headless": "x"}, [1]):
        response = requests.post(f"{replica.base_url}/__control__", json=payload, timeout=TIMEOUT)
        assert response.status_code == 400
        assert "error" in response.json()
    assert replica.state()["get_500"] is False


def test_reset_restores_defaults_and_zeroes_counters(replica):
    full_lookup(replica, "1000000001")
    replica.set(waf=True, get_500=3, latency=0.1, captcha_fail=True, waf_headless=False)
    state = replica.reset()
    assert state["waf"] is False and state["get_500"] is False and state["captcha_fail"] is False
    assert state["latency"] == 0.0 and state["waf_headless"] is True and state["captcha_delay"] == 0.5
    stats = replica.stats()
    assert stats["lookups_total"] == 0 and stats["requests"] == {}


def test_stats_count_requests_captchas_and_lookups(replica):
    session = browser_session()
    for nuip in ("1000000001", "1000000001", "3000000001"):
        full_lookup(replica, nuip, session)
    stats = replica.stats()
    assert stats["requests"]["GET /censo/consultar/"] == 3
    assert stats["requests"]["POST /censo/consultar/"] == 3
    assert stats["requests"]["POST /in.php"] == 3
    assert stats["captcha"]["submitted"] == 3 and stats["captcha"]["solved"] == 3
    assert stats["captcha"]["accepted"] == 3
    assert stats["lookups"] == {"1000000001": 2, "3000000001": 1}
    assert stats["outcomes"]["wsp:found"] == 2 and stats["outcomes"]["wsp:cancelled"] == 1
    assert stats["sessions"] >= 1


def test_hits_give_each_request_its_arrival_time(replica):
    replica.reset()
    session = browser_session()
    before = time.time()
    for nuip in ("1000000001", "3000000001"):
        full_lookup(replica, nuip, session)
    hits = replica.hits()
    posts = hits["POST /censo/consultar/"]
    assert len(posts) == 2 and len(hits["GET /censo/consultar/"]) == 2
    assert before <= posts[0] <= posts[1] <= time.time()
    assert "GET /__control__/hits" not in hits  # control calls are not counted
    replica.reset()
    assert replica.hits() == {}


def test_sixteen_concurrent_clients_all_get_answers(replica):
    nuips = [row["nuip"] for row in CITIZENS if row["estado"] == "found"]

    def one(index: int):
        return parse_response(full_lookup(replica, nuips[index % len(nuips)]).text).status

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(one, range(48)))
    assert statuses == [LookupStatus.FOUND] * 48
    assert replica.stats()["lookups_total"] == 48


# ---- 2captcha stand-in with the official client ----------------------------------------------------


class HttpApiClient(ApiClient):
    """The official ApiClient hard-codes https://; the replica speaks plain HTTP on loopback."""

    def __init__(self, base_url: str) -> None:
        super().__init__(post_url=base_url)
        self.base_url = base_url.rstrip("/")

    def in_(self, files=None, **kwargs):
        return self._check(requests.post(f"{self.base_url}/in.php", data=kwargs, timeout=TIMEOUT))

    def res(self, **kwargs):
        return self._check(requests.get(f"{self.base_url}/res.php", params=kwargs, timeout=TIMEOUT))

    @staticmethod
    def _check(response):
        if response.status_code != 200:
            raise NetworkException(f"bad response: {response.status_code}")
        text = response.content.decode("utf-8")
        if "ERROR" in text:
            raise ApiException(text)
        return text


def official_solver(replica, key: str = KEY, **options) -> TwoCaptcha:
    solver = TwoCaptcha(key, pollingInterval=1, recaptchaTimeout=20, **options)
    solver.api_client = HttpApiClient(replica.captcha_server)
    return solver


def test_the_official_client_cannot_reach_plain_http_by_server_name_alone(replica):
    host_port = replica.base_url.removeprefix("http://")
    solver = TwoCaptcha(KEY, server=host_port, pollingInterval=1)
    with pytest.raises(NetworkException):  # it always builds https://<server>/in.php
        solver.recaptcha(sitekey=WSP_SITEKEY, url=replica.wsp_url)


def test_the_official_client_solves_and_the_site_accepts_the_token(replica):
    replica.set(captcha_delay=1.0)
    started = time.monotonic()
    result = official_solver(replica).recaptcha(sitekey=WSP_SITEKEY, url=replica.wsp_url)
    assert time.monotonic() - started >= 1.0  # the solve delay is honoured
    assert set(result) == {"captchaId", "code"}
    stats = replica.stats()["captcha"]
    assert stats["not_ready"] >= 1 and stats["solved"] == 1
    session = browser_session()
    _, token = load_page(replica, session)
    reply = post_lookup(replica, session, nuip="1000000002", token=token, captcha=result["code"])
    assert parse_response(reply.text).departamento == "NARIÑO"


def test_the_official_client_with_json_replies(replica):
    result = official_solver(replica, extendedResponse=True).recaptcha(sitekey=CC_SITEKEY, url="http://x/")
    assert result["code"].startswith("03r.")
    raw = requests.get(
        f"{replica.captcha_server}/in.php",
        params={"key": KEY, "method": "userrecaptcha", "googlekey": CC_SITEKEY, "pageurl": "u", "json": 1},
        timeout=TIMEOUT,
    ).json()
    assert raw["status"] == 1 and raw["request"].isdigit()


def test_the_official_client_sees_unsolvable_and_wrong_key(replica):
    replica.set(captcha_fail=1)
    with pytest.raises(ApiException, match="ERROR_CAPTCHA_UNSOLVABLE"):
        official_solver(replica).recaptcha(sitekey=WSP_SITEKEY, url=replica.wsp_url)
    assert official_solver(replica).recaptcha(sitekey=WSP_SITEKEY, url=replica.wsp_url)["code"]
    with pytest.raises(ApiException, match="ERROR_WRONG_USER_KEY"):
        official_solver(replica, key="wrong").recaptcha(sitekey=WSP_SITEKEY, url=replica.wsp_url)


def test_the_official_client_balance_and_reports(replica):
    solver = official_solver(replica)
    assert solver.balance() > 0
    result = solver.recaptcha(sitekey=WSP_SITEKEY, url=replica.wsp_url)
    assert solver.report(result["captchaId"], False) == "OK_REPORT_RECORDED"
    assert solver.report(result["captchaId"], True) == "OK_REPORT_RECORDED"
    assert replica.stats()["captcha"]["reportbad"] == 1


def test_2captcha_parameter_errors(replica):
    base = {"key": KEY, "method": "userrecaptcha", "googlekey": WSP_SITEKEY, "pageurl": "u"}
    cases = [
        ({**base, "method": "post"}, "ERROR_BAD_PARAMETERS"),
        ({**base, "googlekey": ""}, "ERROR_GOOGLEKEY"),
        ({**base, "pageurl": ""}, "ERROR_PAGEURL"),
    ]
    for params, error in cases:
        assert requests.post(f"{replica.captcha_server}/in.php", data=params, timeout=TIMEOUT).text == error
    unknown = requests.get(
        f"{replica.captcha_server}/res.php", params={"key": KEY, "action": "get", "id": "1"}, timeout=TIMEOUT
    )
    assert unknown.text == "ERROR_WRONG_CAPTCHA_ID"


# ---- consultacenso -------------------------------------------------------------------------------


def consulta(replica, payload) -> requests.Response:
    return requests.post(f"{replica.base_url}/back/api/consulta", json=payload, timeout=TIMEOUT)


def test_consultacenso_page_and_elections(replica):
    page = requests.get(replica.consultacenso_url, timeout=TIMEOUT)
    markup = Markup(page.text)
    assert {"documento", "eleccion", "consultar", "mensaje", "resultado"} <= markup.by_id.keys()
    captcha = [a for t, a in markup.tags if t == "div" and "g-recaptcha" in a.get("class", "")]
    assert captcha[0]["data-sitekey"] == CC_SITEKEY
    elections = requests.get(f"{replica.base_url}/back/api/elecciones", timeout=TIMEOUT).json()
    assert isinstance(elections, list) and all(isinstance(e["id"], int) and e["nombre"] for e in elections)


def test_every_citizen_round_trips_through_consultacenso(replica):
    for row in CITIZENS:
        reply = consulta(
            replica, {"documento": row["nuip"], "eleccionId": 1, "captchaToken": solve(replica, CC_SITEKEY)}
        )
        assert reply.status_code == 200
        body = reply.json()
        assert body["ok"] is True and body["encontrado"] is (row["estado"] == "found")
        result = parse_consultacenso(reply.text)
        assert result.source == "consultacenso"
        assert_matches_row(result, row)
    assert replica.stats()["lookups_by_source"]["consultacenso"] == {row["nuip"]: 1 for row in CITIZENS}


def test_consultacenso_found_shape(replica):
    reply = consulta(
        replica, {"documento": "1000000003", "eleccionId": 1, "captchaToken": solve(replica, CC_SITEKEY)}
    )
    assert reply.json() == {
        "ok": True,
        "encontrado": True,
        "data": {
            "nuip": "1000000003",
            "nom_depto": "CONSULADOS",
            "nom_mun": "ALEMANIA",
            "nom_puesto": "Berlin Consulado",
            "direccion": "Kurfürstendamm 84, 10709 Berlin",
            "mesa": "1",
        },
    }


def test_consultacenso_refusals(replica):
    wsp_token = solve(replica, WSP_SITEKEY)
    bad_captcha = consulta(replica, {"documento": "1000000001", "eleccionId": 1, "captchaToken": wsp_token})
    assert bad_captcha.json()["ok"] is False
    assert parse_consultacenso(bad_captcha.text).status is LookupStatus.CAPTCHA_REJECTED
    missing = consulta(replica, {"documento": "1000000001", "eleccionId": 1})
    assert parse_consultacenso(missing.text).status is LookupStatus.CAPTCHA_REJECTED
    bad_doc = consulta(
        replica, {"documento": "01", "eleccionId": 1, "captchaToken": solve(replica, CC_SITEKEY)}
    )
    assert bad_doc.json()["ok"] is False and parse_consultacenso(bad_doc.text).status is LookupStatus.UNKNOWN
    bad_election = consulta(
        replica, {"documento": "1000000001", "eleccionId": 999, "captchaToken": solve(replica, CC_SITEKEY)}
    )
    assert bad_election.json()["ok"] is False
    malformed = requests.post(f"{replica.base_url}/back/api/consulta", data=b"{not json", timeout=TIMEOUT)
    assert malformed.status_code == 400
    assert replica.stats()["lookups_total"] == 0


def test_consultacenso_down_answers_500_and_ignores_wsp_switches(replica):
    replica.set(consultacenso_down=2, waf=True, maintenance=True, waf_headless=True)
    down = requests.get(f"{replica.base_url}/back/api/elecciones", timeout=TIMEOUT)
    down2 = consulta(replica, {"documento": "1000000001", "eleccionId": 1, "captchaToken": "x"})
    assert (down.status_code, down2.status_code) == (500, 500)
    assert parse_consultacenso(down2.text).status is LookupStatus.SITE_ERROR
    up = requests.post(
        f"{replica.base_url}/back/api/consulta",
        json={"documento": "1000000001", "eleccionId": 1, "captchaToken": solve(replica, CC_SITEKEY)},
        headers={"User-Agent": HEADLESS_UA},
        timeout=TIMEOUT,
    )
    assert parse_consultacenso(up.text).status is LookupStatus.FOUND


# ---- the process ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_faults_survive_reset_and_signals_stop_it_cleanly(signum):
    handle, process = start_replica("--fault", "get_500=1", "--captcha-delay", "0", "--no-waf-headless")
    try:
        assert requests.get(handle.wsp_url, timeout=TIMEOUT).status_code == 500
        state = handle.reset()
        assert state["get_500"] == 1 and state["captcha_delay"] == 0.0 and state["waf_headless"] is False
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
    finally:
        stop_replica(process)


def test_a_bad_fault_flag_is_refused():
    result = subprocess.run(
        [sys.executable, "-m", "scrapers.replica", "--fault", "nope=1"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert b"unknown switch" in result.stderr


def test_page_gets_count_whether_they_brought_a_live_session(replica):
    session = browser_session()
    load_page(replica, session)
    load_page(replica, session)  # same cookie jar: same PHPSESSID
    load_page(replica, browser_session())  # a fresh client
    outcomes = replica.stats()["outcomes"]
    assert outcomes["wsp:page_new_session"] == 2
    assert outcomes["wsp:page_same_session"] == 1


def test_both_pages_show_the_header_image(replica):
    for url in (replica.wsp_url, replica.consultacenso_url):
        markup = Markup(requests.get(url, headers={"User-Agent": DESKTOP_UA}, timeout=TIMEOUT).text)
        assert (
            "img",
            {"class": "escudo", "src": "/static/escudo.svg", "alt": "", "width": "36", "height": "36"},
        ) in (markup.tags)
    logo = requests.get(f"{replica.base_url}/static/escudo.svg", timeout=TIMEOUT)
    assert logo.status_code == 200
    assert logo.headers["Content-Type"] == "image/svg+xml"
    assert logo.text.startswith("<svg")
    assert replica.stats()["requests"]["GET /static/escudo.svg"] == 1
