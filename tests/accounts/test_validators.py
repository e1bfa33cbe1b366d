import re

import pytest
from django.core.exceptions import ValidationError

from accounts.validators import (
    CEDULA_HTML_PATTERN,
    TELEFONO_HTML_PATTERN,
    fold_accents,
    format_cedula,
    format_telefono,
    normalize_cedula,
    normalize_nombre,
    normalize_telefono,
)


def html_pattern_accepts(pattern: str, value: str) -> bool:
    # Browsers anchor the pattern attribute to the whole value; Python's re understands
    # these two patterns as written (no \p classes in them).
    return re.fullmatch(pattern, value) is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234567", "1234567"),
        ("1.234.567", "1234567"),
        ("1 234 567", "1234567"),
        ("1-234-567", "1234567"),
        ("1,234,567", "1234567"),
        ("  52.000.001  ", "52000001"),
        ("123", "123"),
        ("1.234.567.890", "1234567890"),
    ],
)
def test_cedula_accepts_formatted_input_and_keeps_digits_only(raw, expected):
    assert normalize_cedula(raw) == expected
    assert html_pattern_accepts(CEDULA_HTML_PATTERN, raw.strip())


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        (" .. ", "required"),
        ("0123456", "leading_zero"),
        ("12", "length"),
        ("12345678901", "length"),
        ("12a4567", "invalid"),
        ("1234567x", "invalid"),
        ("١٢٣٤٥٦٧", "invalid"),  # Arabic-Indic digits are digits to Python, not to us
        ("1_234_567", "invalid"),
    ],
)
def test_cedula_rejects_bad_input_with_a_specific_error(raw, code):
    with pytest.raises(ValidationError) as exc:
        normalize_cedula(raw)
    assert exc.value.code == code
    if raw.strip(" ."):
        assert not html_pattern_accepts(CEDULA_HTML_PATTERN, raw)


def test_cedula_is_printed_with_dots():
    assert format_cedula("1234567") == "1.234.567"
    assert format_cedula("123") == "123"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ana María Núñez", "Ana María Núñez"),
        ("  josé   PEÑA  ", "josé PEÑA"),
        ("María José O'Neill", "María José O'Neill"),
        ("Luis D\u2019Alessandro", "Luis D'Alessandro"),
        ("Güiza Ñañez", "Güiza Ñañez"),
        ("Ana", "Ana"),
        ("A" * 150, "A" * 150),
        ("Jose\u0301 Pe\u0301rez", "José Pérez"),  # combining accents are recomposed
    ],
)
def test_nombre_accepts_letters_accents_and_apostrophes(raw, expected):
    assert normalize_nombre(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("Ana 2", "invalid_chars"),
        ("Ana_María", "invalid_chars"),
        ("Ana-María", "invalid_chars"),
        ("<script>", "invalid_chars"),
        ("Ana@mail", "invalid_chars"),
        ("'''", "no_letters"),
        ("Al", "min_length"),
        ("A" * 151, "max_length"),
    ],
)
def test_nombre_rejects_digits_symbols_and_bad_lengths(raw, code):
    with pytest.raises(ValidationError) as exc:
        normalize_nombre(raw)
    assert exc.value.code == code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3001234567", "3001234567"),
        ("300 123 4567", "3001234567"),
        ("300-123-4567", "3001234567"),
        ("(300) 123-4567", "3001234567"),
        ("+57 300 123 4567", "3001234567"),
        ("+573001234567", "3001234567"),
        ("573001234567", "3001234567"),
        ("6012345678", "6012345678"),
        ("(601) 234-5678", "6012345678"),
        ("+57 604 444 5555", "6044445555"),
        ("608 123 4567", "6081234567"),
    ],
)
def test_telefono_accepts_colombian_mobiles_and_landlines(raw, expected):
    assert normalize_telefono(raw) == expected
    assert html_pattern_accepts(TELEFONO_HTML_PATTERN, raw)


@pytest.mark.parametrize(
    "raw",
    [
        "300123456",  # 9 digits
        "30012345678",  # 11 digits
        "2001234567",  # neither 3 nor 60
        "6001234567",  # 600 is no region
        "6091234567",  # 609 is no region
        "1234567",  # old 7-digit landline without the new prefix
        "+1 300 123 4567",
        "57 57 300 123 4567",
        "300.123.4567",
        "300123456a",
        "3OO1234567",  # letter O
    ],
)
def test_telefono_rejects_everything_else(raw):
    with pytest.raises(ValidationError):
        normalize_telefono(raw)
    assert not html_pattern_accepts(TELEFONO_HTML_PATTERN, raw)


def test_telefono_is_required():
    with pytest.raises(ValidationError) as exc:
        normalize_telefono(" ")
    assert exc.value.code == "required"


def test_telefono_is_displayed_in_groups():
    assert format_telefono("3001234567") == "300 123 4567"


def test_accent_folding_for_search():
    assert fold_accents("José NÚÑEZ Güiza") == "jose nunez guiza"
