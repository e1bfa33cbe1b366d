"""Reading and checking a leader's spreadsheet of contacts (Importar, issue 14). No database.

``read_table`` turns the uploaded bytes (CSV or XLSX) into a header and rows of text,
refusing with a Spanish ``ImportFileError`` anything it cannot read safely: an XLSX is
a zip, so its unpacked size is checked before openpyxl opens it (a zip bomb), and it is
read in openpyxl's read-only streaming mode with cached values only (a formula is never
evaluated, and a cell holding one reads as its last value or empty). CSVs may come in
UTF-8 (with or without BOM), UTF-16 or Latin-1/Windows-1252 and with ``;``, ``,`` or tab
between cells.

``check_rows`` applies the registration rules to every row (formatted cédulas accepted)
and gives each rejected row one Spanish reason; the reasons that need the database
(already in your network, a member of another network) are the caller's
(``accounts.selectors.contacts``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError

from accounts.validators import fold_accents, normalize_cedula, normalize_nombre, normalize_telefono

ROLES = ("cedula", "nombre", "telefono")
ROLE_LABELS = {"cedula": "Cédula", "nombre": "Nombre", "telefono": "Teléfono (opcional)"}
# Folded header texts (lower case, no accents, no punctuation) that name each column.
_HEADER_WORDS = {
    "cedula": (
        "cedula",
        "cedula de ciudadania",
        "cc",
        "c c",
        "documento",
        "numero de documento",
        "no documento",
        "nro documento",
        "num documento",
        "documento de identidad",
        "identificacion",
        "numero de identificacion",
        "id",
        "doc",
    ),
    "nombre": (
        "nombre",
        "nombres",
        "nombre completo",
        "nombres y apellidos",
        "apellidos y nombres",
        "nombre y apellido",
        "persona",
        "simpatizante",
    ),
    "telefono": (
        "celular",
        "telefono",
        "tel",
        "movil",
        "whatsapp",
        "numero de celular",
        "numero de telefono",
        "contacto",
        "cel",
    ),
}
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
MAX_CELL_CHARS = 200
MAX_COLUMNS = 50


class ImportFileError(Exception):
    """The file cannot be imported; ``str(exc)`` is the Spanish sentence the leader reads."""


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number in the file, 1-based; cells as text)
    has_header: bool = True
    kind: str = "csv"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------
def read_table(data: bytes, *, file_name: str, max_rows: int, max_unzipped: int) -> Table:
    """The header and rows of the file's first sheet; raises ``ImportFileError``."""
    if not data:
        raise ImportFileError("El archivo está vacío.")
    name = (file_name or "").lower()
    if data.startswith(_OLE_MAGIC) or name.endswith(".xls"):
        raise ImportFileError(
            "Ese es un Excel antiguo (.xls). Guárdalo como .xlsx o como .csv y vuelve a subirlo."
        )
    if data.startswith(_XLSX_MAGIC):
        raw_rows, kind = _xlsx_rows(data, max_unzipped=max_unzipped), "xlsx"
    elif name.endswith((".xlsx", ".xlsm")):
        raise ImportFileError("El archivo dice ser .xlsx pero no lo es. Ábrelo en Excel y guárdalo de nuevo.")
    else:
        raw_rows, kind = _csv_rows(data), "csv"
    return _table_from(raw_rows, max_rows=max_rows, kind=kind)


def _table_from(raw_rows: Iterable[list[str]], *, max_rows: int, kind: str) -> Table:
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, cells in enumerate(raw_rows, start=1):
        cells = [_clip(c) for c in cells[:MAX_COLUMNS]]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue  # blank rows (and the blank cells of merged ranges) are skipped
        if header is None:
            header = cells
            first_number = number
            continue
        rows.append((number, cells))
        if len(rows) > max_rows:
            raise ImportFileError(
                f"El archivo tiene más de {_miles(max_rows)} filas. Divídelo en varios archivos más pequeños."
            )
    if header is None:
        raise ImportFileError("El archivo no tiene filas con datos (¿la primera hoja está vacía?).")
    if guess_columns(header).get("cedula") is None and _looks_like_data(header):
        # No header row: the first row is a person too.
        rows.insert(0, (first_number, header))
        if len(rows) > max_rows:
            raise ImportFileError(
                f"El archivo tiene más de {_miles(max_rows)} filas. Divídelo en varios archivos más pequeños."
            )
        width = max(len(cells) for _, cells in rows)
        return Table(
            header=[f"Columna {i + 1}" for i in range(width)], rows=rows, has_header=False, kind=kind
        )
    if not rows:
        raise ImportFileError("El archivo solo tiene la fila de encabezados; no hay personas para importar.")
    return Table(header=header, rows=rows, has_header=True, kind=kind)


