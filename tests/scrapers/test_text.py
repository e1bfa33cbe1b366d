"""scrapers.text: the one definition of the cédula rule, folding, the WAF marker and the raw cap."""

import pytest

from scrapers.text import (
    CEDULA_MAX_DIGITS,
    RAW_CAP,
    cap_raw,
    clean_cedula,
    fold,
    is_waf_page,
    strip_cedula,
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1.234.567", "1234567"),
        (" 52 123 456 ", "52123456"),
        ("1-234-567", "1234567"),
        ("1,234,567,890", "1234567890"),
        ("123", "123"),
        ("12", None),  # too short
        ("12345678901", None),  # 11 digits
        ("0123456", None),  # leading zero
        ("12a456", None),
        ("١٢٣٤٥", None),  # non-ASCII digits are not a cédula
        (None, None),
        ("", None),
    ],
)
def test_clean_cedula_accepts_what_people_type_and_nothing_else(typed, expected):
    assert clean_cedula(typed) == expected


def test_strip_cedula_only_removes_separators():
    assert strip_cedula("1.2 3-4,5") == "12345"
    assert strip_cedula("12a") == "12a"
    assert len(strip_cedula("1" * CEDULA_MAX_DIGITS)) == CEDULA_MAX_DIGITS


def test_fold_drops_accents_case_and_extra_whitespace():
    assert fold("  Cancelada por   MUERTE ") == "cancelada por muerte"
    assert fold("Núñez Peña") == "nunez pena"
    assert fold("INFORMACIÓN\n DEL LUGAR") == "informacion del lugar"


@pytest.mark.parametrize(
    "page",
    [
        "<h3>Se presentó un evento de seguridad</h3>",
        "<H3>SE PRESENTÓ UN EVENTO DE SEGURIDAD</H3>",
        "se presento un evento   de seguridad",
    ],
)
def test_the_waf_page_is_recognised_in_any_case_and_accent(page):
    assert is_waf_page(page)


def test_other_pages_are_not_the_waf():
    assert not is_waf_page("<div id='consulta'>evento</div>")


def test_cap_raw_bounds_the_length_and_drops_nul():
    assert len(cap_raw("x" * (RAW_CAP + 10))) == RAW_CAP
    assert cap_raw("a\x00b") == "ab"
    assert cap_raw(None) == ""
