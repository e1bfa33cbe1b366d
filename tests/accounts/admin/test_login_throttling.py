"""The admin login applies the same per-cédula and per-IP throttling as the portal's.

Both logins share the counters: guessing on one does not buy fresh attempts on the other.
"""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.forms import THROTTLED_MESSAGE
from tests.fixtures.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = reverse("admin:login")
PORTAL_LOGIN = reverse("accounts:login")


@pytest.fixture
def limits(settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 3
    settings.LOGIN_THROTTLE_IP_MAX_FAILURES = 5
    settings.LOGIN_THROTTLE_WINDOW_SECONDS = 600
    return settings


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


def admin_login(client, cedula, password=DEFAULT_PASSWORD, ip="10.1.0.1"):
    return client.post(
        ADMIN_LOGIN,
        {"username": cedula, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=ip,
    )


def test_staff_logs_in_to_the_admin(client, staff, limits):
    response = admin_login(client, staff.cedula)
    assert response.status_code == 302
    assert int(client.session[SESSION_KEY]) == staff.pk


def test_admin_failures_block_the_cedula_even_with_the_right_password(client, staff, limits):
    for n in range(3):
        response = admin_login(client, staff.cedula, "mala", ip=f"10.1.1.{n}")
        assert response.status_code == 200
    response = admin_login(client, staff.cedula, ip="10.1.1.99")
    assert response.status_code == 200
    assert THROTTLED_MESSAGE in response.content.decode()
    assert SESSION_KEY not in client.session


def test_admin_and_portal_share_the_counters(client, staff, limits):
    for n in range(2):
        admin_login(client, staff.cedula, "mala", ip=f"10.1.2.{n}")
    client.post(PORTAL_LOGIN, {"cedula": staff.cedula, "password": "mala"}, REMOTE_ADDR="10.1.2.9")
    # Three failures in all, two of them in the admin: both doors are now shut.
    assert THROTTLED_MESSAGE in admin_login(client, staff.cedula, ip="10.1.2.10").content.decode()
    response = client.post(
        PORTAL_LOGIN, {"cedula": staff.cedula, "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.1.2.11"
    )
    assert THROTTLED_MESSAGE in response.content.decode()


def test_the_formatted_cedula_counts_against_the_same_counter(client, staff, limits):
    dotted = f"{int(staff.cedula):,}".replace(",", ".")
    for _ in range(3):
        admin_login(client, dotted, "mala", ip="10.1.3.1")
    assert THROTTLED_MESSAGE in admin_login(client, staff.cedula, ip="10.1.3.2").content.decode()


def test_failures_from_one_ip_block_that_ip_in_the_admin(client, staff, limits):
    for n in range(5):
        admin_login(client, str(70_000_000 + n), "mala", ip="10.1.4.4")
    response = admin_login(client, staff.cedula, ip="10.1.4.4")
    assert THROTTLED_MESSAGE in response.content.decode()
    assert SESSION_KEY not in client.session
    assert admin_login(client, staff.cedula, ip="10.1.4.5").status_code == 302


def test_an_admin_success_resets_the_cedula_counter(client, staff, limits):
    for _ in range(2):
        admin_login(client, staff.cedula, "mala", ip="10.1.5.1")
    assert admin_login(client, staff.cedula, ip="10.1.5.1").status_code == 302
    client.logout()
    for _ in range(2):
        admin_login(client, staff.cedula, "mala", ip="10.1.5.2")
    # Four failures in the window but two since the success: not blocked.
    assert admin_login(client, staff.cedula, ip="10.1.5.3").status_code == 302


def test_a_member_who_is_not_staff_is_refused_by_the_admin(client, limits):
    member = UserFactory()
    response = admin_login(client, member.cedula)
    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert THROTTLED_MESSAGE not in response.content.decode()
