"""parse_eleccionescolombia: total and fast on any input, and the order of its rules."""

from __future__ import annotations

import json
import time

import pytest

from scrapers.registraduria import LookupStatus
from scrapers.sources.eleccionescolombia import parse_eleccionescolombia as parse

PLACE = {
    "stand": "IE SAN JOSE C I P",
    "stand_code": "02",
    "table": "13",
    "place_address": {"state": "SUCRE", "town": "SINCELEJO", "address": "CL 22 No. 10A-380", "zone": "03"},
}


def reply(**data) -> str:
    return json.dumps({"status": True, "status_code": 200, "data": data})


@pytest.mark.parametrize(
    "body",
    [
        None,
        b"\xff\xfe",
        "",
        "[]",
        "null",
        "42",
        '"texto"',
        "{",
        '{"data": []}',
        '{"data": {"novelty": 5}}',
        '{"status": true, "data": {"polling_place": [], "novelty": [1, null, "x"]}}',
        "[" * 100_000,
    ],
)
def test_any_input_gives_a_result_and_never_raises(body):
    result = parse(body)

    assert result.source == "eleccionescolombia"
    assert result.status in set(LookupStatus)


def test_megabytes_of_junk_are_cheap():
    # ~1.5 MB of novelties: a second on a quiet machine would already be a regression.
    junk = '{"data": {"novelty": [' + '{"name": "x"},' * 100_000 + "{}]}}"
    started = time.perf_counter()

    parse(junk)

    assert time.perf_counter() - started < 2.0


def test_a_cancelling_novelty_wins_over_a_polling_place():
    result = parse(reply(polling_place=PLACE, novelty=[{"name": "Cancelada por Muerte"}], is_in_census=False))

    assert (result.status, result.deceased, result.mesa) == (LookupStatus.CANCELLED, True, "")


def test_a_vigente_line_beside_a_cancellation_does_not_hide_it():
    novelties = [{"name": "Vigente"}, {"name": "Cancelada por Extranjería", "resolution": "3301 de 2021"}]

    result = parse(reply(polling_place=None, novelty=novelties, is_in_census=False))

    assert (result.status, result.novedad, result.resolucion) == (
        LookupStatus.CANCELLED,
        "Cancelada por Extranjería",
        "3301 de 2021",
    )


def test_plain_vigente_without_a_place_is_unknown_with_the_novedad_kept():
    result = parse(reply(polling_place=None, novelty=[{"name": "Vigente"}], is_in_census=False))

    assert (result.status, result.novedad) == (LookupStatus.UNKNOWN, "Vigente")


def test_in_census_without_a_place_is_unknown_not_found():
    assert parse(reply(polling_place=None, novelty=[], is_in_census=True)).status is LookupStatus.UNKNOWN


def test_numbers_where_strings_were_expected_are_read_as_text():
    place = {**PLACE, "table": 13, "place_address": {**PLACE["place_address"], "zone": 3}}

    result = parse(reply(polling_place=place, novelty=[], is_in_census=True))

    assert (result.mesa, result.zona) == ("13", "3")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (
            {"status": "error", "status_code": 0, "message": "Token inválido (reCAPTCHA)"},
            LookupStatus.CAPTCHA_REJECTED,
        ),
        ({"status": False, "status_code": 403, "message": "Forbidden"}, LookupStatus.CAPTCHA_REJECTED),
        ({"status": False, "status_code": 502, "message": "Bad gateway"}, LookupStatus.SITE_ERROR),
        (
            {"status": False, "status_code": 422, "message": "El número de documento no es válido."},
            LookupStatus.UNKNOWN,
        ),
    ],
)
def test_refusals_are_decided_by_code_and_text(body, status):
    assert parse(json.dumps(body)).status is status


def test_the_raw_body_is_kept_capped_and_without_nul():
    result = parse(reply(polling_place=PLACE, novelty=[], is_in_census=True).replace("SUCRE", "SUC\\u0000RE"))

    assert "\x00" not in result.raw and result.status is LookupStatus.FOUND
