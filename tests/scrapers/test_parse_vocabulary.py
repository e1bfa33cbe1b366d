"""A reply without a table that states the outcome only in words is read by the Registraduría's
own vocabulary (docs/registraduria.md#novedades): every ANI state and legacy phrase, in the
variants a site produces — case, accents or none, HTML entities (named, decimal, hexadecimal),
wrapped in markup (<b>, <span>, <p>, line breaks), inside a sentence — from wsp, consultacenso
and eleccionescolombia. The phrases are listed here on their own, so dropping one from the code
fails a test."""

from __future__ import annotations

import html.entities
import json
import os
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrapers.registraduria import (
    ANI_NOVEDADES,
    LEGACY_NOVEDADES,
    LookupStatus,
    find_novedad,
    novedad_status,
    parse_consultacenso,
    parse_response,
)
from scrapers.sources.eleccionescolombia import parse_eleccionescolombia

C, P, U = LookupStatus.CANCELLED, LookupStatus.PENDING, LookupStatus.UNKNOWN

# (phrase as the site writes it, status, deceased): the ANI's states, then the legacy phrases.
VOCABULARY = [
    ("Vigente", U, False),
    ("Vigente con Pérdida o Suspensión de los Derechos Políticos", C, False),
    ("Cancelada por Muerte", C, True),
    ("Cancelada por Doble Cedulación", C, False),
    ("Cancelada por Suplantación", C, False),
    ("Cancelada por Menoría de Edad", C, False),
    ("Cancelada por Extranjería", C, False),
    ("Cancelada por Mala Elaboración", C, False),
    ("Cancelada por Falsa Identidad", C, False),
    ("Baja por Perdida o Suspension de los Derechos Politicos", C, False),
    ("Pendiente Solicitud en Reproceso", P, False),
    ("Pendiente por estar en Proceso de Expedición", P, False),
    ("Pendiente por Solicitud en proceso", P, False),
    ("fallecido", C, True),
    ("fallecimiento", C, True),
]
NOT_FOUND = [
    "no se encuentra en el censo",
    "El documento de identidad número 2000000001 no se encuentra en el censo para esta elección.",
    "no existe",
]


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def entities(text: str, style: str) -> str:
    """Every non-ASCII letter as an HTML entity: named (&aacute;), decimal (&#243;) or hex (&#xF3;)."""
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(ch)
        elif style == "named" and ord(ch) in html.entities.codepoint2name:
            out.append(f"&{html.entities.codepoint2name[ord(ch)]};")
        elif style == "hex":
            out.append(f"&#x{ord(ch):X};")
        else:
            out.append(f"&#{ord(ch)};")
    return "".join(out)


def wrap_last_word(text: str, tag: str) -> str:
    head, _, last = text.rpartition(" ")
    return f"{head} <{tag}>{last}</{tag}>" if head else f"<{tag}>{last}</{tag}>"


def wrap_first_accent(text: str) -> str:
    """The accented letter alone in <b>…</b>: inline markup inside a word keeps it one word."""
    for index, ch in enumerate(text):
        if ord(ch) >= 128:
            return f"{text[:index]}<b>{ch}</b>{text[index + 1 :]}"
    return text


VARIANTS = {
    "as written": lambda t: t,
    "upper case": str.upper,
    "lower case": str.lower,
    "no accents": strip_accents,
    "upper, no accents": lambda t: strip_accents(t).upper(),
    "named entities": lambda t: entities(t, "named"),
    "decimal entities": lambda t: entities(t, "decimal"),
    "hex entities": lambda t: entities(t, "hex"),
    "in <b>": lambda t: f"<b>{t}</b>",
    "in a span with a class": lambda t: f"<span class='text-danger'>{t}</span>",
    "last word in <strong>": lambda t: wrap_last_word(t, "strong"),
    "accent in <b>": wrap_first_accent,
    "line breaks and spaces": lambda t: t.replace(" ", " \n  ", 2),
    "<br> between words": lambda t: t.replace(" ", "<br>", 1),
    "in <p> with &nbsp;": lambda t: f"<p>{t.replace(' ', '&nbsp;', 1)}</p>",
    "in a sentence": lambda t: f"El documento de identidad número 3000000001 se encuentra {t}.",
    "heading and sentence": lambda t: (
        f"<h4>Estado de la cédula</h4><div class='alert'>Novedad: <b>{t}</b></div>"
    ),
}


