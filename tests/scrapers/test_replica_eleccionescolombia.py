"""The replica's eleccionescolombia API over HTTP: check order, captcha kinds, switches."""

from __future__ import annotations

import time

import pytest
import requests

from scrapers.registraduria import LookupStatus
from scrapers.sources.eleccionescolombia import parse_eleccionescolombia

KEY = "replica-key"
SITEKEY = "6Lc9DmgrAAAAAJAjWVhjDy1KSgqzqJikY5z7I9SV"
TIMEOUT = 10


@pytest.fixture(autouse=True)
def fast(replica_clean):
    replica_clean.set(captcha_delay=0)
    return replica_clean


def solve(replica, *, version: str = "v2", min_score: str | None = None, sitekey: str = SITEKEY) -> str:
    params = {
        "key": KEY,
        "method": "userrecaptcha",
        "googlekey": sitekey,
        "pageurl": replica.eleccionescolombia_url,
    }
    if version == "v3":
        params.update(version="v3", action="polling_place")
        if min_score is not None:
            params["min_score"] = min_score
    reply = requests.post(f"{replica.captcha_server}/in.php", data=params, timeout=TIMEOUT).text
    assert reply.startswith("OK|"), reply
    for _ in range(200):
        answer = requests.get(
            f"{replica.captcha_server}/res.php",
            params={"key": KEY, "action": "get", "id": reply[3:]},
            timeout=TIMEOUT,
        ).text
        if answer.startswith("OK|"):
            return answer[3:]
        time.sleep(0.05)
    raise AssertionError("no token")


def post(replica, token: str, **fields) -> requests.Response:
    body = {
        "identification": "1000000004",
        "identification_type": "CC",
        "election_code": "presidencia",
        "platform": "web",
        "module": "polling_place",
        **fields,
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(replica.eleccionescolombia_api_url, json=body, headers=headers, timeout=TIMEOUT)


def test_a_v2_token_is_accepted_in_v2_mode(replica):
    reply = post(replica, solve(replica))

    assert reply.status_code == 200
    assert parse_eleccionescolombia(reply.text).zona == "03"


def test_v3_mode_wants_a_v3_token_with_enough_score(replica):
    replica.set(ec_captcha="v3")

    v2 = post(replica, solve(replica))
    v3 = post(replica, solve(replica, version="v3", min_score="0.3"))

    assert v2.status_code == 401
    assert v3.status_code == 200 and parse_eleccionescolombia(v3.text).status is LookupStatus.FOUND
    rejected = replica.stats()["captcha"]
    assert rejected["rejected: v2 token for a v3 site"] == 1
    assert rejected["submitted_v3"] == 1


def test_v2_mode_refuses_v3_tokens(replica):
    reply = post(replica, solve(replica, version="v3"))

    assert reply.status_code == 401
    assert replica.stats()["captcha"]["rejected: v3 token for a v2 site"] == 1


def test_tokens_are_single_use_and_bound_to_the_sitekey(replica):
    token = solve(replica)
    assert post(replica, token).status_code == 200
    assert post(replica, token).status_code == 401
    wsp_token = solve(replica, sitekey="6LcthjAgAAAAAFIQLxy52074zanHv47cIvmIHglH")
    assert post(replica, wsp_token).status_code == 401
    assert post(replica, "").status_code == 401


def test_bad_document_and_bad_request_are_refused_without_a_lookup(replica):
    bad_document = post(replica, solve(replica), identification="01234")
    bad_election = post(replica, solve(replica), election_code="alcaldia")
    not_json = requests.post(
        replica.eleccionescolombia_api_url,
        data="{",
        headers={"Authorization": f"Bearer {solve(replica)}"},
        timeout=TIMEOUT,
    )

    assert bad_document.status_code == 422
    assert parse_eleccionescolombia(bad_document.text).status is LookupStatus.UNKNOWN
    assert bad_election.status_code == 400 and not_json.status_code == 400
    assert replica.stats()["lookups_total"] == 0


@pytest.mark.parametrize(
    ("switch", "status_code", "status"),
    [
        ("ec_down", 500, LookupStatus.SITE_ERROR),
        ("ec_waf", 200, LookupStatus.BLOCKED),
        ("ec_captcha_reject", 401, LookupStatus.CAPTCHA_REJECTED),
        ("ec_upstream_timeout", 504, LookupStatus.SITE_ERROR),
        ("ec_maintenance", 503, LookupStatus.SITE_ERROR),
    ],
)
def test_each_fault_switch_fires_for_its_count(replica, switch, status_code, status):
    replica.set(**{switch: 1})

    faulty = post(replica, solve(replica))
    after = post(replica, solve(replica))

    assert faulty.status_code == status_code
    assert parse_eleccionescolombia(faulty.text).status is status
    assert after.status_code == 200
    assert replica.state()[switch] is False


def test_page_faults_hang_and_500(replica):
    replica.set(ec_get_500=1, ec_hang_get=1)

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(replica.eleccionescolombia_url, timeout=0.5)
    assert requests.get(replica.eleccionescolombia_url, timeout=TIMEOUT).status_code == 500
    assert requests.get(replica.eleccionescolombia_url, timeout=TIMEOUT).status_code == 200


def test_the_api_answers_the_browsers_cors_preflight(replica):
    reply = requests.options(replica.eleccionescolombia_api_url, timeout=TIMEOUT)

    assert reply.status_code == 204
    assert "Authorization" in reply.headers["Access-Control-Allow-Headers"]


def test_the_captcha_mode_switch_takes_only_v2_or_v3(replica):
    refused = requests.post(f"{replica.base_url}/__control__", json={"ec_captcha": "v4"}, timeout=TIMEOUT)

    assert refused.status_code == 400 and "ec_captcha" in refused.json()["error"]
    assert replica.state()["ec_captcha"] == "v2"


def test_the_2captcha_stand_in_refuses_an_unknown_version(replica):
    params = {"key": KEY, "method": "userrecaptcha", "googlekey": SITEKEY, "pageurl": "x", "version": "v9"}

    assert (
        requests.post(f"{replica.captcha_server}/in.php", data=params, timeout=TIMEOUT).text
        == "ERROR_BAD_PARAMETERS"
    )
