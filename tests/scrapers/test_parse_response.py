"""parse_response / parse_consultacenso: every reply (docs/registraduria.md#replies), its variants, junk."""

from __future__ import annotations

import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrapers.registraduria import (
    LookupResult,
    LookupStatus,
    fold,
    novedad_status,
    parse_consultacenso,
    parse_response,
)
from scrapers.text import RAW_CAP

# The captured found body (docs/registraduria.md#replies), verbatim (stray </p> included).
FOUND_BODY = (
    '{"success": true, "data": {"message": "<div class=\'table-responsive\'><table class=\'display '
    "responsive table table-bordered table-striped' id='consulta'><thead><tr><th class='text-center'>NUIP"
    "</th><th class='text-center'>DEPARTAMENTO</th><th class='text-center'>MUNICIPIO</th><th "
    "class='text-center'>PUESTO</th><th class='text-center'>DIRECCIÓN</th><th class='text-center'>MESA"
    "</th></tr></thead><tbody><tr><td data-th='NUIP'>1000000004</td><td data-th='DEPARTAMENTO'>SUCRE</td>"
    "<td data-th='MUNICIPIO'>SINCELEJO</td><td data-th='PUESTO'>IE SAN JOSE C I P</td><td "
    "data-th='DIRECCIÓN'>CL 22 No. 10A-380</td><td data-th='MESA' class='text-center'><b>13</b></td></tr>"
    "</tbody></table></p></div><h3><b>Señor Ciudadano:</b></h3><h4 style='font-weight: 400 !important;'>"
    "Si usted realizó su trámite de inscripción, recuerde que éste se verá reflejado una vez sea validado "
    "y se conforme el censo electoral definitivo para las elecciones de Congreso, presidente y "
    'vicepresidente de la República 2026.</h4>"}}'
)

FOUND_COLUMNS = [
    ("NUIP", "1000000004"),
    ("DEPARTAMENTO", "SUCRE"),
    ("MUNICIPIO", "SINCELEJO"),
    ("PUESTO", "IE SAN JOSE C I P"),
    ("DIRECCIÓN", "CL 22 No. 10A-380"),
    ("MESA", "<b>13</b>"),
]


def wsp(message: object, success: object = True, **extra: object) -> str:
    return json.dumps({"success": success, "data": {"message": message}, **extra}, ensure_ascii=False)


def table(columns: list[tuple[str, str]], *, data_th: bool = True, th: bool = True) -> str:
    head = "".join(f"<th class='text-center'>{name}</th>" for name, _ in columns) if th else ""
    cells = "".join(
        f"<td data-th='{name}'>{value}</td>" if data_th else f"<td>{value}</td>" for name, value in columns
    )
    return (
        f"<div class='table-responsive'><table id='consulta'><thead><tr>{head}</tr></thead>"
        f"<tbody><tr>{cells}</tr></tbody></table></p></div>"
    )


def novedad_table(novedad: str, resolucion: str = "1234 de 2024", fecha: str = "15/03/2024") -> str:
    return table(
        [("NUIP", "3000000001"), ("NOVEDAD", novedad), ("RESOLUCIÓN", resolucion), ("FECHA NOVEDAD", fecha)]
    )


def assert_found_sucre(result: LookupResult) -> None:
    assert result.status is LookupStatus.FOUND
    assert (result.departamento, result.municipio, result.puesto, result.direccion, result.mesa) == (
        "SUCRE",
        "SINCELEJO",
        "IE SAN JOSE C I P",
        "CL 22 No. 10A-380",
        "13",
    )


# ---- found -----------------------------------------------------------------------------------------


def test_the_captured_found_body_gives_every_field():
    result = parse_response(FOUND_BODY)
    assert_found_sucre(result)
    assert result.source == "wsp"
    assert result.raw == FOUND_BODY
    assert result.message.startswith("Señor Ciudadano:")
    assert not result.deceased and not result.timed_out and not result.is_transient


def test_found_with_keys_in_another_order():
    message = json.loads(FOUND_BODY)["data"]["message"]
    body = json.dumps({"data": {"message": message}, "success": True})
    assert_found_sucre(parse_response(body))


def test_found_columns_are_mapped_by_name_not_position():
    shuffled = [FOUND_COLUMNS[i] for i in (5, 3, 0, 4, 2, 1)]
    assert_found_sucre(parse_response(wsp(table(shuffled))))