def _looks_like_data(cells: list[str]) -> bool:
    for cell in cells:
        try:
            normalize_cedula(cell)
            return True
        except ValidationError:
            continue
    return False


def _clip(value: str) -> str:
    return " ".join(value.split())[:MAX_CELL_CHARS]


def _miles(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError("No pudimos leer el archivo: su codificación UTF-16 está dañada.") from None
    if b"\x00" in data[:4096] and len(data) > 1:
        # UTF-16 without a BOM: every other byte of plain text is NUL.
        for encoding in ("utf-16-le", "utf-16-be"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if "\x00" not in text:
                return text
        raise ImportFileError("El archivo no es un CSV de texto. Sube un .csv o un .xlsx.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's "CSV" on Windows writes Windows-1252 (Latin-1 with curly quotes).
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def _separator(text: str) -> str:
    for line in text.splitlines()[:20]:
        if line.strip():
            counts = {sep: line.count(sep) for sep in (";", ",", "\t")}
            best = max(counts, key=counts.get)
            return best if counts[best] else ","
    return ","


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    if "\x00" in text:
        raise ImportFileError("El archivo no es un CSV de texto. Sube un .csv o un .xlsx.")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_separator(text))
    try:
        yield from reader
    except csv.Error as exc:
        raise ImportFileError(f"El CSV está mal formado cerca de la fila {reader.line_num}.") from exc


def _check_zip(data: bytes, *, max_unzipped: int) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportFileError("El archivo .xlsx está dañado. Ábrelo en Excel y guárdalo de nuevo.") from None
    with archive:
        members = archive.infolist()
        if len(members) > 10_000:
            raise ImportFileError("El archivo .xlsx tiene una estructura que no aceptamos.")
        unpacked = sum(m.file_size for m in members)
        if unpacked > max_unzipped:
            raise ImportFileError(
                "El archivo .xlsx se expande a demasiados datos al abrirlo. Guarda solo la hoja con las "
                "personas, o súbela como .csv."
            )


def _xlsx_rows(data: bytes, *, max_unzipped: int) -> Iterator[list[str]]:
    _check_zip(data, max_unzipped=max_unzipped)
    from openpyxl import load_workbook

    try:
        # read_only streams the sheet; data_only reads a formula's cached value, never the formula.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise ImportFileError(
            "No pudimos abrir el archivo .xlsx. Ábrelo en Excel y guárdalo de nuevo."
        ) from exc
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise ImportFileError("El archivo .xlsx no tiene hojas.")
        try:
            for values in sheets[0].iter_rows(values_only=True):
                yield [_cell_text(v) for v in values]
        except ImportFileError:
            raise
        except Exception as exc:
            raise ImportFileError(
                "La hoja del archivo .xlsx está dañada. Guárdala de nuevo en Excel."
            ) from exc
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "VERDADERO" if value else "FALSO"
    if isinstance(value, float):
        # A cédula typed as a number comes back as 52123456.0.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# ------------------------------------------------------------------------------
# Columns
# ------------------------------------------------------------------------------
def _folded(text: str) -> str:
    folded = fold_accents(text or "")
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


def guess_columns(header: list[str]) -> dict[str, int | None]:
    """Which column holds each role, from the header's words (None when no column says so)."""
    folded = [_folded(h) for h in header]
    guess: dict[str, int | None] = {}
    taken: set[int] = set()
    for role in ROLES:
        words = _HEADER_WORDS[role]
        exact = [i for i, h in enumerate(folded) if h in words and i not in taken]
        partial = [
            i
            for i, h in enumerate(folded)
            if i not in taken and any(w in h.split() for w in words if len(w) > 3)
        ]
        choice = (exact or partial or [None])[0]
        guess[role] = choice
        if choice is not None:
            taken.add(choice)
    return guess


def columns_from(data: dict, *, width: int) -> dict[str, int | None]:
    """The leader's column choice from a form (``columna_cedula`` …); ValueError when unusable."""
    columns: dict[str, int | None] = {}
    for role in ROLES:
        raw = str(data.get(f"columna_{role}", "")).strip()
        if raw in ("", "-"):
            columns[role] = None
            continue
        if not raw.isdigit() or int(raw) >= width:
            raise ValueError(role)
        columns[role] = int(raw)
    if columns["cedula"] is None or columns["nombre"] is None:
        raise ValueError("required")
    chosen = [c for c in columns.values() if c is not None]
    if len(set(chosen)) != len(chosen):
        raise ValueError("repeated")
    return columns


# ------------------------------------------------------------------------------
# Rows
# ------------------------------------------------------------------------------
REASON_DUPLICATE = "Cédula repetida en el archivo (ya está en la fila {first})."
REASON_IN_NETWORK = "Ya está en tu red."
REASON_OTHER_NETWORK = "Es miembro de otra red."
REASON_SELF = "Es tu propia cédula."


@dataclass
class RowCheck:
    number: int
    cells: list[str]
    cedula: str = ""
    nombre: str = ""
    telefono: str = ""
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def reason(self) -> str:
        return " ".join(self.reasons)

    @property
    def filled_cells(self) -> list[str]:
        return [cell for cell in self.cells if cell]


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index]


