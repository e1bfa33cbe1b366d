"""Member pages at 390 px (a common phone) in a real Chromium: nothing wider than the screen.

Each page is screenshotted to var/screenshots/390/ (for people to look at) and checked:
the document is no wider than the viewport, and no label of the census card or of
Mis datos wraps inside a word ("Departament/o").
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import CedulaInfo, CedulaStatus
from tests.fixtures.factories import DEFAULT_PASSWORD, LeaderFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = settings.VAR_DIR / "screenshots" / "390"

_OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1 && el.offsetParent !== null)
    .filter(el => !el.closest('.table-responsive'))
    .map(el => el.tagName + '.' + el.className);
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""

# A label whose text needs more than one line broke somewhere; labels are single words
# or short phrases that fit on one line at 390 px once stacked above their value.
_BROKEN_LABELS_JS = """() => [...document.querySelectorAll('.cedula-place dt, .data-list dt')]
  .filter(dt => dt.getClientRects().length && dt.getBoundingClientRect().height >
                1.6 * parseFloat(getComputedStyle(dt).lineHeight))
  .map(dt => dt.textContent)"""


def _settle(user) -> None:
    CedulaInfo.objects.filter(user=user).update(
        status=CedulaStatus.FOUND,
        result_status=CedulaStatus.FOUND,
        departamento="NORTE DE SANTANDER",
        municipio="SAN JOSÉ DE CÚCUTA",
        zona="04",
        puesto="INSTITUCIÓN EDUCATIVA NORMAL SUPERIOR MARÍA MONTESSORI SEDE PRINCIPAL",
        direccion="AVENIDA 0 # 11-45 BARRIO LATINO, FRENTE AL PARQUE SANTANDER",
        mesa="127",
        source="eleccionescolombia",
        message="Este es tu puesto de votación según la Registraduría.",
        requested_at=timezone.now() - timedelta(hours=1),
        fetched_at=timezone.now() - timedelta(minutes=5),
    )


def _check(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    measured = page.evaluate(_OVERFLOW_JS)
    assert measured["scroll"] <= measured["width"], (name, measured)
    assert not measured["wide"], (name, measured)
    assert page.evaluate(_BROKEN_LABELS_JS) == [], name


def test_member_pages_fit_a_390px_phone(live_server, browser, settings):
    settings.LOOKUP_REFRESH_COOLDOWN_SECONDS = 6  # the live server runs in this process
    leader = LeaderFactory(nombre_completo="María Fernanda Hernández Rodríguez")
    _settle(leader)
    for _ in range(3):
        _settle(UserFactory(referred_by=leader, nombre_completo="Juan Sebastián Ospina Betancourt"))
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-CO", is_mobile=True)
    try:
        page = context.new_page()
        base = live_server.url
        for name, path in [
            ("login", "/ingresar/"),
            ("registro", "/registro/"),
            ("politica", "/politica-de-datos/"),
        ]:
            page.goto(base + path)
            _check(page, name)
        page.goto(base + "/ingresar/")
        page.locator("#id_cedula").fill(leader.cedula)
        page.locator("#id_password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Ingresar").click()
        page.wait_for_url(base + "/")
        for name, path in [
            ("inicio", "/"),
            ("perfil", "/perfil/"),
            ("mis-datos", "/perfil/mis-datos/"),
            ("eliminar-cuenta", "/perfil/eliminar-cuenta/"),
            ("referidos", "/referidos/"),
        ]:
            page.goto(base + path)
            _check(page, name)
        # The cooldown notice counts down in the browser.
        page.goto(base + "/")
        CedulaInfo.objects.filter(user=leader).update(requested_at=timezone.now())
        page.locator("#cedula-card").get_by_role("button", name="Actualizar").click()
        countdown = page.locator("[data-countdown-until]")
        expect(countdown).to_be_visible()
        first = int(countdown.inner_text())
        expect(countdown).not_to_have_text(str(first), timeout=3000)
        _check(page, "inicio-espera")
        expect(page.get_by_test_id("cooldown")).to_have_text(
            re.compile("Ya puedes actualizar"), timeout=15_000
        )
    finally:
        context.close()
