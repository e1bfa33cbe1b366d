"""Versioned consent: registration records it; a new version is asked for at the next login."""

import pytest
from django.urls import reverse

from accounts.models import ConsentRecord, User
from tests.fixtures.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_registration_records_version_time_and_ip(client, settings):
    settings.DATA_POLICY_VERSION = "2026-12-01"
    response = client.post(
        reverse("accounts:register"),
        {
            "nombre_completo": "Ana María Núñez",
            "cedula": "71234567",
            "telefono": "3001234567",
            "password1": "Girasol-Montaña-77",
            "password2": "Girasol-Montaña-77",
            "accepted_data_policy": "on",
        },
        REMOTE_ADDR="190.24.8.77",
    )
    assert response.status_code == 302
    member = User.objects.get(cedula="71234567")
    record = ConsentRecord.objects.get(user=member)
    assert (record.version, record.ip) == ("2026-12-01", "190.24.8.77")
    assert member.data_policy_version == "2026-12-01"


def test_a_new_policy_version_asks_for_acceptance_at_the_next_login(client, settings, caplog):
    member = UserFactory()
    settings.DATA_POLICY_VERSION = "2027-01-15"
    response = client.post(
        reverse("accounts:login"), {"cedula": member.cedula, "password": DEFAULT_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:accept_policy"))
    assert "Actualizamos la política de datos" in response.content.decode()
    # Every member page sends there until accepted; the policy and Mis datos stay open.
    assert client.get(reverse("accounts:referrals")).status_code == 302
    assert client.get(reverse("accounts:data_policy")).status_code == 200
    assert client.get(reverse("accounts:my_data")).status_code == 200
    htmx = client.get(reverse("cedula:card"), HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"].startswith(reverse("accounts:accept_policy"))

    refused = client.post(reverse("accounts:accept_policy"), {})
    assert "debes aceptar la política" in refused.content.decode()
    with caplog.at_level("INFO", logger="accounts.services.consent"):
        accepted = client.post(
            f"{reverse('accounts:accept_policy')}?next=/referidos/",
            {"accept": "on", "next": "/referidos/"},
            REMOTE_ADDR="181.50.3.9",
        )
    assert accepted.status_code == 302 and accepted["Location"] == "/referidos/"
    record = ConsentRecord.objects.get(user=member, version="2027-01-15")
    assert record.ip == "181.50.3.9"
    assert "181.50.3.x" in caplog.text and "181.50.3.9" not in caplog.text
    assert client.get(reverse("accounts:referrals")).status_code == 200


def test_policy_page_names_the_controller_and_version_from_settings(client, settings):
    settings.DATA_CONTROLLER_NAME = "Movimiento Ejemplo S.A.S."
    settings.DATA_CONTROLLER_CONTACT = "habeasdata@ejemplo.co"
    settings.DATA_POLICY_VERSION = "2027-02-01"
    body = client.get(reverse("accounts:data_policy")).content.decode()
    assert "Movimiento Ejemplo S.A.S." in body
    assert "habeasdata@ejemplo.co" in body
    assert "Versión 2027-02-01" in body
