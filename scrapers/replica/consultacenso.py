"""What ``consultacenso.registraduria.gov.co`` serves: the page, the elections and the lookup API.

``POST /back/api/consulta`` takes ``{documento, eleccionId, captchaToken}`` and answers
``{ok, encontrado, data, mensaje?, novedad?}`` (docs/registraduria.md#pages). Only the found shape is
documented; the others are this replica's choice, described in docs/replica.md.
"""

from __future__ import annotations

import json
from functools import cache

from .captcha import CONSULTACENSO_SITEKEY
from .citizens import Citizen
from .wsp import NOT_FOUND_TEXT, PENDING_TEXT, STATIC

ELECTIONS = (
    {"id": 1, "nombre": "LUGAR DE VOTACIÓN ACTUAL", "vigente": True},
    {"id": 60, "nombre": "ELECCIONES DE AUTORIDADES LOCALES 2027", "vigente": False},
)
DEFAULT_ELECTION_ID = 1

CAPTCHA_TEXT = "Captcha inválido o vencido. Marque el cuadro de verificación (No soy un robot)."
BAD_DOCUMENT_TEXT = "El número de documento no es válido."
BAD_ELECTION_TEXT = "La elección seleccionada no es válida."
BAD_REQUEST_TEXT = "Solicitud inválida."
NOVEDAD_TEXT = "El documento de identidad número {nuip} presenta una novedad: {novedad}."
DOWN_BODY = b"<html><head><title>500 Internal Server Error</title></head><body><center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center></body></html>"  # noqa: E501


def encode(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def elections_reply() -> bytes:
    return encode(list(ELECTIONS))


def error_reply(mensaje: str) -> bytes:
    return encode({"ok": False, "encontrado": False, "data": None, "mensaje": mensaje})


def election_ids() -> set[int]:
    return {election["id"] for election in ELECTIONS}


def citizen_reply(citizen: Citizen) -> bytes:
    if citizen.estado == "found":
        data = {
            "nuip": citizen.nuip,
            "nom_depto": citizen.departamento,
            "nom_mun": citizen.municipio,
            "nom_puesto": citizen.puesto,
            "direccion": citizen.direccion,
            "mesa": citizen.mesa,
        }
        return encode({"ok": True, "encontrado": True, "data": data})
    if citizen.estado in ("cancelled", "pending", "vigente"):
        template = PENDING_TEXT if citizen.estado == "pending" else NOVEDAD_TEXT
        novedad = {
            "descripcion": citizen.novedad,
            "resolucion": citizen.resolucion,
            "fecha": citizen.fecha_novedad,
        }
        return encode(
            {
                "ok": True,
                "encontrado": False,
                "data": None,
                "mensaje": template.format(nuip=citizen.nuip, novedad=citizen.novedad),
                "novedad": novedad,
            }
        )
    mensaje = NOT_FOUND_TEXT.format(nuip=citizen.nuip)
    return encode({"ok": True, "encontrado": False, "data": None, "mensaje": mensaje})


@cache
def render_page(sitekey: str = CONSULTACENSO_SITEKEY) -> bytes:
    page = (STATIC / "consultacenso.html").read_text(encoding="utf-8")
    return page.replace("$sitekey", sitekey).encode("utf-8")
