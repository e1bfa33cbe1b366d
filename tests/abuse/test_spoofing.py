"""X-Forwarded-For written by the client never buys fresh per-IP attempts (default settings)."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.forms import THROTTLED_MESSAGE

pytestmark = pytest.mark.django_db


def test_spoofed_forwarded_for_does_not_reset_the_login_limit_per_ip(settings):
    assert settings.TRUSTED_PROXY_COUNT == 0  # the default
    limit = settings.LOGIN_THROTTLE_IP_MAX_FAILURES
    client = Client()
    for n in range(limit):
        client.post(
            reverse("accounts:login"),
            {"cedula": str(80_000_000 + n), "password": "mala"},
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
    response = client.post(
        reverse("accounts:login"),
        {"cedula": "80000999", "password": "mala"},
        REMOTE_ADDR="203.0.113.9",
        HTTP_X_FORWARDED_FOR="192.0.2.77",
    )
    assert THROTTLED_MESSAGE in response.content.decode()


def test_spoofed_forwarded_for_does_not_reset_the_signup_limit_per_ip(settings):
    settings.SIGNUP_THROTTLE_IP_MAX = 3
    client = Client()
    statuses = []
    for n in range(5):
        response = client.post(
            reverse("accounts:register"),
            {
                "nombre_completo": "Miembro Falso",
                "cedula": str(81_000_000 + n),
                "telefono": "3001234567",
                "password1": "clave-segura-987",
                "password2": "clave-segura-987",
                "accepted_data_policy": "on",
            },
            REMOTE_ADDR="203.0.113.10",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
        statuses.append(response.status_code)
        client.logout()
    assert statuses == [302, 302, 302, 429, 429]


def test_registro_stops_saying_who_is_a_member_after_the_probe_limit(settings, user):
    settings.SIGNUP_PROBE_IP_MAX = 3
    client = Client()
    data = {
        "nombre_completo": "Curioso Total",
        "cedula": user.cedula,
        "telefono": "3001234567",
        "password1": "clave-segura-987",
        "password2": "clave-segura-987",
        "accepted_data_policy": "on",
    }
    replies = [client.post(reverse("accounts:register"), data, REMOTE_ADDR="203.0.113.11") for _ in range(5)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429, 429]
    assert "Ya existe una cuenta" in replies[0].content.decode()
    assert "Ya existe una cuenta" not in replies[4].content.decode()
    # An incomplete form never says it, whatever the limit.
    partial = client.post(reverse("accounts:register"), {"cedula": user.cedula}, REMOTE_ADDR="203.0.113.12")
    assert "Ya existe una cuenta" not in partial.content.decode()
