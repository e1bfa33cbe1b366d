"""The zona as a leader sees it in a real Chromium, at desktop and phone widths.

Screenshots go to ``$SCREENSHOT_DIR`` when set (else the test's tmp dir), for a person to look at.
"""

import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import CedulaInfo, CedulaStatus
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Girasol-Montaña-77"
PLACE = {
    "status": CedulaStatus.FOUND,
    "departamento": "SUCRE",
    "municipio": "SINCELEJO",
    "puesto": "IE SAN JOSE C I P",
    "direccion": "CL 22 No. 10A-380",
    "mesa": "13",
    "zona": "03",
    "source": "eleccionescolombia",
    "message": "Este es tu puesto de votación según la Registraduría.",
    "fetched_at": timezone.now(),
    "requested_at": timezone.now(),
}


@pytest.mark.parametrize("width", [1280, 390])
def test_leader_sees_the_zona_on_the_card_and_in_referidos(live_server, browser, tmp_path, width):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    leader = LeaderFactory(nombre_completo="Lideresa Zonal")
    leader.set_password(PASSWORD)
    leader.save()
    referral = UserFactory(referred_by=leader, nombre_completo="Referido Con Zona")
    CedulaInfo.objects.filter(user__in=[leader, referral]).update(**PLACE)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="es-CO")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/ingresar/")
        page.locator("#id_cedula").fill(leader.cedula)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url(f"{live_server.url}/")

        expect(page.locator("#cedula-card [data-field=zona]")).to_have_text("03")
        expect(page.locator("#cedula-card")).to_contain_text("Zona")
        page.screenshot(path=str(shots / f"card-zona-{width}.png"), full_page=True)

        page.goto(f"{live_server.url}/referidos/")
        expect(page.locator(f"#referral-cedula-{referral.pk} [data-field=zona]")).to_have_text("03")
        page.screenshot(path=str(shots / f"referidos-zona-{width}.png"), full_page=True)
    finally:
        context.close()
