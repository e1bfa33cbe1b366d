"""What the Registraduría answered, as a typed result, and the pure parsers of its replies.

Nothing here does I/O: ``parse_response`` turns the JSON body of the wsp lookup POST into a
:class:`LookupResult`, ``parse_consultacenso`` does the same for the consultacenso API. Both are
total functions: any input, however broken, gives a result and never an exception.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from .text import WAF_MARKER, cap_raw, fold


class LookupStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    CANCELLED = "cancelled"
    PENDING = "pending"
    CAPTCHA_REJECTED = "captcha_rejected"
    SESSION_EXPIRED = "session_expired"
    BLOCKED = "blocked"
    SITE_ERROR = "site_error"
    UNKNOWN = "unknown"


TRANSIENT_STATUSES = frozenset(
    {
        LookupStatus.CAPTCHA_REJECTED,
        LookupStatus.SESSION_EXPIRED,
        LookupStatus.BLOCKED,
        LookupStatus.SITE_ERROR,
    }
)


@dataclass(frozen=True)
class LookupResult:
    """One lookup's outcome.

    ``zona`` is the electoral zone (two digits) where the source gives one (eleccionescolombia does;
    wsp and consultacenso do not: empty there). ``message`` is the site's own text when there is one,
    ``raw`` the reply body capped at 64 KB, ``source`` which site answered (a name of
    ``scrapers.sources.SOURCES``), ``timed_out`` whether our own
    deadline (or a page timeout) ended the lookup, ``error`` an operator-facing detail.
    ``deferred`` is set when no source was asked at all because the fleet's politeness said
    not now (``circuit_open`` or ``rate_limited``, ``scrapers.politeness``) or because this
    process has more lookups waiting on tokens than its pages can serve (``busy``,
    ``scrapers.pacing``); ``retry_after`` then
    says in how many seconds to try again. Such a result is no attempt: nothing reached the site.
    """

    status: LookupStatus
    departamento: str = ""
    municipio: str = ""
    puesto: str = ""
    direccion: str = ""
    mesa: str = ""
    zona: str = ""
    novedad: str = ""
    resolucion: str = ""
    fecha_novedad: str = ""
    deceased: bool = False
    message: str = ""
    raw: str = ""
    source: str = ""
    timed_out: bool = False
    error: str = ""
    deferred: str = ""
    retry_after: float = 0.0

    @property
    def is_transient(self) -> bool:
        """True when trying again later may give a different answer."""
        return self.status in TRANSIENT_STATUSES or self.timed_out


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------

# Work is capped so that a hostile or broken reply (megabytes of junk) costs milliseconds.
_HTML_LIMIT = 256 * 1024  # characters of the message HTML fed to the HTML parser
_TEXT_LIMIT = 512 * 1024  # characters searched for marker texts in a non-JSON reply
_FIELD_LIMIT = 255  # one table cell; the portal's columns are at most this long
_MESSAGE_LIMIT = 2000


# Folded (accent-less, lower case) header text -> LookupResult field. Columns are matched by
# name, never by position: the site's column order is not guaranteed.
_HEADER_FIELDS = {
    "departamento": "departamento",
    "depto": "departamento",
    "municipio": "municipio",
    "puesto": "puesto",
    "puesto de votacion": "puesto",
    "lugar de votacion": "puesto",
    "direccion": "direccion",
    "direccion puesto": "direccion",
    "direccion del puesto": "direccion",
    "mesa": "mesa",
    "novedad": "novedad",
    "resolucion": "resolucion",
    "fecha novedad": "fecha_novedad",
    "fecha de novedad": "fecha_novedad",
    "fecha": "fecha_novedad",
}

_CAPTCHA_MARKERS = ("marque el cuadro", "captcha", "no soy un robot")
_SITE_ERROR_MARKERS = ("curl error", "timed out", "timeout", "en actualizacion", "intente mas tarde")
_NOT_FOUND_MARKERS = ("no se encuentra", "no existe", "no fue encontrad")
# Stems that make an unknown cancellation wording a death (docs/registraduria.md#novedades).
_DECEASED_MARKERS = ("muerte", "fallecid", "fallecimiento")


@dataclass(frozen=True)
class Novedad:
    """One state of a cédula in the Registraduría's own words, and how we read it."""

    phrase: str  # as the ANI (or the legacy page) writes it, accents included
    status: LookupStatus
    deceased: bool = False

    @property
    def folded(self) -> str:
        return fold(self.phrase)