def test_found_with_headers_only_and_no_data_th():
    assert_found_sucre(parse_response(wsp(table(FOUND_COLUMNS, data_th=False))))


def test_found_with_data_th_only_and_no_header_row():
    assert_found_sucre(parse_response(wsp(table(FOUND_COLUMNS, th=False))))


def test_data_th_wins_over_a_misleading_header_order():
    # Headers say one order, cells (with data-th) another: data-th names each cell.
    head = "".join(f"<th>{name}</th>" for name, _ in FOUND_COLUMNS)
    cells = "".join(f"<td data-th='{name}'>{value}</td>" for name, value in reversed(FOUND_COLUMNS))
    body = wsp(f"<table><tr>{head}</tr><tr>{cells}</tr></table>")
    assert_found_sucre(parse_response(body))


@pytest.mark.parametrize("header", ["DIRECCION", "Dirección", "dirección", "DIRECCIÓN:", " Direccion "])
def test_the_address_header_is_matched_without_accents_or_case(header):
    columns = [(header if name == "DIRECCIÓN" else name, value) for name, value in FOUND_COLUMNS]
    assert parse_response(wsp(table(columns))).direccion == "CL 22 No. 10A-380"


def test_lower_case_headers_and_double_quoted_attributes():
    html = table([(name.lower(), value) for name, value in FOUND_COLUMNS]).replace("'", '"')
    assert_found_sucre(parse_response(wsp(html)))


def test_cell_entities_are_decoded_and_whitespace_collapsed():
    columns = [
        ("NUIP", "1000000009"),
        ("DEPARTAMENTO", "NARI&Ntilde;O"),
        ("MUNICIPIO", "\n  PASTO \t"),
        ("PUESTO", "COLEGIO SANTANDER &amp; CIA &quot;SEDE A&quot; &#39;B&#39;"),
        ("DIRECCIÓN", "KR 29 &#35;  102 -\n 20 &lt;INT 2&gt;"),
        ("MESA", "<b> 4 </b>"),
    ]
    result = parse_response(wsp(table(columns)))
    assert result.status is LookupStatus.FOUND
    assert result.departamento == "NARIÑO"
    assert result.municipio == "PASTO"
    assert result.puesto == "COLEGIO SANTANDER & CIA \"SEDE A\" 'B'"
    assert result.direccion == "KR 29 # 102 - 20 <INT 2>"
    assert result.mesa == "4"


def test_a_json_escaped_body_with_unicode_escapes_parses_the_same():
    # PHP's json_encode escapes "/" and non-ASCII; the parser must not care.
    body = json.dumps(json.loads(FOUND_BODY), ensure_ascii=True).replace("/", "\\/")
    assert_found_sucre(parse_response(body))


def test_bytes_input_is_decoded():
    assert_found_sucre(parse_response(FOUND_BODY.encode("utf-8")))


def test_missing_columns_give_empty_strings():
    result = parse_response(wsp(table([("NUIP", "1"), ("MESA", "2")])))
    assert result.status is LookupStatus.FOUND
    assert result.mesa == "2"
    assert result.departamento == result.puesto == result.direccion == ""


# ---- cancelled / pending / not found ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("novedad", "deceased"),
    [
        ("CANCELADA POR MUERTE", True),
        ("Cancelada por Muerte", True),
        ("cancelada por muerte", True),
        ("CANCELADO - FALLECIDO", True),
        ("Cancelada por Doble Cedulación", False),
        ("Cancelada por Suplantación", False),
        ("Baja por Perdida o Suspension de los Derechos Politicos", False),
    ],
)
def test_a_novedad_table_is_cancelled(novedad, deceased):
    result = parse_response(wsp(novedad_table(novedad)))
    assert result.status is LookupStatus.CANCELLED
    assert result.deceased is deceased
    assert result.novedad == novedad
    assert (result.resolucion, result.fecha_novedad) == ("1234 de 2024", "15/03/2024")
    assert result.mesa == ""


