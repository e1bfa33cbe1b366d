"""Reading and checking an imported spreadsheet (accounts/importing.py): every encoding,
separator and malformed file the issue lists, without a database."""

import io
import time
import zipfile

import pytest

from accounts.importing import (
    REASON_IN_NETWORK,
    REASON_OTHER_NETWORK,
    REASON_SELF,
    ImportFileError,
    apply_known,
    check_rows,
    columns_from,
    guess_columns,
    read_table,
)
from tests.fixtures.spreadsheets import csv_bytes, xlsx_bytes

LIMITS = {"max_rows": 20_000, "max_unzipped": 100 * 1024 * 1024}
HEADER = ["Cédula", "Nombre completo", "Celular"]
PEOPLE = [
    ["52.123.456", "José Núñez", "300 123 4567"],
    ["1 234 567", "María Peña", ""],
    ["80-123-456", "Ana O'Neil", "+57 311 222 3333"],
]
COLUMNS = {"cedula": 0, "nombre": 1, "telefono": 2}


def read(data: bytes, name: str = "lista.csv", **limits):
    return read_table(data, file_name=name, **{**LIMITS, **limits})


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"],
)
@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_csv_in_every_encoding_and_separator_reads_the_same_accented_names(encoding, sep):
    table = read(csv_bytes([HEADER, *PEOPLE], sep=sep, encoding=encoding))
    assert table.header == HEADER
    assert [cells for _, cells in table.rows] == [[c for c in row if c or row.index(c) < 2] for row in PEOPLE]
    assert guess_columns(table.header) == COLUMNS
    checks = check_rows(table.rows, COLUMNS)
    assert [(c.cedula, c.nombre, c.telefono, c.ok) for c in checks] == [
        ("52123456", "José Núñez", "3001234567", True),
        ("1234567", "María Peña", "", True),
        ("80123456", "Ana O'Neil", "3112223333", True),
    ]


def test_quoted_cells_with_the_separator_inside_are_one_cell():
    data = 'cedula,nombre\r\n"52,123,456","Pérez, Juan"\r\n'.encode()
    table = read(data)
    assert table.rows == [(2, ["52,123,456", "Pérez, Juan"])]
    (check,) = check_rows(table.rows, {"cedula": 0, "nombre": 1, "telefono": None})
    assert check.cedula == "52123456"
    assert not check.ok  # a comma is not a letter: the registration rule


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["CEDULA", "NOMBRES", "TELEFONO"], {"cedula": 0, "nombre": 1, "telefono": 2}),
        (["Nombre", "Documento", "Móvil"], {"cedula": 1, "nombre": 0, "telefono": 2}),
        (
            ["N°", "Número de documento", "Nombres y apellidos", "WhatsApp"],
            {"cedula": 1, "nombre": 2, "telefono": 3},
        ),
        (["Barrio", "C.C.", "Apellidos y nombres"], {"cedula": 1, "nombre": 2, "telefono": None}),
        (["a", "b"], {"cedula": None, "nombre": None, "telefono": None}),
    ],
)
def test_header_words_are_guessed_whatever_the_case_and_accents(header, expected):
    assert guess_columns(header) == expected


def test_a_file_without_a_header_row_keeps_its_first_person():
    table = read(csv_bytes(PEOPLE))
    assert not table.has_header
    assert table.header == ["Columna 1", "Columna 2", "Columna 3"]
    assert len(table.rows) == 3 and table.rows[0][0] == 1


def test_blank_rows_are_skipped_and_rows_keep_their_number_in_the_file():
    table = read(csv_bytes([HEADER, PEOPLE[0], ["", "", ""], PEOPLE[1]]))
    assert [number for number, _ in table.rows] == [2, 4]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "a.csv", "está vacío"),
        (b"\n\n;;\n", "a.csv", "no tiene filas"),
        (csv_bytes([HEADER]), "a.csv", "solo tiene la fila de encabezados"),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "viejo.xls", "Excel antiguo"),
        (b"esto no es un zip", "lista.xlsx", "dice ser .xlsx"),
        (b"PK\x03\x04 roto", "lista.xlsx", "dañado"),
        (bytes(range(256)) * 4, "binario.csv", "no es un CSV de texto"),
    ],
)
def test_malformed_files_get_a_spanish_sentence(data, name, message):
    with pytest.raises(ImportFileError, match=message):
        read(data, name)


def test_too_many_rows_is_refused_with_the_limit_in_the_message():
    rows = [HEADER] + [[str(52_000_000 + i), "Persona Prueba", ""] for i in range(11)]
    with pytest.raises(ImportFileError, match="más de 10 filas"):
        read(csv_bytes(rows), max_rows=10)
    assert len(read(csv_bytes(rows[:11]), max_rows=10).rows) == 10


def test_xlsx_reads_numbers_as_cedulas_and_skips_blank_rows():
    data = xlsx_bytes(
        [HEADER, [52123456, "José Núñez", 3001234567], [None, None, None], [1234567.0, "María Peña", None]]
    )
    table = read(data, "lista.xlsx")
    assert table.kind == "xlsx"
    assert table.rows == [(2, ["52123456", "José Núñez", "3001234567"]), (4, ["1234567", "María Peña"])]