# The ANI's vocabulary of a cédula's states (docs/registraduria.md#novedades): the one list the
# NOVEDAD cells, the words-only replies and the replica are read by. Longer phrases are tried
# first, so "Vigente con Pérdida …" is never read as plain "Vigente".
ANI_NOVEDADES: tuple[Novedad, ...] = (
    Novedad("Vigente", LookupStatus.UNKNOWN),
    Novedad("Vigente con Pérdida o Suspensión de los Derechos Políticos", LookupStatus.CANCELLED),
    Novedad("Cancelada por Muerte", LookupStatus.CANCELLED, deceased=True),
    Novedad("Cancelada por Doble Cedulación", LookupStatus.CANCELLED),
    Novedad("Cancelada por Suplantación", LookupStatus.CANCELLED),
    Novedad("Cancelada por Menoría de Edad", LookupStatus.CANCELLED),
    Novedad("Cancelada por Extranjería", LookupStatus.CANCELLED),
    Novedad("Cancelada por Mala Elaboración", LookupStatus.CANCELLED),
    Novedad("Cancelada por Falsa Identidad", LookupStatus.CANCELLED),
    Novedad("Baja por Perdida o Suspension de los Derechos Politicos", LookupStatus.CANCELLED),
    Novedad("Pendiente Solicitud en Reproceso", LookupStatus.PENDING),
    Novedad("Pendiente por estar en Proceso de Expedición", LookupStatus.PENDING),
)
# Wordings of the older pages, still matched.
LEGACY_NOVEDADES: tuple[Novedad, ...] = (
    Novedad("Pendiente por Solicitud en proceso", LookupStatus.PENDING),
    Novedad("fallecido", LookupStatus.CANCELLED, deceased=True),
    Novedad("fallecimiento", LookupStatus.CANCELLED, deceased=True),
)
_VOCABULARY = sorted((*ANI_NOVEDADES, *LEGACY_NOVEDADES), key=lambda n: len(n.folded), reverse=True)
_BY_FOLDED = {n.folded: n for n in _VOCABULARY}
# One pass over the text: every phrase as whole words (never inside another word), the longest
# alternative first at each position.
_VOCABULARY_RE = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n.folded) for n in _VOCABULARY) + r")(?!\w)")


def find_novedad(text: str, *, folded: bool = False) -> Novedad | None:
    """The state of the vocabulary that ``text`` names (compared folded: case, accents, spacing).

    When the text names several, a cancellation or a pending procedure wins over plain "Vigente".
    ``folded=True``: ``text`` is already folded.
    """
    best: Novedad | None = None
    for match in _VOCABULARY_RE.finditer(text if folded else fold(text)):
        novedad = _BY_FOLDED[match.group(0)]
        unknown = LookupStatus.UNKNOWN
        if best is None or (best.status is unknown and novedad.status is not unknown):
            best = novedad
    return best


def clean_text(text: str, limit: int = _FIELD_LIMIT) -> str:
    """Collapse whitespace, drop NUL characters (PostgreSQL text cannot hold them) and cap the length."""
    return " ".join(text.replace("\x00", " ").split())[:limit]


@dataclass
class _Table:
    headers: list[str] = field(default_factory=list)
    rows: list[list[tuple[str, str]]] = field(default_factory=list)  # (data-th, text) per cell


