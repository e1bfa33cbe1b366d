"""What ``eleccionescolombia.registraduria.gov.co/identificacion`` and its API serve.

The page is a small JS page (the real one is a React build): ``input#document``, a "Consultar"
button and a reCAPTCHA, either the v2 checkbox or v3 ``grecaptcha.execute`` (switch
``ec_captcha``). It posts to ``/api/v1/citizen/get-information`` (on the real site a host of its
own, ``apiweb-eleccionescolombia.infovotantes.com``) with ``Authorization: Bearer <token>`` and the
JSON body of registraduria.md §7. Reply shapes: docs/replica.md and tests/scrapers/contracts/.
"""

from __future__ import annotations

import html
import json
from functools import cache
from string import Template

from .captcha import ELECCIONESCOLOMBIA_SITEKEY
from .citizens import Citizen
from .wsp import STATIC

API_PATH = "/api/v1/citizen/get-information"
PAGE_PATHS = ("/identificacion", "/identificacion/", "/Polling")
ELECTION_CODES = ("congreso", "presidencia")
PAGE_ELECTION = "presidencia"
V3_MIN_SCORE = 0.3
V3_ACTION = "polling_place"

FOUND_TEXT = "Consulta exitosa."
NOT_FOUND_TEXT = "El documento {nuip} no se encuentra en el censo electoral para esta elección."
NOVELTY_TEXT = "El documento {nuip} presenta una novedad en el censo electoral."
CAPTCHA_TEXT = "No fue posible validar el reCAPTCHA. Intenta de nuevo."
BAD_DOCUMENT_TEXT = "El número de documento no es válido."
BAD_REQUEST_TEXT = "Solicitud inválida."
UPSTREAM_TIMEOUT_TEXT = "Tiempo de espera agotado al consultar la información. Intenta más tarde."
MAINTENANCE_TEXT = "Estamos realizando labores de mantenimiento. Intenta más tarde."
DOWN_BODY = (
    b"<html><head><title>500 Internal Server Error</title></head><body><center><h1>500 Internal "
    b"Server Error</h1></center><hr><center>nginx</center></body></html>"
)
CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "POST, OPTIONS"),
    ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
    ("Access-Control-Max-Age", "600"),
)

# The second line the novelty list carries under each name ([I]: scrapers read only name,
# resolution and date).
_DESCRIPTIONS = {
    "cancelled": "Cédula cancelada.",
    "pending": "Trámite en curso.",
    "vigente": "Cédula vigente.",
}
_PROCEDURES = {"pending": "Expedición de cédula"}


def encode(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def error_reply(status_code: int, message: str) -> bytes:
    return encode({"status": False, "status_code": status_code, "message": message, "data": None})


def citizen_reply(citizen: Citizen) -> bytes:
    """The 200 reply of a lookup that reached the census, for every state."""
    voter = {"identification": citizen.nuip, "identification_type": "CC"}
    if citizen.estado == "found":
        place = {
            "stand": citizen.puesto,
            "stand_code": citizen.codigo_puesto,
            "table": citizen.mesa,
            "place_address": {
                "state": citizen.departamento,
                "town": citizen.municipio,
                "address": citizen.direccion,
                "zone": citizen.zona,
            },
        }
        data = {"voter": voter, "polling_place": place, "novelty": [], "is_in_census": True}
        return encode({"status": True, "status_code": 200, "message": FOUND_TEXT, "data": data})
    if citizen.estado in ("cancelled", "pending", "vigente"):
        novelty = {
            "name": citizen.novedad,
            "description_line_1": _DESCRIPTIONS[citizen.estado],
            "resolution": citizen.resolucion,
            "date": citizen.fecha_novedad,
            "procedure": _PROCEDURES.get(citizen.estado, ""),
        }
        data = {"voter": voter, "polling_place": None, "novelty": [novelty], "is_in_census": False}
        message = NOVELTY_TEXT.format(nuip=citizen.nuip)
        return encode({"status": True, "status_code": 200, "message": message, "data": data})
    data = {"voter": voter, "polling_place": None, "novelty": [], "is_in_census": False}
    message = NOT_FOUND_TEXT.format(nuip=citizen.nuip)
    return encode({"status": True, "status_code": 200, "message": message, "data": data})


def bearer_token(header: str) -> str:
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@cache
def _template() -> Template:
    return Template((STATIC / "identificacion.html").read_text(encoding="utf-8"))


def render_page(mode: str, sitekey: str = ELECCIONESCOLOMBIA_SITEKEY) -> bytes:
    """The page with the v2 checkbox or with v3's ``api.js?render=<key>``."""
    key = html.escape(sitekey)
    if mode == "v3":
        captcha = ""
        script = f'<script src="/recaptcha/api.js?render={key}"></script>'
    else:
        captcha = f'<div class="g-recaptcha" data-sitekey="{key}"></div>'
        script = '<script src="/recaptcha/api.js" async defer></script>'
    page = _template().substitute(
        captcha=captcha,
        recaptcha_script=script,
        mode=mode,
        sitekey=key,
        action=V3_ACTION,
        api_path=API_PATH,
        election=PAGE_ELECTION,
    )
    return page.encode("utf-8")
