"""What a member sees: the census card turns into a voting place by itself (htmx polling),
and "Actualizar" runs a new lookup — real Chromium, real worker, real replica."""

import pytest
from django.urls import reverse

from accounts.models import CedulaInfo, CedulaStatus, User

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _isolated(worker, replica, clean_queues):
    replica.reset()
    yield
    replica.reset()


def register(page, live_server, cedula: str) -> None:
    page.goto(live_server.url + reverse("accounts:register"))
    page.fill("#id_nombre_completo", "Lucía Fernández")
    page.fill("#id_cedula", cedula)
    page.fill("#id_telefono", "300 123 4567")
    page.fill("#id_password1", "Caracol-Azul-2026")
    page.fill("#id_password2", "Caracol-Azul-2026")
    page.check("#id_accepted_data_policy")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("accounts:home"))


def test_card_updates_live_from_queued_to_voting_place(browser_page, live_server, replica):
    # Slow replies so the in-flight state is certainly on screen first.
    replica.set(latency=1)
    register(browser_page, live_server, "1.000.000.004")
    card = browser_page.locator("#cedula-card")
    assert card.locator("[data-status]").get_attribute("data-status") in {"pending", "processing"}
    url_before = browser_page.url
    card.locator("[data-status=found]").wait_for(timeout=45_000)
    assert browser_page.url == url_before  # no reload: htmx swapped the card
    assert "IE SAN JOSE C I P" in card.inner_text()
    assert "CL 22 No. 10A-380" in card.inner_text()
    assert card.get_attribute("hx-trigger") is None  # polling stopped at the final state


def test_actualizar_runs_a_new_lookup_and_cooldown_is_shown(browser_page, live_server, replica):
    register(browser_page, live_server, "1.000.000.003")
    card = browser_page.locator("#cedula-card")
    card.locator("[data-status=found]").wait_for(timeout=45_000)
    user = User.objects.get(cedula="1000000003")
    CedulaInfo.objects.filter(user=user).update(requested_at=None)  # past the cooldown
    first_fetch = CedulaInfo.objects.get(user=user).fetched_at

    browser_page.get_by_role("button", name="Actualizar").click()
    browser_page.locator("#cedula-card >> text=Consulta enviada.").wait_for(timeout=10_000)
    browser_page.locator("#cedula-card [data-status=found]").wait_for(timeout=45_000)
    info = CedulaInfo.objects.get(user=user)
    assert info.status == CedulaStatus.FOUND
    assert info.fetched_at > first_fetch

    browser_page.get_by_role("button", name="Actualizar").click()
    browser_page.locator("#cedula-card >> text=Podrás actualizar de nuevo en").wait_for(timeout=10_000)


def test_leader_refreshes_a_referral_row_and_watches_it_update(browser_page, live_server):
    from tests.fixtures.factories import DEFAULT_PASSWORD, LeaderFactory

    leader = LeaderFactory()
    referral = User.objects.create_user(
        "1000000002", "Caracol-Azul-2026", nombre_completo="Ana Núñez", referred_by=leader
    )
    browser_page.goto(live_server.url + reverse("accounts:login"))
    browser_page.fill("#id_cedula", leader.cedula)
    browser_page.fill("#id_password", DEFAULT_PASSWORD)
    browser_page.click("button[type=submit]")
    browser_page.wait_for_url(live_server.url + reverse("accounts:home"))

    browser_page.goto(live_server.url + reverse("accounts:referrals"))
    cell = f"#referral-cedula-{referral.pk}"
    browser_page.locator(f"{cell} [data-status=found]").wait_for(timeout=45_000)
    assert "IE MUNICIPAL CIUDAD DE PASTO" in browser_page.locator(cell).inner_text()

    CedulaInfo.objects.filter(user=referral).update(requested_at=None)
    row = browser_page.locator("tr", has=browser_page.locator(cell))
    row.get_by_role("button", name="Actualizar").click()
    browser_page.locator(f"{cell} >> text=Consulta enviada.").wait_for(timeout=10_000)
    browser_page.locator(f"{cell} [data-status=found]").wait_for(timeout=45_000)
    assert CedulaInfo.objects.get(user=referral).attempts == 2