# A tag, scanned without backtracking: ``[^<>]*`` stops at the next ``<``, so scanning is linear
# even on junk like "<a <a <a ..." that makes html.parser quadratic.
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)([^<>]*)>")
_DATA_TH_RE = re.compile(r"""data-th\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_RAW_TEXT_END = {tag: re.compile(f"</{tag}", re.IGNORECASE) for tag in ("script", "style")}
# Tags that inline text runs through (<b>, <span>, <a>, …) join the words on each side as a
# browser shows them ("Expedici<b>ó</b>n" is one word); every other tag (<br>, <p>, <div>,
# <td>, <h3>, …) separates them.
_INLINE_TAGS = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
        "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
    }
)  # fmt: skip


@dataclass
class _Message:
    tables: list[_Table]
    text: str  # every text node, folded, for marker searches
    display: str  # the text outside tables, cleaned, for LookupResult.message


class _MessageScanner:
    """A small linear HTML scanner: tables (header names, cells with ``data-th``) and text."""

    def __init__(self) -> None:
        self.tables: list[_Table] = []
        self.outside_text: list[str] = []
        self.all_text: list[str] = []
        self._stack: list[_Table] = []
        self._row: list[tuple[str, str]] | None = None
        self._cell: list[str] | None = None
        self._cell_is_header = False
        self._cell_th = ""

    def scan(self, html: str) -> None:
        pos, end = 0, len(html)
        while pos < end:
            lt = html.find("<", pos)
            if lt == -1:
                self._text(html[pos:])
                break
            self._text(html[pos:lt])
            if html.startswith("<!--", lt):
                close = html.find("-->", lt + 4)
                pos = end if close == -1 else close + 3
                continue
            match = _TAG_RE.match(html, lt)
            if match is None:
                if html.startswith(("<!", "<?"), lt):
                    close = html.find(">", lt)
                    pos = end if close == -1 else close + 1
                else:
                    self._text("<")
                    pos = lt + 1
                continue
            pos = match.end()
            closing, tag, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if tag not in _INLINE_TAGS:
                self._separate()
            if closing:
                self._end(tag)
                continue
            if tag in _RAW_TEXT_END:
                # Skip to the closing tag: the body of a script or style is not text.
                closing_tag = _RAW_TEXT_END[tag].search(html, pos)
                pos = end if closing_tag is None else closing_tag.start()
                continue
            self._start(tag, attrs)
        self._close_row()

    def _start(self, tag: str, attrs: str) -> None:
        if tag == "table":
            table = _Table()
            self.tables.append(table)
            self._stack.append(table)
        elif not self._stack:
            return
        elif tag == "tr":
            self._close_row()
            self._row = []
        elif tag in ("td", "th"):
            self._close_cell()
            self._cell = []
            self._cell_is_header = tag == "th"
            found = _DATA_TH_RE.search(attrs)
            self._cell_th = (
                html_lib.unescape(next((g for g in found.groups() if g is not None), "")) if found else ""
            )

    def _end(self, tag: str) -> None:
        if not self._stack:
            return
        if tag in ("td", "th"):
            self._close_cell()
        elif tag == "tr":
            self._close_row()
        elif tag == "table":
            self._close_row()
            self._stack.pop()

    def _text(self, data: str) -> None:
        if not data:
            return
        data = html_lib.unescape(data)
        self.all_text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        elif not self._stack:
            self.outside_text.append(data)

    def _separate(self) -> None:
        """A block boundary: the text on each side is two runs, not one word."""
        self.all_text.append(" ")
        if not self._stack:
            self.outside_text.append(" ")

    def _close_cell(self) -> None:
        if self._cell is None or not self._stack:
            self._cell = None
            return
        text = clean_text("".join(self._cell), _HTML_LIMIT)
        table = self._stack[-1]
        if self._cell_is_header:
            table.headers.append(text)
        else:
            if self._row is None:
                self._row = []
            self._row.append((self._cell_th, text))
        self._cell = None

    def _close_row(self) -> None:
        self._close_cell()
        if self._row and self._stack:
            self._stack[-1].rows.append(self._row)
        self._row = None


def _parse_message(html: str) -> _Message:
    scanner = _MessageScanner()
    scanner.scan(html[:_HTML_LIMIT])
    return _Message(
        tables=scanner.tables,
        text=fold("".join(scanner.all_text)),
        display=clean_text("".join(scanner.outside_text), _MESSAGE_LIMIT),
    )


def _table_fields(table: _Table) -> dict[str, str]:
    """Map the first data row of ``table`` to LookupResult field names by header name."""
    headers = [_HEADER_FIELDS.get(fold(h).rstrip(":")) for h in table.headers]
    for row in table.rows:
        values: dict[str, str] = {}
        for index, (data_th, text) in enumerate(row):
            name = _HEADER_FIELDS.get(fold(data_th).rstrip(":")) if data_th else None
            if name is None and index < len(headers):
                name = headers[index]
            if name and name not in values:
                values[name] = clean_text(text)
        if values:
            return values
    return {}


def _table_kinds(table: _Table) -> set[str]:
    names = {_HEADER_FIELDS.get(fold(h).rstrip(":")) for h in table.headers}
    for row in table.rows:
        names.update(_HEADER_FIELDS.get(fold(th).rstrip(":")) for th, _ in row if th)
    return {name for name in names if name}


def _has(text: str, markers: tuple[str, ...]) -> bool:
    return any(marker in text for marker in markers)


def novedad_status(novedad: str) -> tuple[LookupStatus, bool]:
    """``(status, deceased)`` for the text of a NOVEDAD cell, by the ANI vocabulary.

    The states are listed in docs/registraduria.md#novedades. Compared accent- and
    case-insensitively:

    - "Pendiente …" → ``PENDING``;
    - "… Pérdida o Suspensión de los Derechos Políticos" (both "Vigente con …" and "Baja por …")
      → ``CANCELLED``, not deceased: the cédula exists but its holder cannot vote;
    - plain "Vigente" (and an empty cell) → ``UNKNOWN``: a valid cédula is not a cancellation,
      and no voting place came with it;
    - anything else ("Cancelada por …", unknown wordings) → ``CANCELLED``, deceased when it says
      muerte/fallecido.
    """
    folded = fold(novedad)
    if not folded:
        return LookupStatus.UNKNOWN, False
    known = find_novedad(folded, folded=True)
    if known is not None:
        return known.status, known.deceased
    if "pendiente" in folded:
        return LookupStatus.PENDING, False
    if "perdida" in folded or "suspension" in folded:
        return LookupStatus.CANCELLED, False
    if folded.startswith("vigente"):
        return LookupStatus.UNKNOWN, False
    return LookupStatus.CANCELLED, _has(folded, _DECEASED_MARKERS)


def _not_a_cancellation(values: dict[str, str], common: dict[str, str]) -> LookupResult:
    """A novedad that cancels nothing (plain "Vigente"): ``UNKNOWN``, keeping the novedad and the text."""
    message = common.get("message") or values.get("novedad", "")
    detail = f"novedad {values.get('novedad', '')!r} is not a cancellation"[:200]
    return LookupResult(LookupStatus.UNKNOWN, error=detail, **values, **{**common, "message": message})


def _get(mapping: dict, *names: str) -> object:
    """``mapping[name]`` for the first of ``names`` present, keys compared case-insensitively."""
    lowered = {str(key).lower(): value for key, value in mapping.items()}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _is_false(value: object) -> bool:
    if isinstance(value, str):
        return fold(value) in ("false", "0", "no", "")
    return value is False or value == 0


def _is_true(value: object) -> bool:
    if isinstance(value, str):
        return fold(value) in ("true", "1", "si", "yes")
    return value is True or (isinstance(value, int | float) and value != 0)


def _as_text(body: object) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body).decode("utf-8", errors="replace")
    return body if isinstance(body, str) else str(body)


def _classify(*, success: object, reload: object, message_html: str, raw: str, source: str) -> LookupResult:
    """Decide the state of one reply: structure first (reload, tables), then the site's text."""
    if _is_true(reload):
        return LookupResult(LookupStatus.SESSION_EXPIRED, raw=raw, source=source)
    message = _parse_message(message_html)
    common = {"raw": raw, "source": source, "message": message.display}

    kinds: set[str] = set()
    values: dict[str, str] = {}
    for table in message.tables:
        table_kinds = _table_kinds(table)
        if "mesa" in table_kinds or "novedad" in table_kinds:
            kinds, values = table_kinds, _table_fields(table)
            break
    if kinds:
        status, deceased = novedad_status(values.get("novedad", ""))
        if "novedad" in kinds and status is LookupStatus.PENDING:
            return LookupResult(LookupStatus.PENDING, **values, **common)
        if "mesa" in kinds and values.get("mesa"):
            return LookupResult(LookupStatus.FOUND, **values, **common)
        if "novedad" in kinds:
            if status is LookupStatus.UNKNOWN:
                return _not_a_cancellation(values, common)
            return LookupResult(status, deceased=deceased, **values, **common)

    text = message.text
    if _is_false(success):
        if _has(text, _CAPTCHA_MARKERS):
            return LookupResult(LookupStatus.CAPTCHA_REJECTED, **common)
        if _has(text, _SITE_ERROR_MARKERS):
            return LookupResult(LookupStatus.SITE_ERROR, error="site error reply", **common)
    # No table: the outcome in words, read by the site's own vocabulary. A named cancellation or
    # pending procedure is more specific than "no se encuentra" said beside it.
    named = find_novedad(text)
    if named is not None and named.status is not LookupStatus.UNKNOWN:
        return LookupResult(named.status, deceased=named.deceased, novedad=named.phrase, **common)
    if _has(text, _NOT_FOUND_MARKERS):
        return LookupResult(LookupStatus.NOT_FOUND, **common)
    if "pendiente" in text:
        return LookupResult(LookupStatus.PENDING, **common)
    if _has(text, _SITE_ERROR_MARKERS):
        return LookupResult(LookupStatus.SITE_ERROR, error="site error reply", **common)
    if _has(text, _CAPTCHA_MARKERS):
        return LookupResult(LookupStatus.CAPTCHA_REJECTED, **common)
    if named is not None:  # plain "Vigente": a valid cédula, but no voting place came with it
        return _not_a_cancellation({"novedad": named.phrase}, common)
    return LookupResult(LookupStatus.UNKNOWN, error="unrecognised reply", **common)


def _non_json(text: str, raw: str, source: str) -> LookupResult:
    if not text.strip():
        return LookupResult(LookupStatus.SITE_ERROR, raw=raw, source=source, error="empty reply")
    head = text[:_TEXT_LIMIT]
    page = _parse_message(head)  # entities decoded, so "present&oacute;" matches too
    if WAF_MARKER in fold(head) or WAF_MARKER in page.text:
        message = page.display
        return LookupResult(
            LookupStatus.BLOCKED, message=message, raw=raw, source=source, error="WAF block page"
        )
    # A reply that is not JSON (a proxy error page, a body cut short) says nothing about the
    # cédula; a later attempt may well get a proper answer, hence a transient SITE_ERROR.
    return LookupResult(LookupStatus.SITE_ERROR, raw=raw, source=source, error="reply is not JSON")


def _load_json(text: str) -> tuple[bool, object]:
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def parse_response(body: str) -> LookupResult:
    """Turn the body of the wsp lookup POST (``/censo/consultar/``) into a :class:`LookupResult`.

    Pure and total: any input (``None``, bytes, junk, truncated or oddly shaped JSON, megabytes
    of garbage) gives a result, never an exception, in milliseconds. ``source`` is ``"wsp"``.
    The rules, in order (docs/registraduria.md#parsing):

    - not JSON: ``BLOCKED`` when it is the WAF page ("se presentó un evento de seguridad"),
      else ``SITE_ERROR`` (empty, cut short, an error page: transient);
    - JSON that is not an object: ``UNKNOWN``;
    - ``reload`` true: ``SESSION_EXPIRED``;
    - a table with a MESA column: ``FOUND``, fields mapped by column name (``data-th`` or ``th``);
      a table with a NOVEDAD column: decided by :func:`novedad_status` (``CANCELLED``, deceased
      on muerte/fallecido; ``PENDING``; plain "Vigente" is ``UNKNOWN`` with the novedad kept);
    - ``success`` false: captcha texts give ``CAPTCHA_REJECTED``, Curl/timeout/maintenance texts
      ``SITE_ERROR``;
    - "no se encuentra": ``NOT_FOUND``; "pendiente": ``PENDING``; maintenance: ``SITE_ERROR``;
    - anything else: ``UNKNOWN`` with the raw body kept.
    """
    return _parse_json_reply(body, "wsp", _decide_wsp)


def _decide_wsp(data: dict, raw: str, source: str) -> LookupResult:
    inner = _get(data, "data")
    message = _get(inner, "message", "mensaje") if isinstance(inner, dict) else None
    if message is None:
        message = _get(data, "message", "mensaje")
    if message is None and isinstance(inner, str):
        message = inner
    return _classify(
        success=_get(data, "success"),
        reload=_get(data, "reload"),
        message_html=message if isinstance(message, str) else "",
        raw=raw,
        source=source,
    )


def _parse_json_reply(
    body: object, source: str, decide: Callable[[dict, str, str], LookupResult]
) -> LookupResult:
    """What both parsers share: decoding, non-JSON and non-object replies, and the
    guarantee that nothing raises. ``decide(data, raw, source)`` reads the object."""
    try:
        text = _as_text(body)
        raw = cap_raw(text)
        ok, data = _load_json(text)
        if not ok:
            return _non_json(text, raw, source)
        if not isinstance(data, dict):
            return LookupResult(LookupStatus.UNKNOWN, raw=raw, source=source, error="JSON is not an object")
        return decide(data, raw, source)
    except Exception as exc:  # noqa: BLE001 - the contract: parsing never raises
        return LookupResult(
            LookupStatus.UNKNOWN, raw=cap_raw(_safe_str(body)), source=source, error=f"parser: {exc!r}"[:200]
        )


def _safe_str(body: object) -> str:
    try:
        return _as_text(body)
    except Exception:  # noqa: BLE001 - a __str__ that raises must not escape either
        return ""


# consultacenso.registraduria.gov.co: ``POST /back/api/consulta`` answers
# ``{ok, encontrado, data: {nuip, nom_depto, nom_mun, nom_puesto, direccion, mesa}, mensaje?, novedad?}``.
_CONSULTACENSO_FIELDS = {
    "departamento": ("nom_depto", "departamento", "depto"),
    "municipio": ("nom_mun", "municipio"),
    "puesto": ("nom_puesto", "puesto"),
    "direccion": ("direccion", "dir_puesto"),
    "mesa": ("mesa", "num_mesa"),
}


def _scalar_text(value: object) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return clean_text(str(value))


def _novedad_fields(novedad: object) -> dict[str, str]:
    if isinstance(novedad, dict):
        return {
            "novedad": _scalar_text(_get(novedad, "descripcion", "novedad", "nombre", "estado")),
            "resolucion": _scalar_text(_get(novedad, "resolucion")),
            "fecha_novedad": _scalar_text(_get(novedad, "fecha", "fecha_novedad")),
        }
    return {"novedad": _scalar_text(novedad)}


def parse_consultacenso(body: str) -> LookupResult:
    """Turn the body of consultacenso's ``POST /back/api/consulta`` into a :class:`LookupResult`.

    Same guarantees as :func:`parse_response` (pure, total, fast); ``source`` is
    ``"consultacenso"``. ``ok`` false: captcha texts give ``CAPTCHA_REJECTED``, error texts
    ``SITE_ERROR``, anything else ``UNKNOWN``. ``ok`` true: ``encontrado`` with a ``data`` object
    holding a mesa gives ``FOUND``; a ``novedad`` (string or object with ``descripcion``,
    ``resolucion``, ``fecha``) is decided by :func:`novedad_status`; otherwise the ``mensaje`` text
    decides (not found, pending, maintenance) as in the wsp reply.
    """
    return _parse_json_reply(body, "consultacenso", _decide_consultacenso)


def _decide_consultacenso(data: dict, raw: str, source: str) -> LookupResult:
    mensaje = _get(data, "mensaje", "message")
    mensaje_html = mensaje if isinstance(mensaje, str) else ""
    novedad = _novedad_fields(_get(data, "novedad"))
    payload = _get(data, "data")
    if _is_true(_get(data, "ok")) and _is_true(_get(data, "encontrado")) and isinstance(payload, dict):
        values = {name: _scalar_text(_get(payload, *keys)) for name, keys in _CONSULTACENSO_FIELDS.items()}
        if values["mesa"] or values["puesto"]:
            message = _parse_message(mensaje_html).display
            return LookupResult(LookupStatus.FOUND, message=message, raw=raw, source=source, **values)
    if novedad["novedad"] and not _is_false(_get(data, "ok")):
        status, deceased = novedad_status(novedad["novedad"])
        common = {"raw": raw, "source": source, "message": _parse_message(mensaje_html).display}
        if status is LookupStatus.UNKNOWN:
            return _not_a_cancellation(novedad, common)
        return LookupResult(status, deceased=deceased, **novedad, **common)
    return _classify(success=_get(data, "ok"), reload=None, message_html=mensaje_html, raw=raw, source=source)
