"""Sign-ups cost a scrape: one address gets a budget, with a Spanish message past it."""

import pytest
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def signup(client, n):
    return client.post(
        reverse("accounts:register"),
        {
            "nombre_completo": "Persona Número Uno",
            "cedula": str(53_000_000 + n),
            "telefono": "3001234567",
            "password1": "Caracol-Azul-2026",
            "password2": "Caracol-Azul-2026",
            "accepted_data_policy": "on",
        },
    )


def test_signups_from_one_address_are_budgeted(client, settings):
    settings.SIGNUP_THROTTLE_IP_MAX = 2
    for n in range(2):
        assert signup(client, n).status_code == 302
        client.logout()
    refused = signup(client, 2)
    assert refused.status_code == 429
    body = refused.content.decode()
    assert "demasiados registros desde esta conexión" in body
    assert 'value="Persona Número Uno"' in body  # what was typed is kept
    assert not User.objects.filter(cedula="53000002").exists()


def test_failed_signups_do_not_use_the_budget(client, settings):
    settings.SIGNUP_THROTTLE_IP_MAX = 1
    bad = client.post(reverse("accounts:register"), {"cedula": "0123"})
    assert bad.status_code == 200
    assert signup(client, 5).status_code == 302
