"""The card of a lookup held back by the fleet's circuit breakers, in a real Chromium at desktop
and phone widths: the calm sentence with its time, still polling, "Actualizar" disabled.

Screenshots go to ``$SCREENSHOT_DIR`` when set (else the test's tmp dir), for a person to look at.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import CedulaInfo, CedulaStatus
from accounts.services.cedulas import paused_message
from tests.fixtures.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Girasol-Montaña-77"


@pytest.mark.parametrize("width", [1280, 390])
def test_a_paused_lookup_reads_calmly_with_a_time(live_server, browser, tmp_path, width):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    member = UserFactory(nombre_completo="Lucía Fernández")
    member.set_password(PASSWORD)
    member.save()
    now = timezone.now()
    at = now + timedelta(minutes=4)
    CedulaInfo.objects.filter(user=member).update(
        status=CedulaStatus.PENDING,
        message=paused_message(at=at, reason="circuit_open", now=now),
        requested_at=now + timedelta(minutes=4),
    )
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="es-CO")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/ingresar/")
        page.locator("#id_cedula").fill(member.cedula)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url(f"{live_server.url}/")

        card = page.locator("#cedula-card")
        expect(card).to_contain_text("hicimos una pausa para no saturarla")
        expect(card).to_contain_text(f"la haremos hacia las {timezone.localtime(at):%H:%M}.")
        expect(card).to_contain_text("No tienes que hacer nada.")
        expect(card.locator("[data-status=pending]")).to_be_visible()
        assert card.get_attribute("hx-trigger")  # still polling: it turns into the answer by itself
        expect(card.get_by_role("button", name="Actualizar")).to_be_disabled()
        page.screenshot(path=str(shots / f"card-paused-{width}.png"), full_page=True)
    finally:
        context.close()