def parsers(text: str):
    """The same words from each source, where they would come as words only."""
    yield "wsp", parse_response(json.dumps({"success": True, "data": {"message": text}}, ensure_ascii=False))
    yield (
        "wsp success false",
        parse_response(json.dumps({"success": False, "data": {"message": text}}, ensure_ascii=False)),
    )
    yield "consultacenso", parse_consultacenso(json.dumps({"ok": True, "encontrado": False, "mensaje": text}))
    yield (
        "eleccionescolombia",
        parse_eleccionescolombia(json.dumps({"status": True, "message": text, "data": {}})),
    )


def test_the_code_knows_every_phrase_of_the_vocabulary():
    known = {(n.phrase, n.status, n.deceased) for n in (*ANI_NOVEDADES, *LEGACY_NOVEDADES)}
    assert known == set(VOCABULARY)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("phrase", "status", "deceased"), VOCABULARY)
def test_a_state_in_words_only_is_read_by_the_vocabulary(phrase, status, deceased, variant):
    text = VARIANTS[variant](phrase)
    for source, result in parsers(text):
        if status is U:
            # Plain "Vigente": a valid cédula but no voting place came with it; the state is kept.
            assert result.status is U, (source, text, result)
            if source != "eleccionescolombia":
                assert result.novedad == "Vigente", (source, text)
            continue
        assert (result.status, result.deceased) == (status, deceased), (source, text, result)
        assert result.novedad == phrase, (source, text)
        assert not result.is_transient


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("phrase", "status", "deceased"), VOCABULARY)
def test_a_novedad_cell_in_any_variant_is_read_alike(phrase, status, deceased, variant):
    text = VARIANTS[variant](phrase)
    cell = f"<td data-th='NOVEDAD'>{text}</td>"
    body = json.dumps(
        {
            "success": True,
            "data": {
                "message": f"<table id='consulta'><tr><th>NUIP</th><th>NOVEDAD</th></tr>"
                f"<tr><td data-th='NUIP'>3000000001</td>{cell}</tr></table>"
            },
        },
        ensure_ascii=False,
    )
    result = parse_response(body)
    assert (result.status, result.deceased) == (status, deceased), (text, result)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("text", NOT_FOUND)
def test_not_in_census_in_any_variant(text, variant):
    for source, result in parsers(VARIANTS[variant](text)):
        if source == "eleccionescolombia":
            continue  # it says so with is_in_census, not in words (test_parse_eleccionescolombia.py)
        assert result.status is LookupStatus.NOT_FOUND, (source, result)


def test_a_named_cancellation_wins_over_not_found_and_vigente_beside_it():
    text = "El documento 3000000001 no se encuentra vigente: Cancelada por Doble Cedulación."
    result = parse_response(json.dumps({"success": True, "data": {"message": text}}))
    assert result.status is C and result.novedad == "Cancelada por Doble Cedulación"
    assert find_novedad("VIGENTE ... Pendiente Solicitud en Reproceso").status is P


@pytest.mark.parametrize(
    "text",
    [
        "Vigentes",  # never inside another word
        "Se encuentra cancelada",  # no state named
        "pendientes de revisión",
        "Su trámite de inscripción se verá reflejado",
    ],
)
def test_words_that_only_look_like_a_state_are_not_one(text):
    assert find_novedad(text) is None


def test_an_unknown_cancellation_wording_still_cancels():
    assert novedad_status("CANCELADA POR RESOLUCIÓN 99") == (C, False)
    assert novedad_status("Baja por fallecimiento del titular") == (C, True)


# ---- property: any mix of the variants --------------------------------------------------------

TRANSFORMS = list(VARIANTS.values())
PROPERTY = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(
    entry=st.sampled_from([v for v in VOCABULARY if v[1] is not U]),
    steps=st.lists(st.sampled_from(TRANSFORMS[:12]), max_size=3),
    outer=st.sampled_from(TRANSFORMS[12:]),
)
def test_any_mix_of_case_accents_entities_and_markup_is_read_alike(entry, steps, outer):
    phrase, status, deceased = entry
    text = phrase
    for step in steps:
        # Entities only as the last letter-level step: an entity's own letters must stay as written.
        text = step(text) if "&" not in text else text
    text = outer(text)
    result = parse_response(json.dumps({"success": True, "data": {"message": text}}, ensure_ascii=False))
    assert (result.status, result.deceased) == (status, deceased), text
