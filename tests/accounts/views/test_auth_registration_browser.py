"""The registration flow in a real Chromium against pytest-django's live server.

Runs with ``transactional_db``: the live server thread has its own database connection,
so rows must be committed to be seen by both sides. The shared ``browser`` fixture
(tests/fixtures/browser.py) sets ``DJANGO_ALLOW_ASYNC_UNSAFE=true``: Playwright's sync
API keeps an asyncio event loop running on the test thread, and Django would otherwise
refuse the ORM calls this test makes between browser steps (SynchronousOnlyOperation),
even though nothing here runs concurrently on that thread.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from scrapers.browser import DESKTOP_CHROME_UA
from tests.fixtures.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Girasol-Montaña-77"


def test_member_registers_through_the_form_and_lands_home(live_server, browser_page):
    page = browser_page
    leader = UserFactory(nombre_completo="Lideresa Invitadora")
    page.goto(f"{live_server.url}/registro/?ref={leader.referral_code}")
    expect(page.get_by_test_id("referrer")).to_contain_text("Lideresa")

    # The keystroke filters mirror the server: digits only (formatted with dots),
    # letters/spaces/apostrophes only in the name.
    page.locator("#id_nombre_completo").press_sequentially("Ana 9 María  Núñez")
    expect(page.locator("#id_nombre_completo")).to_have_value("Ana María Núñez")
    page.locator("#id_cedula").press_sequentially("71x234567")
    expect(page.locator("#id_cedula")).to_have_value("71.234.567")
    page.locator("#id_telefono").press_sequentially("+57 (300) 123-4567 ext")
    expect(page.locator("#id_telefono")).to_have_value("+57 (300) 123-4567 ")

    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_label(re.compile("Acepto la")).check()
    page.get_by_role("button", name="Registrarme").click()

    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Hola, Ana")).to_be_visible()
    expect(page.locator("#cedula-card")).to_be_visible()
    link = page.locator("#referral-link")
    member = User.objects.get(cedula="71234567")
    expect(link).to_have_value(f"{live_server.url}/registro/?ref={member.referral_code}")
    assert member.nombre_completo == "Ana María Núñez"
    assert member.telefono == "3001234567"
    assert member.referred_by == leader

    page.get_by_role("button", name="Copiar").click()
    expect(page.get_by_role("button", name="¡Copiado!")).to_be_visible()


def test_html_patterns_compile_in_chromium_and_match_the_server_rules(live_server, browser_page):
    # Chromium compiles pattern="" with the v flag and silently ignores an invalid one,
    # so check each pattern really rejects and accepts.
    page = browser_page
    page.goto(f"{live_server.url}/registro/")
    cases = {
        "#id_cedula": {
            "1.234.567": True,
            "1 234 567": True,
            "0123": False,
            "12": False,
            "12345678901": False,
        },
        "#id_nombre_completo": {
            "María José O'Neill": True,
            # Every apostrophe the server accepts (accounts.validators._APOSTROPHE_VARIANTS).
            "María José O\u2019Neill": True,
            "María José O\u2018Neill": True,
            "María José O\u00b4Neill": True,
            "María José O`Neill": True,
            "Ana 2": False,
            "Ana_María": False,
            'O"Neill': False,
        },
        "#id_telefono": {
            "+57 300 123 4567": True,
            "(601) 234-5678": True,
            "2001234567": False,
            "6091234567": False,
        },
    }
    for selector, values in cases.items():
        for value, valid in values.items():
            result = page.eval_on_selector(
                selector, "(el, v) => { el.value = v; return el.checkValidity(); }", value
            )
            assert result is valid, (selector, value)


def test_the_name_filter_keeps_every_apostrophe_the_server_accepts(live_server, browser_page):
    page = browser_page
    page.goto(f"{live_server.url}/registro/")
    field = page.locator("#id_nombre_completo")
    for apostrophe in ("'", "\u2019", "\u2018", "\u00b4", "`"):
        field.fill("")
        field.press_sequentially(f"Ana O{apostrophe}Neill")
        expect(field).to_have_value(f"Ana O{apostrophe}Neill")
        assert field.evaluate("el => el.checkValidity()") is True


def test_registration_works_without_javascript(live_server, browser):
    context = browser.new_context(java_script_enabled=False, user_agent=DESKTOP_CHROME_UA, locale="es-CO")
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/registro/")
        page.locator("#id_nombre_completo").fill("Pedro Pérez")
        page.locator("#id_cedula").fill("81.234.567")
        page.locator("#id_telefono").fill("601 234 5678")
        page.locator("#id_password1").fill(PASSWORD)
        page.locator("#id_password2").fill("otra-cosa-distinta")
        page.get_by_label(re.compile("Acepto la")).check()
        page.get_by_role("button", name="Registrarme").click()
        # Server-side error, typed values kept, passwords emptied.
        expect(page.get_by_text("Las contraseñas no coinciden.")).to_be_visible()
        expect(page.locator("#id_cedula")).to_have_value("81.234.567")
        expect(page.locator("#id_password1")).to_have_value("")

        page.locator("#id_password1").fill(PASSWORD)
        page.locator("#id_password2").fill(PASSWORD)
        page.get_by_label(re.compile("Acepto la")).check()
        page.get_by_role("button", name="Registrarme").click()
        page.wait_for_url(f"{live_server.url}/")
        expect(page.get_by_role("heading", name="Hola, Pedro")).to_be_visible()
        # The collapsed menu is shown expanded without JavaScript, with a working logout.
        page.get_by_role("button", name="Salir").click()
        page.wait_for_url(re.compile(r"/ingresar/$"))
    finally:
        context.close()
    assert User.objects.get(cedula="81234567").telefono == "6012345678"