# The ANI states (docs/registraduria.md#novedades), with the status and deceased flag each must give, plus
# spelling variants: the comparison ignores accents and case.
OFFICIAL_NOVEDADES = [
    ("Vigente", LookupStatus.UNKNOWN, False),
    ("VIGENTE", LookupStatus.UNKNOWN, False),
    ("vigente", LookupStatus.UNKNOWN, False),
    ("Vigente con Pérdida o Suspensión de los Derechos Políticos", LookupStatus.CANCELLED, False),
    ("VIGENTE CON PERDIDA O SUSPENSION DE LOS DERECHOS POLITICOS", LookupStatus.CANCELLED, False),
    ("Cancelada por Muerte", LookupStatus.CANCELLED, True),
    ("CANCELADA POR MUERTE", LookupStatus.CANCELLED, True),
    ("Cancelada por Doble Cedulación", LookupStatus.CANCELLED, False),
    ("Cancelada por Suplantación", LookupStatus.CANCELLED, False),
    ("Cancelada por Menoría de Edad", LookupStatus.CANCELLED, False),
    ("Cancelada por Extranjería", LookupStatus.CANCELLED, False),
    ("CANCELADA POR EXTRANJERIA", LookupStatus.CANCELLED, False),
    ("Cancelada por Mala Elaboración", LookupStatus.CANCELLED, False),
    ("Cancelada por Falsa Identidad", LookupStatus.CANCELLED, False),
    ("Baja por Perdida o Suspension de los Derechos Politicos", LookupStatus.CANCELLED, False),
    ("Baja por Pérdida o Suspensión de los Derechos Políticos", LookupStatus.CANCELLED, False),
    ("Pendiente Solicitud en Reproceso", LookupStatus.PENDING, False),
    ("Pendiente por estar en Proceso de Expedición", LookupStatus.PENDING, False),
    ("PENDIENTE POR ESTAR EN PROCESO DE EXPEDICION", LookupStatus.PENDING, False),
]


@pytest.mark.parametrize(("novedad", "status", "deceased"), OFFICIAL_NOVEDADES)
def test_every_official_novedad_in_a_wsp_table(novedad, status, deceased):
    body = wsp(novedad_table(novedad))
    result = parse_response(body)
    assert (result.status, result.deceased) == (status, deceased)
    assert result.novedad == novedad
    assert (result.resolucion, result.fecha_novedad) == ("1234 de 2024", "15/03/2024")
    assert result.raw == body


@pytest.mark.parametrize(("novedad", "status", "deceased"), OFFICIAL_NOVEDADES)
def test_every_official_novedad_from_consultacenso(novedad, status, deceased):
    mensaje = f"El documento de identidad número 3000000001 presenta una novedad: {novedad}."
    body = cc(ok=True, encontrado=False, data=None, mensaje=mensaje, novedad={"descripcion": novedad})
    result = parse_consultacenso(body)
    assert (result.status, result.deceased) == (status, deceased)
    assert result.novedad == novedad
    assert result.message == mensaje
    assert result.raw == body


def test_a_vigente_cedula_is_not_cancelled_and_keeps_the_sites_words():
    body = wsp(novedad_table("Vigente", "", ""))
    result = parse_response(body)
    assert result.status is LookupStatus.UNKNOWN
    assert not result.deceased and not result.is_transient
    # The table is the whole reply, so its novedad is the message an operator reads.
    assert result.message == "Vigente"
    assert "Vigente" in result.error
    assert result.raw == body


def test_a_novedad_table_with_an_empty_novedad_is_not_a_cancellation():
    result = parse_response(wsp(novedad_table("", "", "")))
    assert result.status is LookupStatus.UNKNOWN
    assert not result.deceased


@pytest.mark.parametrize(("novedad", "status", "deceased"), OFFICIAL_NOVEDADES)
def test_novedad_status_matches_the_vocabulary(novedad, status, deceased):
    assert novedad_status(novedad) == (status, deceased)
    assert novedad_status(f"  {novedad.lower()}  ") == (status, deceased)


def test_a_pending_novedad_in_a_table_is_pending():
    result = parse_response(wsp(novedad_table("Pendiente por estar en Proceso de Expedición", "", "")))
    assert result.status is LookupStatus.PENDING
    assert result.novedad == "Pendiente por estar en Proceso de Expedición"


