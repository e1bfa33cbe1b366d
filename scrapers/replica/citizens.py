"""The synthetic census: ``citizens.json`` (invented cédulas, never real people)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..text import CEDULA_PATTERN

CITIZENS_FILE = Path(__file__).with_name("citizens.json")
# "vigente": the census answers with a novedad that cancels nothing (plain "Vigente"), no voting place.
STATES = ("found", "not_found", "cancelled", "pending", "vigente")

# What the site accepts as a NUIP: 3 to 10 digits, no leading zero (docs/registraduria.md#cedulas).
NUIP_RE = CEDULA_PATTERN


# The same field names as scrapers.registraduria.LookupResult on purpose, but its own
# class: the replica stands in for the real site and must not share the client's model,
# or a bug in one would be hidden by the other.
# Deliberately its own record, though its fields echo scrapers.registraduria.LookupResult:
# the replica plays the Registraduría and must never share a type with the client that
# parses it, or a parser bug could hide behind the shared definition.
@dataclass(frozen=True)
class Citizen:
    nuip: str
    estado: str
    departamento: str = ""
    municipio: str = ""
    puesto: str = ""
    direccion: str = ""
    mesa: str = ""
    zona: str = ""  # electoral zone; only eleccionescolombia shows it
    codigo_puesto: str = ""  # the puesto's number inside its zona ("02" of "02 - IE SAN JOSE C I P")
    novedad: str = ""
    resolucion: str = ""
    fecha_novedad: str = ""


def load_citizens(path: Path = CITIZENS_FILE) -> dict[str, Citizen]:
    """Read the census file; raises ValueError on an unknown state or a malformed NUIP."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    citizens: dict[str, Citizen] = {}
    for row in rows:
        citizen = Citizen(**row)
        if citizen.estado not in STATES or not NUIP_RE.fullmatch(citizen.nuip):
            raise ValueError(f"bad census row: {row!r}")
        citizens[citizen.nuip] = citizen
    return citizens


def is_valid_nuip(nuip: str) -> bool:
    return NUIP_RE.fullmatch(nuip) is not None


def lookup(citizens: dict[str, Citizen], nuip: str) -> Citizen:
    """The census row for ``nuip``; any valid NUIP missing from the file is not in the census."""
    return citizens.get(nuip) or Citizen(nuip=nuip, estado="not_found")
