"""Importar end to end (issue 14): a leader uploads an XLSX in a real Chromium, confirms,
watches the progress reach 100 % while the real worker runs the import actor and the
lookups against the replica, closes the page and comes back, and downloads the report."""

import io
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import CedulaInfo, CedulaStatus, Contact, ContactImport, User
from actors.queues import QUEUE_REFRESH
from tests.fixtures.factories import DEFAULT_PASSWORD, LeaderFactory
from tests.fixtures.spreadsheets import xlsx_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _isolated(worker, replica, clean_queues):
    replica.reset()
    yield
    replica.reset()


def login(page, live_server, leader) -> None:
    page.goto(live_server.url + reverse("accounts:login"))
    page.fill("#id_cedula", leader.cedula)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("accounts:home"))


def test_a_leader_imports_an_xlsx_watches_it_finish_and_downloads_the_report(
    browser_context, live_server, tmp_path
):
    leader = LeaderFactory()
    rows = [
        ["N°", "Número de documento", "Nombres y apellidos", "Celular"],
        [1, "1.000.000.001", "Lucía Fernández", "300 123 4567"],
        [2, 1000000002, "Ana Núñez", None],
        [3, "1000000004", "Pedro Pérez", "311 222 3333"],
        [4, "1000000005", "María José Peña", None],
        [5, "1000000001", "Lucía Repetida", None],
        [6, "12ab", "Cédula Mala", None],
    ]
    upload = tmp_path / "simpatizantes.xlsx"
    upload.write_bytes(xlsx_bytes(rows))
    page = browser_context.new_page()
    login(page, live_server, leader)

    page.get_by_role("link", name="Importar").click()
    page.set_input_files("#archivo", str(upload))
    page.get_by_role("button", name="Subir y revisar").click()
    page.wait_for_url(live_server.url + reverse("accounts:import_review"))
    # Headers guessed; the preview and the reasons are on the page; nothing written yet.
    assert page.locator("#columna_cedula").input_value() == "1"
    assert page.locator("#columna_nombre").input_value() == "2"
    assert page.locator("#columna_telefono").input_value() == "3"
    assert page.get_by_test_id("accepted").inner_text() == "4"
    rejects = page.get_by_test_id("rejects").inner_text()
    assert "Cédula repetida en el archivo (ya está en la fila 2)." in rejects
    assert "Cédula no válida" in rejects
    assert not Contact.objects.exists() and not ContactImport.objects.exists()

    page.check("#autorizacion")
    page.get_by_role("button", name="Importar 4 personas").click()
    page.get_by_test_id("import-progress").wait_for()
    imp = ContactImport.objects.get(leader=leader)
    assert page.url == live_server.url + reverse("accounts:import_detail", args=[imp.pk])
    # Closing the browser does not stop it: the worker goes on.
    page.close()

    page = browser_context.new_page()
    page.goto(live_server.url + reverse("accounts:imports"))
    assert "simpatizantes.xlsx" in page.get_by_test_id("imports-table").inner_text()
    page.get_by_role("link", name="Ver avance").click()
    url_before = page.url
    page.locator('[data-testid=import-progress][data-done="1"]').wait_for(timeout=90_000)
    assert page.url == url_before  # htmx swapped the box; no reload
    assert "4 de 4 (100 %)" in page.get_by_test_id("lookups-progress").inner_text()
    assert "6 de 6 (100 %)" in page.get_by_test_id("rows-progress").inner_text()
    assert "Puede votar: 4" in page.get_by_test_id("lookup-outcomes").inner_text()

    with page.expect_download() as download_info:
        page.get_by_test_id("report-xlsx").click()
    report = download_info.value
    assert report.suggested_filename == f"importacion-{imp.pk}-reporte.xlsx"
    sheet = load_workbook(io.BytesIO(Path(report.path()).read_bytes()), read_only=True).worksheets[0]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0][4:7] == ["Resultado", "Motivo", "Estado censo"]
    by_name = {row[2]: row for row in table[1:]}
    assert by_name["Ana Núñez"][4] == "Contacto creado"
    assert by_name["Ana Núñez"][6] == "Puesto encontrado"
    assert by_name["Ana Núñez"][8] == "PASTO"
    assert by_name["Ana Núñez"][9] == "IE MUNICIPAL CIUDAD DE PASTO"
    assert by_name["Lucía Repetida"][4] == "Rechazada"

    persons = User.objects.filter(cedula__in=["1000000001", "1000000002", "1000000004", "1000000005"])
    assert all(p.is_contact for p in persons)
    infos = CedulaInfo.objects.filter(user__in=persons)
    assert {i.status for i in infos} == {CedulaStatus.FOUND}
    assert {i.queue for i in infos} == {QUEUE_REFRESH}  # behind signups, never in their way

    # The contacts are in Referidos, marked.
    page.goto(live_server.url + reverse("accounts:referrals"))
    assert page.locator("text=Contacto").count() >= 4