@pytest.mark.parametrize(
    "text",
    [
        "El documento de identidad número 2000000001 no se encuentra en el censo para esta elección.",
        "EL DOCUMENTO DE IDENTIDAD NUMERO 2000000001 NO SE ENCUENTRA EN EL CENSO PARA ESTA ELECCION.",
        "<p>El documento   de identidad n&uacute;mero 2000000001\n no se encuentra en el censo.</p>",
    ],
)
@pytest.mark.parametrize("success", [True, False])
def test_not_in_census(text, success):
    result = parse_response(wsp(text, success=success))
    assert result.status is LookupStatus.NOT_FOUND
    assert "2000000001" in result.message
    assert not result.is_transient


@pytest.mark.parametrize(
    "text",
    [
        "Pendiente por Solicitud en proceso",
        "El documento de identidad número 4000000001 se encuentra Pendiente por estar en Proceso de "
        "Expedición.",
        "PENDIENTE SOLICITUD EN REPROCESO",
    ],
)
def test_pending_texts(text):
    result = parse_response(wsp(text))
    assert result.status is LookupStatus.PENDING
    assert result.message == " ".join(text.split())


# ---- failures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Marque el cuadro de verificación o captcha!...",
        "MARQUE EL CUADRO DE VERIFICACION",
        "Error validando el Captcha",
        "Marque el cuadro de verificación (Captcha: No soy un robot)",
    ],
)
def test_captcha_rejected(text):
    result = parse_response(wsp(text, success=False))
    assert result.status is LookupStatus.CAPTCHA_REJECTED
    assert result.is_transient


@pytest.mark.parametrize(
    "body",
    [
        '{"success": false, "reload": true}',
        '{"reload": true, "success": false, "data": {"message": "Marque el cuadro de verificación"}}',
        '{"success": false, "reload": "true"}',
        '{"success": false, "RELOAD": 1}',
    ],
)
def test_reload_means_session_expired_whatever_the_message(body):
    result = parse_response(body)
    assert result.status is LookupStatus.SESSION_EXPIRED
    assert result.is_transient


def test_reload_false_is_not_session_expired():
    result = parse_response('{"success": false, "reload": false, "data": {"message": "captcha"}}')
    assert result.status is LookupStatus.CAPTCHA_REJECTED


def test_the_upstream_curl_timeout_is_a_site_error_but_not_our_timeout():
    text = "Curl error: Operation timed out after 15008 milliseconds with 0 bytes received"
    result = parse_response(wsp(text, success=False))
    assert result.status is LookupStatus.SITE_ERROR
    assert result.message == text
    assert result.timed_out is False
    assert result.is_transient


@pytest.mark.parametrize("success", [True, False])
def test_maintenance_is_a_site_error(success):
    text = "La información se encuentra en actualización. Por favor intente más tarde."
    result = parse_response(wsp(text, success=success))
    assert result.status is LookupStatus.SITE_ERROR
    assert result.message == text


WAF_PAGE = (
    "<!DOCTYPE html><html><head><title>Registraduría</title><style>.blocked h3{color:red}</style></head>"
    "<body><div class='blocked'><h3>Lo sentimos, se presentó un evento de seguridad.</h3>"
    "<p>Número de soporte: <b>1234567890</b></p></div></body></html>"
)


@pytest.mark.parametrize(
    "page",
    [
        WAF_PAGE,
        WAF_PAGE.replace("presentó", "presento").upper(),
        WAF_PAGE.replace("presentó", "present&oacute;"),
        "<div class='authenticate'><h3>Se presentó un evento de seguridad</h3></div>",
    ],
)
def test_the_waf_page_is_blocked(page):
    result = parse_response(page)
    assert result.status is LookupStatus.BLOCKED
    assert result.is_transient
    assert result.raw == page


def test_the_waf_page_message_skips_the_style_block():
    result = parse_response(WAF_PAGE)
    assert "color:red" not in result.message
    assert "se presentó un evento de seguridad" in result.message


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   \n",
        "<html><body>502 Bad Gateway</body></html>",
        FOUND_BODY[:300],
        '{"success": tr',
        "\x00\x01",
    ],
)
def test_non_json_that_is_not_the_waf_is_a_site_error(body):
    result = parse_response(body)
    assert result.status is LookupStatus.SITE_ERROR
    assert result.error


@pytest.mark.parametrize("body", [None, b"", b"\xff\xfe\xfd"])
def test_none_and_undecodable_bytes_are_site_errors(body):
    assert parse_response(body).status is LookupStatus.SITE_ERROR