def test_an_empty_first_sheet_says_so():
    with pytest.raises(ImportFileError, match="no tiene filas"):
        read(xlsx_bytes([]), "vacio.xlsx")


def test_formulas_are_never_evaluated_and_formula_text_is_rejected_as_a_name():
    data = xlsx_bytes(
        [
            HEADER,
            ["52123456", '=HYPERLINK("http://x","clic")', ""],  # a formula: no cached value
            ["52123457", "=cmd|' /C calc'!A0", ""],  # a DDE payload, also stored as a formula
            ["=1+1", "Juan Pérez", ""],
        ],
    )
    table = read(data, "formulas.xlsx")
    checks = check_rows(table.rows, COLUMNS)
    assert checks[0].reason == "Falta el nombre."
    assert checks[1].reason == "Falta el nombre."
    assert checks[2].reason.startswith("Falta la cédula")


def test_formula_text_in_a_csv_is_rejected_by_the_name_and_cedula_rules():
    data = csv_bytes([HEADER, ["52123456", "=cmd|' /C calc'!A0", ""], ["=1+1", "@SUM(A1)", "+3001234567"]])
    checks = check_rows(read(data).rows, COLUMNS)
    assert "Nombre no válido" in checks[0].reason
    assert checks[1].reason.startswith("Cédula no válida") and "Nombre no válido" in checks[1].reason


def test_literal_formula_text_in_a_cell_is_read_as_text():
    data = xlsx_bytes([HEADER, ["52123456", "=cmd|' /C calc'!A0", ""]], literal_text=True)
    (row,) = read(data, "texto.xlsx").rows
    assert row[1][1] == "=cmd|' /C calc'!A0"


def test_merged_cells_give_their_value_once_and_the_other_rows_are_rejected_not_crashed():
    data = xlsx_bytes(
        [HEADER, ["52123456", "José Núñez", ""], [None, "María Peña", ""], ["52123458", "Ana Gómez", ""]],
        merge=["A2:A3"],
    )
    checks = check_rows(read(data, "merged.xlsx").rows, COLUMNS)
    assert [c.ok for c in checks] == [True, False, True]
    assert checks[1].reason == "Falta la cédula."


def _bomb(unpacked_mb: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"<row>" + b"0" * (1024 * 1024 - 11) + b"</row>"
            for _ in range(unpacked_mb):
                member.write(chunk)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    data = _bomb(150)
    assert len(data) < 1024 * 1024  # under the 5 MB upload limit
    started = time.process_time()
    with pytest.raises(ImportFileError, match="se expande a demasiados datos"):
        read(data, "bomba.xlsx")
    assert time.process_time() - started < 1.0


def test_cedula_reasons_name_what_is_wrong():
    rows = [
        (2, ["", "José Núñez"]),
        (3, ["12a45", "José Núñez"]),
        (4, ["0123456", "José Núñez"]),
        (5, ["12", "José Núñez"]),
        (6, ["52123456", "J0sé"]),
        (7, ["52123457", "José Núñez", "12345"]),
        (8, ["52123456", "Otra Persona"]),
    ]
    reasons = [c.reason for c in check_rows(rows, COLUMNS)]
    assert reasons == [
        "Falta la cédula.",
        "Cédula no válida: solo puede tener números (se aceptan puntos y espacios).",
        "Cédula no válida: la cédula no puede empezar por cero.",
        "Cédula no válida: la cédula debe tener entre 3 y 10 dígitos.",
        "Nombre no válido: el nombre solo puede tener letras, espacios y apóstrofos.",
        "Teléfono no válido: debe ser un celular de 10 dígitos que empiece por 3 o un fijo 601 a 608.",
        "Cédula repetida en el archivo (ya está en la fila 6).",
    ]


def test_the_databases_reasons_apply_only_to_rows_otherwise_fine():
    rows = [
        (2, ["111111", "Ana Uno"]),
        (3, ["222222", "Beto Dos"]),
        (4, ["333333", "Caro Tres"]),
        (5, ["444", "x"]),
    ]
    checks = check_rows(rows, COLUMNS)
    apply_known(checks, in_network={"111111"}, other_network={"222222", "444"}, own="333333")
    assert [c.reason for c in checks[:3]] == [REASON_IN_NETWORK, REASON_OTHER_NETWORK, REASON_SELF]
    assert REASON_OTHER_NETWORK not in checks[3].reason


@pytest.mark.parametrize(
    "data",
    [
        {"columna_cedula": "0"},  # no name column
        {"columna_cedula": "0", "columna_nombre": "0"},  # the same column twice
        {"columna_cedula": "9", "columna_nombre": "1"},  # beyond the file
        {"columna_cedula": "x", "columna_nombre": "1"},
    ],
)
def test_an_unusable_column_choice_is_refused(data):
    with pytest.raises(ValueError):
        columns_from(data, width=3)


def test_a_column_choice_without_phone_is_fine():
    assert columns_from({"columna_cedula": "1", "columna_nombre": "0", "columna_telefono": "-"}, width=3) == {
        "cedula": 1,
        "nombre": 0,
        "telefono": None,
    }
