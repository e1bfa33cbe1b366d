"""Contracts: the reply shapes we know of each real page (tests/scrapers/contracts/), pinned.

For every source: (1) every documented reply parses to the documented state; (2) the replica's
replies and (3) the requests the pages send in a real Chromium have exactly the documented shape.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import requests

from scrapers.registraduria import LookupStatus
from scrapers.sources import SOURCES

CONTRACTS = Path(__file__).with_name("contracts")
KEY = "replica-key"
TIMEOUT = 10
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
)
SITEKEYS = {
    "wsp": "6LcthjAgAAAAAFIQLxy52074zanHv47cIvmIHglH",
    "consultacenso": "6LeLRw0tAAAAAOfUZZ34vi2KKHjukhLhQ5lfzuLM",
    "eleccionescolombia": "6Lc9DmgrAAAAAJAjWVhjDy1KSgqzqJikY5z7I9SV",
}


def contract(name: str) -> dict:
    return json.loads((CONTRACTS / f"{name}.json").read_text("utf-8"))


def shape_problems(
    value: object, shape: object, nullable: tuple[str, ...] = (), path: str = "$"
) -> list[str]:
    """Where ``value`` differs from ``shape`` (see contracts/README.md); empty when it conforms."""
    if value is None and path in nullable:
        return []
    if shape == "any":
        return []
    if isinstance(shape, str):
        kinds = {"str": str, "int": int, "bool": bool, "null": type(None)}
        for kind in shape.split("|"):
            if isinstance(value, kinds[kind]) and not (kind == "int" and isinstance(value, bool)):
                return []
        return [f"{path}: expected {shape}, got {type(value).__name__}"]
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [
            p
            for i, item in enumerate(value)
            for p in shape_problems(item, shape[0], nullable, f"{path}[{i}]")
        ]
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {type(value).__name__}"]
    found: list[str] = []
    keys = {key.rstrip("?"): key.endswith("?") for key in shape}
    for key, optional in keys.items():
        if key in value:
            found += shape_problems(
                value[key], shape[key + "?" if optional else key], nullable, f"{path}.{key}"
            )
        elif not optional:
            found.append(f"{path}.{key}: missing")
    found += [f"{path}.{key}: not in the contract" for key in value if key not in keys]
    return found


def test_the_shape_checker_catches_missing_extra_and_mistyped_keys():
    shape = {"a": "str", "b?": "int", "c": {"d": "bool"}, "e": [{"f": "str"}]}
    assert shape_problems({"a": "x", "c": {"d": True}, "e": [{"f": "y"}]}, shape) == []
    assert shape_problems({"a": 1, "c": {"d": True}, "e": [], "z": 0}, shape) == [
        "$.a: expected str, got int",
        "$.z: not in the contract",
    ]
    assert shape_problems({"a": "x", "e": [{"f": 2}]}, shape) == [
        "$.c: missing",
        "$.e[0].f: expected str, got int",
    ]
    assert shape_problems({"a": "x", "b": True, "c": None, "e": []}, shape, ("$.c",)) == [
        "$.b: expected int, got bool"
    ]


# ---- (1) documented replies -> parser --------------------------------------------------------------

CASES = [
    pytest.param(name, case, id=f"{name}: {case['state']}")
    for name in SOURCES
    for case in contract(name)["cases"]
]


@pytest.mark.parametrize(("name", "case"), CASES)
def test_every_documented_reply_parses_to_its_documented_state(name, case):
    body = case["body_text"] if "body_text" in case else json.dumps(case["body"], ensure_ascii=False)

    result = SOURCES[name].parse(body)

    expected = dict(case["expect"])
    assert result.status is LookupStatus(expected.pop("status")), result
    assert {field: getattr(result, field) for field in expected} == expected
    assert result.source == name


def test_every_source_has_a_contract_with_found_not_found_cancelled_and_captcha_cases():
    for name in SOURCES:
        states = {case["expect"]["status"] for case in contract(name)["cases"]}
        assert {"found", "not_found", "cancelled", "captcha_rejected"} <= states, name


# ---- (2) the replica's replies have the documented shapes ------------------------------------------


@pytest.fixture
def fast(replica_clean):
    replica_clean.set(captcha_delay=0, secure_cookies=False)
    return replica_clean


def solve(replica, sitekey: str) -> str:
    params = {"key": KEY, "method": "userrecaptcha", "googlekey": sitekey, "pageurl": replica.base_url}
    reply = requests.post(f"{replica.captcha_server}/in.php", data=params, timeout=TIMEOUT).text
    job = reply.removeprefix("OK|")
    for _ in range(200):
        answer = requests.get(
            f"{replica.captcha_server}/res.php",
            params={"key": KEY, "action": "get", "id": job},
            timeout=TIMEOUT,
        ).text
        if answer.startswith("OK|"):
            return answer[3:]
        time.sleep(0.05)
    raise AssertionError("no token")


def wsp_reply(replica, nuip: str) -> str:
    session = requests.Session()
    session.headers["User-Agent"] = DESKTOP_UA
    page = session.get(replica.wsp_url, timeout=TIMEOUT).text
    token = re.search(r'id="token" value="([0-9a-f]+)"', page).group(1)
    fields = {
        "nuip": nuip,
        "tipo": "-1",
        "token": token,
        "g-recaptcha-response": solve(replica, SITEKEYS["wsp"]),
    }
    return session.post(
        replica.wsp_url, files={k: (None, v) for k, v in fields.items()}, timeout=TIMEOUT
    ).text


def consultacenso_reply(replica, nuip: str) -> dict:
    request = {"documento": nuip, "eleccionId": 1, "captchaToken": solve(replica, SITEKEYS["consultacenso"])}
    return requests.post(f"{replica.base_url}/back/api/consulta", json=request, timeout=TIMEOUT).json()


def ec_reply(replica, nuip: str, *, token: str | None = None) -> requests.Response:
    token = solve(replica, SITEKEYS["eleccionescolombia"]) if token is None else token
    body = {
        "identification": nuip,
        "identification_type": "CC",
        "election_code": "presidencia",
        "platform": "web",
        "module": "polling_place",
    }
    headers = {"Authorization": f"Bearer {token}"}
    return requests.post(replica.eleccionescolombia_api_url, json=body, headers=headers, timeout=TIMEOUT)


def test_the_replicas_wsp_found_body_is_the_documented_template(fast):
    documented = contract("wsp")
    expected = json.dumps(documented["found_template"], ensure_ascii=False)
    example = documented["found_example"]
    for key, value in example.items():
        expected = expected.replace("{" + key + "}", value)

    assert wsp_reply(fast, example["nuip"]) == expected


@pytest.mark.parametrize("nuip", ["2000000001", "3000000001", "4000000001"])
def test_the_replicas_other_wsp_bodies_keep_the_success_data_message_shape(fast, nuip):
    body = json.loads(wsp_reply(fast, nuip))

    assert shape_problems(body, {"success": "bool", "data": {"message": "str"}}) == []


@pytest.mark.parametrize("nuip", ["1000000004", "2000000001", "3000000001", "4000000001", "6000000001"])
def test_the_replicas_consultacenso_replies_have_the_documented_shape(fast, nuip):
    documented = contract("consultacenso")

    body = consultacenso_reply(fast, nuip)

    assert shape_problems(body, documented["reply_shape"], tuple(documented["nullable"])) == []
    assert (body["data"] is not None) == (nuip == "1000000004")


@pytest.mark.parametrize("nuip", ["1000000004", "2000000001", "3000000001", "4000000001", "6000000001"])
def test_the_replicas_eleccionescolombia_replies_have_the_documented_shape(fast, nuip):
    documented = contract("eleccionescolombia")

    reply = ec_reply(fast, nuip)

    body = reply.json()
    assert reply.status_code == 200
    assert shape_problems(body, documented["reply_shape"], tuple(documented["nullable"])) == []
    data = body["data"]
    assert data["voter"]["identification"] == nuip
    assert data["is_in_census"] is (nuip == "1000000004")
    assert (data["polling_place"] is not None) == (nuip == "1000000004")
    assert bool(data["novelty"]) == (nuip[0] in "346")


def test_the_replicas_eleccionescolombia_refusals_keep_the_status_shape(fast):
    documented = contract("eleccionescolombia")

    refused = ec_reply(fast, "1000000004", token="not-a-token")

    assert refused.status_code == 401
    assert shape_problems(refused.json(), documented["reply_shape"], tuple(documented["nullable"])) == []
    assert SOURCES["eleccionescolombia"].parse(refused.text).status is LookupStatus.CAPTCHA_REJECTED


# ---- (3) the requests our replica's pages send, in Chromium ----------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("mode", ["v2", "v3"])
def test_the_eleccionescolombia_page_sends_the_documented_request(browser_page, replica_clean, mode):
    documented = contract("eleccionescolombia")
    replica_clean.set(ec_captcha=mode)
    browser_page.goto(replica_clean.eleccionescolombia_url)
    browser_page.fill("#document", "1000000004")
    if mode == "v2":
        # Under automation the checkbox gives no token; any text stands in for one here.
        browser_page.evaluate("document.querySelector('#g-recaptcha-response').value = 'token-de-prueba'")

    with browser_page.expect_request(lambda r: r.url == replica_clean.eleccionescolombia_api_url) as sent:
        browser_page.click("button:has-text('Consultar')")

    request = sent.value
    assert request.method == "POST"
    assert request.headers["authorization"].startswith("Bearer ")
    assert request.headers["content-type"].startswith("application/json")
    body = request.post_data_json
    assert shape_problems(body, documented["request_shape"]) == []
    for key, allowed in documented["request_values"].items():
        assert body[key] in allowed, key
    assert body["identification"] == "1000000004"


@pytest.mark.browser
def test_the_consultacenso_page_sends_the_documented_request(browser_page, replica_clean):
    documented = contract("consultacenso")
    browser_page.goto(replica_clean.consultacenso_url)
    browser_page.wait_for_function("document.querySelectorAll('#eleccion option').length > 0")
    browser_page.fill("#documento", "1000000004")
    browser_page.evaluate("document.querySelector('#g-recaptcha-response').value = 'token-de-prueba'")

    with browser_page.expect_request(lambda r: r.url.endswith("/back/api/consulta")) as sent:
        browser_page.click("#consultar")

    assert shape_problems(sent.value.post_data_json, documented["request_shape"]) == []