def _cedula_reason(exc: ValidationError) -> str:
    if exc.code == "required":
        return "Falta la cédula."
    if exc.code == "invalid":
        return "Cédula no válida: solo puede tener números (se aceptan puntos y espacios)."
    return f"Cédula no válida: {exc.messages[0][0].lower()}{exc.messages[0][1:]}"


def _nombre_reason(exc: ValidationError) -> str:
    if exc.code == "required":
        return "Falta el nombre."
    return f"Nombre no válido: {exc.messages[0][0].lower()}{exc.messages[0][1:]}"


def check_row(number: int, cells: list[str], columns: dict[str, int | None]) -> RowCheck:
    """One row checked alone with the registration rules."""
    check = RowCheck(number=number, cells=cells)
    try:
        check.cedula = normalize_cedula(_cell(cells, columns.get("cedula")))
    except ValidationError as exc:
        check.reasons.append(_cedula_reason(exc))
    try:
        check.nombre = normalize_nombre(_cell(cells, columns.get("nombre")))
    except ValidationError as exc:
        check.reasons.append(_nombre_reason(exc))
    phone = _cell(cells, columns.get("telefono"))
    if phone:
        try:
            check.telefono = normalize_telefono(phone)
        except ValidationError:
            check.reasons.append(
                "Teléfono no válido: debe ser un celular de 10 dígitos que empiece por 3 o un fijo 601 a 608."
            )
    return check


def check_rows(rows: Iterable[tuple[int, list[str]]], columns: dict[str, int | None]) -> list[RowCheck]:
    """Every row checked alone, then duplicates within the file (the first one stays)."""
    checks = [check_row(number, cells, columns) for number, cells in rows]
    first_seen: dict[str, int] = {}
    for check in checks:
        if not check.cedula:
            continue
        if check.cedula in first_seen:
            check.reasons.append(REASON_DUPLICATE.format(first=first_seen[check.cedula]))
        else:
            first_seen[check.cedula] = check.number
    return checks


def apply_known(checks: list[RowCheck], *, in_network: set[str], other_network: set[str], own: str) -> None:
    """Add the database's reasons (from ``accounts.selectors.contacts``) to rows otherwise fine."""
    for check in checks:
        if not check.ok or not check.cedula:
            continue
        if check.cedula == own:
            check.reasons.append(REASON_SELF)
        elif check.cedula in in_network:
            check.reasons.append(REASON_IN_NETWORK)
        elif check.cedula in other_network:
            check.reasons.append(REASON_OTHER_NETWORK)
