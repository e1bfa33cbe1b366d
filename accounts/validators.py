"""Normalisers and validators for what members type: cédula, name and phone.

Each ``normalize_*`` function takes raw input and returns the canonical value or raises
``ValidationError`` with a Spanish message. The ``*_HTML_PATTERN`` constants mirror the
same rules for the browser's ``pattern`` attribute (compiled by browsers with the ``v``
flag, hence the escaped ``-``, ``(`` and ``)`` inside classes); the server stays the
authority, the browser only gives early feedback.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

from scrapers.text import CEDULA_MAX_DIGITS, CEDULA_MIN_DIGITS, fold, strip_cedula

# --- Cédula (docs/registraduria.md#cedulas) ------------------------------------------
# Room for a fully formatted 10-digit cédula ("1.234.567.890") plus stray spaces.
CEDULA_INPUT_MAX_LENGTH = 20
_CEDULA_DIGITS = re.compile(r"[0-9]+", re.ASCII)
# The browser's copy of the rule (an <input pattern>): the same digits, separators allowed.
CEDULA_HTML_PATTERN = (
    rf"[\s.,\-]*[1-9](?:[\s.,\-]*[0-9]){{{CEDULA_MIN_DIGITS - 1},{CEDULA_MAX_DIGITS - 1}}}[\s.,\-]*"
)


def normalize_cedula(value: str) -> str:
    """Return the cédula as digits only, or raise ``ValidationError``.

    Accepts ``1.234.567``, ``1 234 567``, ``1-234-567`` and ``1,234,567``; the result
    has 3 to 10 ASCII digits and no leading zero.
    """
    digits = strip_cedula(value)
    if not digits:
        raise ValidationError("Escribe tu número de cédula.", code="required")
    if not _CEDULA_DIGITS.fullmatch(digits):
        raise ValidationError("La cédula solo puede tener números.", code="invalid")
    if digits.startswith("0"):
        raise ValidationError("La cédula no puede empezar por cero.", code="leading_zero")
    if not CEDULA_MIN_DIGITS <= len(digits) <= CEDULA_MAX_DIGITS:
        raise ValidationError(
            f"La cédula debe tener entre {CEDULA_MIN_DIGITS} y {CEDULA_MAX_DIGITS} dígitos.",
            code="length",
        )
    return digits


def format_cedula(digits: str) -> str:
    """``1234567`` → ``1.234.567`` (how cédulas are printed in Colombia)."""
    if not digits.isdigit():
        return digits
    return f"{int(digits):,}".replace(",", ".")


# --- Full name ------------------------------------------------------------------------
NOMBRE_MIN_LENGTH = 3
NOMBRE_MAX_LENGTH = 150
# Typographic apostrophes (right/left single quote, acute and grave accents) become "'".
# The browser pattern is built from the same list so both accept exactly the same names.
_APOSTROPHE_VARIANTS = "\u2019\u2018\u00b4`"
_APOSTROPHES = str.maketrans(dict.fromkeys(_APOSTROPHE_VARIANTS, "'"))
NOMBRE_HTML_PATTERN = r"[\p{L}'" + "".join(f"\\u{ord(ch):04x}" for ch in _APOSTROPHE_VARIANTS) + " ]+"


def normalize_nombre(value: str) -> str:
    """Trim, collapse inner spaces, unify apostrophes and check the characters.

    Letters of any alphabet (accents, ñ, ü), spaces and apostrophes; it must hold at
    least one letter and measure 3 to 150 characters once cleaned.
    """
    # NFC: a browser may send "a" + combining accent, which is not a letter on its own.
    cleaned = " ".join(unicodedata.normalize("NFC", value or "").translate(_APOSTROPHES).split())
    if not cleaned:
        raise ValidationError("Escribe tu nombre completo.", code="required")
    if any(not (ch.isalpha() or ch in " '") for ch in cleaned):
        raise ValidationError(
            "El nombre solo puede tener letras, espacios y apóstrofos.", code="invalid_chars"
        )
    if not any(ch.isalpha() for ch in cleaned):
        raise ValidationError("El nombre debe tener letras.", code="no_letters")
    if len(cleaned) < NOMBRE_MIN_LENGTH:
        raise ValidationError(
            f"El nombre debe tener al menos {NOMBRE_MIN_LENGTH} caracteres.", code="min_length"
        )
    if len(cleaned) > NOMBRE_MAX_LENGTH:
        raise ValidationError(
            f"El nombre puede tener como máximo {NOMBRE_MAX_LENGTH} caracteres.", code="max_length"
        )
    return cleaned


# --- Phone ----------------------------------------------------------------------------
# Colombia dials 10 national digits since 2021: mobiles start with 3, landlines with
# 60 + the region digit 1-8 (601 Bogotá … 608 Orinoquía). Stored as those 10 digits:
# the country is implied (the form only takes Colombian numbers), the value sorts and
# searches plainly and spreadsheets do not mistake a leading "+" for a formula.
TELEFONO_INPUT_MAX_LENGTH = 20
_PHONE_SEPARATORS = re.compile(r"[\s\-()]+")
_PHONE = re.compile(r"(?:\+?57)?(3[0-9]{9}|60[1-8][0-9]{7})", re.ASCII)
_S = r"[\s\-\(\)]*"
TELEFONO_HTML_PATTERN = (
    rf"{_S}(?:\+?{_S}5{_S}7)?{_S}(?:3(?:{_S}[0-9]){{9}}|6{_S}0{_S}[1-8](?:{_S}[0-9]){{7}}){_S}"
)


def normalize_telefono(value: str) -> str:
    """Return a Colombian mobile or landline as 10 digits, or raise ``ValidationError``.

    Accepts an optional ``+57``/``57`` prefix and spaces, dashes and parentheses:
    ``+57 300 123 4567`` → ``3001234567``; ``(601) 234-5678`` → ``6012345678``.
    """
    compact = _PHONE_SEPARATORS.sub("", value or "")
    if not compact:
        raise ValidationError("Escribe tu número de teléfono.", code="required")
    match = _PHONE.fullmatch(compact)
    if not match:
        raise ValidationError(
            "Escribe un celular colombiano de 10 dígitos que empiece por 3 (ej. 300 123 4567) "
            "o un fijo con indicativo 601 a 608 (ej. 601 234 5678).",
            code="invalid",
        )
    return match.group(1)


def format_telefono(digits: str) -> str:
    """``3001234567`` → ``300 123 4567`` for display; anything else is returned unchanged."""
    if len(digits) == 10 and digits.isdigit():
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    return digits


# --- Referral goal --------------------------------------------------------------------
REFERRAL_GOAL_MIN = 1
REFERRAL_GOAL_MAX = 10_000


# --- Search text ----------------------------------------------------------------------
def fold_accents(value: str) -> str:
    """Lower-case and drop diacritics: ``"Núñez"`` → ``"nunez"`` (the scraper's ``fold``)."""
    return fold(value)
