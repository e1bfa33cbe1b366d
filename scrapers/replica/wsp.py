"""What ``wsp.registraduria.gov.co/censo/consultar/`` serves: the page, the WAF page, the JSON replies.

Reply bodies follow docs/registraduria.md#replies byte for byte where a capture exists (the found body,
including its stray ``</p>``); the rest are the texts public scrapers match on.
"""

from __future__ import annotations

import html
import json
import secrets
from functools import cache
from pathlib import Path
from string import Template

from .captcha import WSP_SITEKEY
from .citizens import Citizen

STATIC = Path(__file__).with_name("static")

# select#tipo: -1 is the current voting place; the others name an election (the real page has
# values such as 677 beside -1).
ELECTIONS = (
    ("-1", "LUGAR DE VOTACIÓN ACTUAL"),
    ("677", "ELECCIONES PRESIDENCIALES 2026"),
    ("60", "ELECCIONES DE AUTORIDADES LOCALES 2027"),
)

CAPTCHA_EMPTY_TEXT = "Marque el cuadro de verificación (Captcha: No soy un robot)"
CAPTCHA_REJECTED_TEXT = "Marque el cuadro de verificación o captcha! (Captcha: No soy un robot)"
RELOAD_TEXT = "La sesión ha expirado. Por favor recargue la página."
UPSTREAM_TIMEOUT_TEXT = "Curl error: Operation timed out after 15008 milliseconds with 0 bytes received"
MAINTENANCE_TEXT = "La información se encuentra en actualización. Por favor intente más tarde."
BAD_NUIP_TEXT = "Número de documento no válido. Digite solo números, sin puntos ni espacios."
BAD_TIPO_TEXT = "Seleccione un tipo de consulta válido."
NOT_FOUND_TEXT = "El documento de identidad número {nuip} no se encuentra en el censo para esta elección."
PENDING_TEXT = "El documento de identidad número {nuip} se encuentra {novedad}."

_TABLE_OPEN = (
    "<div class='table-responsive'><table class='display responsive table table-bordered table-striped' "
    "id='consulta'><thead><tr>"
)
_TABLE_CLOSE = "</tbody></table></p></div>"
_FOUND_FOOTER = (
    "<h3><b>Señor Ciudadano:</b></h3><h4 style='font-weight: 400 !important;'>Si usted realizó su trámite "
    "de inscripción, recuerde que éste se verá reflejado una vez sea validado y se conforme el censo "
    "electoral definitivo para las elecciones de Congreso, presidente y vicepresidente de la República "
    "2026.</h4>"
)


def _table(columns: list[tuple[str, str]], *, last_cell_attrs: str = "", bold_last: bool = False) -> str:
    head = "".join(f"<th class='text-center'>{name}</th>" for name, _ in columns)
    cells = []
    for index, (name, value) in enumerate(columns):
        last = index == len(columns) - 1
        attrs = last_cell_attrs if last else ""
        text = html.escape(value)
        if last and bold_last:
            text = f"<b>{text}</b>"
        cells.append(f"<td data-th='{name}'{attrs}>{text}</td>")
    return f"{_TABLE_OPEN}{head}</tr></thead><tbody><tr>{''.join(cells)}</tr>{_TABLE_CLOSE}"


def _reply(payload: dict) -> bytes:
    # Python's default separators give exactly the captured layout: {"success": true, "data": ...}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def message_reply(message: str, *, success: bool) -> bytes:
    return _reply({"success": success, "data": {"message": message}})


def reload_reply() -> bytes:
    return _reply({"success": False, "reload": True, "data": {"message": RELOAD_TEXT}})


def citizen_reply(citizen: Citizen) -> bytes:
    """The body of a lookup that reached the census, for every state."""
    if citizen.estado == "found":
        table = _table(
            [
                ("NUIP", citizen.nuip),
                ("DEPARTAMENTO", citizen.departamento),
                ("MUNICIPIO", citizen.municipio),
                ("PUESTO", citizen.puesto),
                ("DIRECCIÓN", citizen.direccion),
                ("MESA", citizen.mesa),
            ],
            last_cell_attrs=" class='text-center'",
            bold_last=True,
        )
        return message_reply(table + _FOUND_FOOTER, success=True)
    if citizen.estado in ("cancelled", "vigente"):
        table = _table(
            [
                ("NUIP", citizen.nuip),
                ("NOVEDAD", citizen.novedad),
                ("RESOLUCIÓN", citizen.resolucion),
                ("FECHA NOVEDAD", citizen.fecha_novedad),
            ]
        )
        return message_reply(table, success=True)
    if citizen.estado == "pending":
        text = PENDING_TEXT.format(nuip=citizen.nuip, novedad=html.escape(citizen.novedad))
        return message_reply(text, success=True)
    return message_reply(NOT_FOUND_TEXT.format(nuip=citizen.nuip), success=True)


@cache
def _template(name: str) -> Template:
    return Template((STATIC / name).read_text(encoding="utf-8"))


def render_page(token: str, sitekey: str = WSP_SITEKEY) -> bytes:
    """The lookup form with this page load's nonce."""
    options = "".join(f'<option value="{value}">{html.escape(label)}</option>' for value, label in ELECTIONS)
    page = _template("consultar.html").substitute(
        token=token,
        sitekey=sitekey,
        options=options,
        captcha_empty=html.escape(CAPTCHA_EMPTY_TEXT),
    )
    return page.encode("utf-8")


def render_waf_page() -> bytes:
    """The WAF's block page (F5 BIG-IP ASM with the Registraduría's own wording)."""
    support_id = str(secrets.randbelow(10**19)).zfill(19)
    return _template("waf.html").substitute(support_id=support_id).encode("utf-8")