@pytest.mark.parametrize("body", ["[]", "[1, 2]", "null", "42", '"text"', "true", '[{"success": true}]'])
def test_json_that_is_not_an_object_is_unknown(body):
    result = parse_response(body)
    assert result.status is LookupStatus.UNKNOWN
    assert result.raw == body


@pytest.mark.parametrize(
    "body",
    [
        '{"success": true, "data": {"message": null}}',
        '{"success": true, "data": {"message": 42}}',
        '{"success": true, "data": {"message": ["<table>"]}}',
        '{"success": true, "data": {"message": {"a": {"b": [1, {"c": null}]}}}}',
        '{"success": true, "data": null}',
        '{"success": true, "data": [1, 2, 3]}',
        '{"success": true}',
        "{}",
        '{"success": true, "data": {"message": "<div>Bienvenido</div>"}}',
    ],
)
def test_unrecognised_replies_are_unknown_and_keep_the_body(body):
    result = parse_response(body)
    assert result.status is LookupStatus.UNKNOWN
    assert result.raw == body
    assert not result.is_transient


def test_deeply_nested_json_does_not_raise():
    assert parse_response("[" * 200_000 + "]" * 200_000).status in set(LookupStatus)
    assert parse_response('{"a":' * 100_000 + "1" + "}" * 100_000).status in set(LookupStatus)


def test_message_at_top_level_is_accepted():
    body = json.dumps({"success": False, "message": "Marque el cuadro de verificación"})
    assert parse_response(body).status is LookupStatus.CAPTCHA_REJECTED


def test_raw_is_capped_and_free_of_nul_characters():
    body = wsp("<p>" + "x\x00" * 100_000 + "</p>")
    result = parse_response(body)
    assert len(result.raw) <= RAW_CAP
    assert "\x00" not in result.raw
    assert body.startswith(result.raw[:100])


@pytest.mark.parametrize(
    "junk",
    [
        "x" * 5_000_000,
        "<a " * 1_700_000,
        "<td>" * 1_250_000,
        "<table><tr><th>MESA</th>" * 200_000,
        "<!--" * 1_250_000,
        "<script>" * 600_000,
        "&#" * 2_500_000,
    ],
)
@pytest.mark.parametrize("wrap", [False, True])
def test_five_megabytes_of_junk_come_back_promptly(junk, wrap):
    body = wsp(junk) if wrap else junk
    # CPU time of this process, not wall time: other jobs on a shared machine stretch the
    # wall clock, not the work done. Measured 38-134 ms; a quadratic blow-up takes minutes.
    started = time.process_time()
    result = parse_response(body)
    assert time.process_time() - started < 1
    assert isinstance(result, LookupResult)
    assert len(result.raw) <= RAW_CAP


def test_a_huge_valid_found_body_still_parses_its_table():
    body = wsp(json.loads(FOUND_BODY)["data"]["message"] + "<p>" + "relleno " * 600_000 + "</p>")
    assert_found_sucre(parse_response(body))


def test_is_transient_covers_our_own_timeout():
    assert LookupResult(LookupStatus.SITE_ERROR, timed_out=True).is_transient
    assert LookupResult(LookupStatus.UNKNOWN, timed_out=True).is_transient
    assert not LookupResult(LookupStatus.FOUND).is_transient
    assert not LookupResult(LookupStatus.CANCELLED).is_transient


def test_fold_strips_accents_case_and_spacing():
    assert fold("  Se PRESENTÓ\n un   evento ") == "se presento un evento"
    assert fold("NARIÑO") == "narino"


# ---- hypothesis: it never raises -------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
html_fragments = st.lists(
    st.sampled_from(
        [
            "<table>",
            "</table>",
            "<tr>",
            "</tr>",
            "<td data-th='MESA'>",
            "<td data-th=",
            "<th>NOVEDAD</th>",
            "<th>MESA",
            "</td>",
            "&amp;",
            "&#",
            "<!--",
            "-->",
            "<script>",
            "no se encuentra",
            "pendiente",
            "captcha",
            "<",
            ">",
            "'",
            '"',
        ]
    )
    | st.text(max_size=20),
    max_size=40,
).map("".join)


def check(result: LookupResult, source: str) -> None:
    assert isinstance(result, LookupResult)
    assert result.status in set(LookupStatus)
    assert result.source == source
    assert len(result.raw) <= RAW_CAP
    for name in ("departamento", "municipio", "puesto", "direccion", "mesa", "novedad", "message"):
        assert isinstance(getattr(result, name), str)


