"""The Importar pages in a real Chromium at 1280 and 390 px: nothing wider than the screen,
the consent box and the buttons reachable; screenshots into $SCREENSHOT_DIR when set."""

import os
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import CedulaInfo, CedulaStatus, ContactImport, ImportRow
from accounts.services.contacts import ContactRow, contacts_create_batch
from tests.fixtures.factories import DEFAULT_PASSWORD, LeaderFactory, UserFactory
from tests.fixtures.spreadsheets import xlsx_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page, name):
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _assert_no_horizontal_scroll(page):
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page scrolls sideways by {overflow}px"


def _running_import(leader):
    imp = ContactImport.objects.create(
        leader=leader,
        file_name="simpatizantes-barrio-la-floresta-2026.xlsx",
        file_sha256="ab" * 32,
        file_rows=1250,
        consent_statement="Declaro que tengo la autorización…",
        rows_total=1250,
        rows_done=1000,
        created=40,
        rejected=960,
        status=ContactImport.Status.RUNNING,
        started_at=timezone.now() - timedelta(minutes=3),
    )
    rows = [ContactRow(str(54_000_000 + i), f"Persona Importada {chr(65 + i % 26)}") for i in range(40)]
    result = contacts_create_batch(leader=leader, rows=rows, source_import=imp)
    ImportRow.objects.bulk_create(
        ImportRow(
            contact_import=imp,
            number=i + 2,
            cells=[],
            cedula=r.cedula,
            outcome="created",
            person_id=result.persons[r.cedula],
        )
        for i, r in enumerate(rows)
    )
    done = [result.persons[r.cedula] for r in rows[:25]]
    CedulaInfo.objects.filter(user_id__in=done[:20]).update(
        status=CedulaStatus.FOUND, result_status=CedulaStatus.FOUND
    )
    CedulaInfo.objects.filter(user_id__in=done[20:]).update(status=CedulaStatus.NOT_FOUND)
    ContactImport.objects.create(
        leader=leader,
        file_name="lista-vieja.csv",
        file_sha256="cd" * 32,
        file_rows=300,
        consent_statement="…",
        rows_total=300,
        rows_done=300,
        created=280,
        rejected=20,
        status=ContactImport.Status.DONE,
        created_at=timezone.now() - timedelta(days=2),
    )
    return imp


@pytest.mark.parametrize("width", [1280, 390])
def test_importar_pages_fit_the_screen(browser, live_server, tmp_path, width):
    leader = LeaderFactory(nombre_completo="Marta Lucía Restrepo")
    UserFactory(cedula="53000011", referred_by=leader)
    other = LeaderFactory()
    UserFactory(cedula="53000010", referred_by=other)
    imp = _running_import(leader)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="es-CO")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(live_server.url + reverse("accounts:login"))
        page.fill("#id_cedula", leader.cedula)
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(live_server.url + reverse("accounts:home"))

        page.goto(live_server.url + reverse("accounts:imports"))
        _assert_no_horizontal_scroll(page)
        _shot(page, f"import-list-{width}")

        upload = tmp_path / "mi-lista-de-simpatizantes.xlsx"
        upload.write_bytes(
            xlsx_bytes(
                [
                    ["Cédula", "Nombres y apellidos", "Celular", "Barrio", "Observaciones"],
                    ["52.123.456", "José Núñez Peña", "300 123 4567", "La Floresta", "Vecino del parque"],
                    ["1.234.567", "María Fernanda Ibáñez Londoño", "", "Centro", ""],
                    ["52.123.456", "José Núñez (otra vez)", "", "La Floresta", ""],
                    ["12ab45", "Cédula Con Letras", "", "", ""],
                    ["53000010", "Miembro De Otra Red", "", "", ""],
                    ["53000011", "Ya Está En Mi Red", "", "", ""],
                    ["80123456", "Ana O'Neil", "311 222 33", "", ""],
                ]
            )
        )
        page.set_input_files("#archivo", str(upload))
        page.get_by_role("button", name="Subir y revisar").click()
        page.wait_for_url(live_server.url + reverse("accounts:import_review"))
        assert page.get_by_test_id("rejected").inner_text() == "5"
        _assert_no_horizontal_scroll(page)
        page.locator("#autorizacion").scroll_into_view_if_needed()
        assert page.locator("#autorizacion").is_visible()
        _shot(page, f"import-review-{width}")

        page.goto(live_server.url + reverse("accounts:import_detail", args=[imp.pk]))
        page.get_by_test_id("import-progress").wait_for()
        assert "20 de 40" not in page.get_by_test_id("lookups-progress").inner_text()
        assert "25 de 40 (62 %)" in page.get_by_test_id("lookups-progress").inner_text()
        _assert_no_horizontal_scroll(page)
        _shot(page, f"import-progress-{width}")
    finally:
        context.close()
