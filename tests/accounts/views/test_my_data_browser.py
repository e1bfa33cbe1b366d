"""Mis datos in a real Chromium: deleting the account ends the session on every device.

Runs with ``transactional_db`` against pytest-django's live server (see
test_auth_registration_browser.py for why the browser fixture allows sync ORM calls).
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AuditEntry, CedulaInfo, User
from tests.fixtures.factories import DEFAULT_PASSWORD, LeaderFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base_url: str, cedula: str) -> None:
    page.goto(f"{base_url}/ingresar/")
    page.locator("#id_cedula").fill(cedula)
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    page.wait_for_url(f"{base_url}/")


def test_member_deletes_their_account_from_perfil_and_is_logged_out_everywhere(live_server, browser):
    leader = LeaderFactory()
    member = UserFactory(referred_by=leader, nombre_completo="Ana María Núñez")
    referral = UserFactory(referred_by=member)
    cedula = member.cedula
    phone_ctx, laptop_ctx = browser.new_context(), browser.new_context()
    try:
        phone, laptop = phone_ctx.new_page(), laptop_ctx.new_page()
        _login(phone, live_server.url, cedula)
        _login(laptop, live_server.url, cedula)

        laptop.get_by_role("link", name="Perfil").first.click()
        laptop.get_by_test_id("my-data-link").click()
        expect(laptop.get_by_role("heading", name="Mis datos")).to_be_visible()
        expect(laptop.get_by_test_id("referrals-count")).to_have_text("1")
        laptop.get_by_role("link", name="Eliminar mi cuenta").click()

        # A wrong password keeps the account.
        laptop.locator("#id_password").fill("no-es-la-clave")
        laptop.get_by_label(re.compile("Entiendo que mi cuenta")).check()
        laptop.get_by_role("button", name="Eliminar mi cuenta").click()
        expect(laptop.get_by_text("La contraseña no es correcta.")).to_be_visible()
        assert User.objects.get(pk=member.pk).deleted_at is None

        laptop.locator("#id_password").fill(DEFAULT_PASSWORD)
        laptop.get_by_label(re.compile("Entiendo que mi cuenta")).check()
        laptop.get_by_role("button", name="Eliminar mi cuenta").click()
        laptop.wait_for_url(f"{live_server.url}/ingresar/")
        expect(laptop.get_by_text("Eliminamos tu cuenta y tus datos.")).to_be_visible()

        # The other device's session ended too: its next page is the login.
        phone.goto(f"{live_server.url}/perfil/")
        expect(phone).to_have_url(re.compile(r"/ingresar/\?next=/perfil/"))

        # The old credentials no longer open anything.
        laptop.locator("#id_cedula").fill(cedula)
        laptop.locator("#id_password").fill(DEFAULT_PASSWORD)
        laptop.get_by_role("button", name="Ingresar").click()
        expect(laptop.get_by_text("La cédula o la contraseña no son correctas.")).to_be_visible()
    finally:
        phone_ctx.close()
        laptop_ctx.close()

    tombstone = User.objects.get(pk=member.pk)
    assert tombstone.nombre_completo == "Miembro eliminado" and not tombstone.is_active
    assert not CedulaInfo.objects.filter(user=tombstone).exists()
    assert User.objects.get(pk=referral.pk).referred_by_id == tombstone.pk
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.ACCOUNT_DELETED, target=f"user:{member.pk}"
    ).exists()