# `make test` tries 300 replies per fuzz test; `make test-fast` sets FUZZ_EXAMPLES lower so the
# quick tier stays quick and still runs every property.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(st.text(max_size=2000) | st.binary(max_size=2000))
def test_fuzz_any_text_or_bytes(body):
    check(parse_response(body), "wsp")
    check(parse_consultacenso(body), "consultacenso")


@FUZZ
@given(json_values)
def test_fuzz_any_json(value):
    body = json.dumps(value)
    check(parse_response(body), "wsp")
    check(parse_consultacenso(body), "consultacenso")


@FUZZ
@given(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    st.one_of(st.none(), st.booleans(), st.text(max_size=5)),
    html_fragments,
)
def test_fuzz_wsp_shaped_replies(success, reload, message):
    check(
        parse_response(json.dumps({"success": success, "reload": reload, "data": {"message": message}})),
        "wsp",
    )


@FUZZ
@given(st.dictionaries(st.sampled_from(["ok", "encontrado", "data", "mensaje", "novedad"]), json_values))
def test_fuzz_consultacenso_shaped_replies(payload):
    check(parse_consultacenso(json.dumps(payload)), "consultacenso")


# ---- consultacenso ---------------------------------------------------------------------------------


def cc(**payload: object) -> str:
    return json.dumps(payload, ensure_ascii=False)


def test_consultacenso_found():
    data = {
        "nuip": "1000000004",
        "nom_depto": "SUCRE",
        "nom_mun": "SINCELEJO",
        "nom_puesto": "IE SAN JOSE C I P",
        "direccion": "CL 22 No. 10A-380",
        "mesa": 13,
    }
    result = parse_consultacenso(cc(data=data, encontrado=True, ok=True))
    assert_found_sucre(result)
    assert result.source == "consultacenso"


def test_consultacenso_not_found():
    mensaje = "El documento de identidad número 2000000001 no se encuentra en el censo para esta elección."
    result = parse_consultacenso(cc(ok=True, encontrado=False, data=None, mensaje=mensaje))
    assert result.status is LookupStatus.NOT_FOUND
    assert result.message == mensaje


@pytest.mark.parametrize(
    ("novedad", "status", "deceased"),
    [
        (
            {"descripcion": "CANCELADA POR MUERTE", "resolucion": "1234 de 2024", "fecha": "15/03/2024"},
            "cancelled",
            True,
        ),
        ({"descripcion": "Cancelada por Doble Cedulación"}, "cancelled", False),
        ("Cancelada por Muerte", "cancelled", True),
        ({"descripcion": "Pendiente por estar en Proceso de Expedición"}, "pending", False),
        ("Pendiente Solicitud en Reproceso", "pending", False),
    ],
)
def test_consultacenso_novedades(novedad, status, deceased):
    result = parse_consultacenso(cc(ok=True, encontrado=False, data=None, mensaje="x", novedad=novedad))
    assert result.status == status
    assert result.deceased is deceased
    assert result.novedad
    if isinstance(novedad, dict) and "resolucion" in novedad:
        assert (result.resolucion, result.fecha_novedad) == ("1234 de 2024", "15/03/2024")


def test_consultacenso_bad_captcha():
    mensaje = "Captcha inválido o vencido. Marque el cuadro de verificación (No soy un robot)."
    result = parse_consultacenso(cc(ok=False, encontrado=False, data=None, mensaje=mensaje))
    assert result.status is LookupStatus.CAPTCHA_REJECTED


def test_consultacenso_other_refusals_are_unknown():
    result = parse_consultacenso(cc(ok=False, mensaje="El número de documento no es válido."))
    assert result.status is LookupStatus.UNKNOWN


def test_consultacenso_server_error_page_is_a_site_error():
    page = "<html><head><title>500 Internal Server Error</title></head><body><h1>500</h1></body></html>"
    assert parse_consultacenso(page).status is LookupStatus.SITE_ERROR
    assert parse_consultacenso("").status is LookupStatus.SITE_ERROR


def test_consultacenso_found_flag_without_data_is_not_found():
    assert parse_consultacenso(cc(ok=True, encontrado=True, data=None)).status is LookupStatus.UNKNOWN
