"""Spreadsheet exports of a member's referrals (CSV), safe to open in Excel."""

from collections.abc import Iterator

from django.utils import timezone

# ";" because Excel set to Spanish (Colombia) uses "," as the decimal mark and ";" as
# its list separator, so a double-clicked file opens in columns. The BOM makes Excel
# read UTF-8 (accents, ñ). No "sep=;" line: with it Excel ignores the BOM.
CSV_SEPARATOR = ";"
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection) by prefixing a quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_PREFIXES) else text


class Echo:
    """A file-like sink for csv.writer: each write returns the line, for streaming."""

    def write(self, value: str) -> str:
        return value


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def referral_csv_rows(referrals, *, census: bool) -> Iterator[list[str]]:
    """Rows of the export; leaders also get each referral's census data."""
    base_header = ["Nombre completo", "Cédula", "Teléfono", "Fecha de registro"]
    census_header = [
        "Estado censo",
        "Departamento",
        "Municipio",
        "Zona",
        "Puesto",
        "Dirección",
        "Mesa",
        "Novedad",
        "Consultado el",
        "Último cambio",
    ]
    yield base_header + (census_header if census else [])
    for referral in referrals.iterator(chunk_size=1000):
        info = getattr(referral, "cedula_info", None)
        census_cells = (
            [
                info.get_status_display(),
                info.departamento,
                info.municipio,
                info.zona,
                info.puesto,
                info.direccion,
                info.mesa,
                info.novedad,
                _local(info.fetched_at),
                _local(info.changed_at),
            ]
            if info
            else ["Sin consultar", "", "", "", "", "", "", "", "", ""]
        )
        yield [
            referral.shown_nombre,
            referral.cedula,
            referral.shown_telefono,
            _local(referral.shown_joined),
            *(census_cells if census else []),
        ]


# ------------------------------------------------------------------------------
# Network exports (Territorio): one row per member of a group, CSV or XLSX
# ------------------------------------------------------------------------------
def _place_columns() -> tuple[str, ...]:
    # The territory's levels (with "zona" once CedulaInfo has it), then the address.
    from accounts.selectors.network import TERRITORY_LEVELS

    return (*TERRITORY_LEVELS, "direccion")


def network_header() -> list[str]:
    labels = {"direccion": "Dirección"}
    return [
        "Nombre completo",
        "Cédula",
        "Teléfono",
        "Nivel",
        "Estado",
        *(labels.get(name, name.capitalize()) for name in _place_columns()),
    ]


def network_rows(members) -> Iterator[list[str]]:
    """Rows of a network export; ``members`` comes from ``accounts.selectors.network``."""
    from accounts.selectors.network import Outcome

    columns = _place_columns()
    yield network_header()
    for member in members.iterator(chunk_size=2000):
        info = getattr(member, "cedula_info", None)
        place = [getattr(info, name, "") for name in columns] if info else [""] * len(columns)
        yield [
            member.shown_nombre,
            member.cedula,
            member.shown_telefono,
            str(member.depth),
            Outcome.LABELS.get(member.outcome, ""),
            *place,
        ]


def xlsx_write(rows, target) -> None:
    """Write ``rows`` to ``target`` (a path or binary file) as one XLSX sheet.

    openpyxl's write-only mode keeps memory flat however many rows there are (rows
    go to a temporary file as they come). Cells are written as text, so nothing is
    ever evaluated as a formula; the CSV guard is applied too, so a cell reads the
    same in both exports.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Personas")
    for row in rows:
        sheet.append([csv_safe(cell) for cell in row])
    workbook.save(target)


def xlsx_response(rows, filename: str):
    """``rows`` as an XLSX download, never cached (it holds personal data).

    A workbook is a zip whose directory comes last, so it cannot be sent before it is
    complete; it is built on disk (memory stays flat) and then streamed in chunks.
    """
    import tempfile

    from django.http import FileResponse

    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by FileResponse)
    xlsx_write(rows, spool)
    spool.seek(0)
    response = FileResponse(
        spool,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "private, no-store"
    return response


# ------------------------------------------------------------------------------
# The report of a contact import (issue 14): the file's rows, what became of each, and the census
# ------------------------------------------------------------------------------
REPORT_CENSUS_HEADER = [
    "Resultado",
    "Motivo",
    "Estado censo",
    "Departamento",
    "Municipio",
    "Puesto",
    "Dirección",
    "Mesa",
]


def import_report_rows(contact_import) -> Iterator[list[str]]:
    """The file's own columns as read, then the outcome and the voting place (formulas guarded on write)."""
    from accounts.models import CedulaInfo, ImportRow

    width = len(contact_import.header)
    yield [*contact_import.header, *REPORT_CENSUS_HEADER]
    rows = ImportRow.objects.filter(contact_import=contact_import).order_by("number")
    last = 0
    while True:
        page = list(rows.filter(number__gt=last)[:2000])
        if not page:
            return
        last = page[-1].number
        census = {
            info.user_id: info
            for info in CedulaInfo.objects.filter(
                user_id__in=[r.person_id for r in page if r.person_id]
            ).only("user_id", "status", "departamento", "municipio", "puesto", "direccion", "mesa")
        }
        for row in page:
            cells = [str(c) for c in row.cells][:width]
            cells += [""] * (width - len(cells))
            info = census.get(row.person_id)
            place = (
                [
                    info.get_status_display(),
                    info.departamento,
                    info.municipio,
                    info.puesto,
                    info.direccion,
                    info.mesa,
                ]
                if info
                else ["", "", "", "", "", ""]
            )
            yield [*cells, row.get_outcome_display(), row.reason, *place]
