"""Text rules shared by the portal and the scraper: one definition each.

Plain Python (no Django): the portal's forms and search, the worker's client,
the reply parser and the replica all import these.
"""

from __future__ import annotations

import re
import unicodedata

# --- Cédula (docs/registraduria.md#cedulas) -----------------------------------------
CEDULA_MIN_DIGITS = 3
CEDULA_MAX_DIGITS = 10
# What people type between digits: dots, commas, spaces, dashes.
CEDULA_SEPARATORS = re.compile(r"[\s.,\-]+")
# Bare digits, no leading zero, 3 to 10 of them.
CEDULA_PATTERN = re.compile(rf"[1-9][0-9]{{{CEDULA_MIN_DIGITS - 1},{CEDULA_MAX_DIGITS - 1}}}", re.ASCII)


def strip_cedula(value: object) -> str:
    """Remove the separators people type; no validation."""
    return CEDULA_SEPARATORS.sub("", "" if value is None else str(value))


def clean_cedula(value: object) -> str | None:
    """The cédula as bare digits, or None when it cannot be one."""
    digits = strip_cedula(value)
    return digits if CEDULA_PATTERN.fullmatch(digits) else None


# --- Comparing the site's texts -------------------------------------------------------
def fold(text: str) -> str:
    """``text`` without accents, case-folded, whitespace collapsed: how texts are compared.

    ``"  Cancelada por  MUERTE "`` and ``"cancelada por muerte"`` fold alike, and so
    do ``"Núñez"`` and ``"nunez"``.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


# The WAF (F5 BIG-IP ASM) block page says "se presentó un evento de seguridad";
# compared folded, so accents and case in the page do not matter.
WAF_MARKER = fold("se presentó un evento de seguridad")


def is_waf_page(text: str) -> bool:
    """Whether ``text`` (any HTML or text) is the WAF's block page."""
    return WAF_MARKER in fold(text)


# --- Stored replies -------------------------------------------------------------------
# Replies are kept for operators (LookupResult.raw, CedulaInfo.raw_response); a
# runaway page must not fill the database.
RAW_CAP = 64 * 1024


def cap_raw(body: str) -> str:
    """A reply body as stored: at most RAW_CAP characters, without NUL (PostgreSQL text cannot hold it)."""
    return (body or "")[:RAW_CAP].replace("\x00", "")
