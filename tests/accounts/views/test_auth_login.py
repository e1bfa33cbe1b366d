import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.forms import THROTTLED_MESSAGE
from tests.fixtures.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
HOME = reverse("accounts:home")


def login(client, cedula, password=DEFAULT_PASSWORD, ip="10.0.0.1", **extra):
    return client.post(LOGIN, {"cedula": cedula, "password": password, **extra}, REMOTE_ADDR=ip)


def dotted(cedula: str) -> str:
    return f"{int(cedula):,}".replace(",", ".")


def test_login_page_is_public(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert "Recordarme" in response.content.decode()


@pytest.mark.parametrize(
    "fmt", [str, dotted, lambda c: f" {c[:2]} {c[2:5]} {c[5:]} ", lambda c: f"{c[:2]}-{c[2:]}"]
)
def test_login_accepts_the_cedula_formatted_or_not(client, user, fmt):
    response = login(client, fmt(user.cedula))
    assert response.status_code == 302
    assert response.url == HOME
    assert int(client.session[SESSION_KEY]) == user.pk


def test_wrong_password_shows_a_spanish_error_and_keeps_the_cedula(client, user):
    response = login(client, user.cedula, "no-es-la-clave")
    assert response.status_code == 200
    body = response.content.decode()
    assert "La cédula o la contraseña no son correctas." in body
    assert f'value="{user.cedula}"' in body
    assert "no-es-la-clave" not in body
    assert SESSION_KEY not in client.session


def test_unknown_and_malformed_cedulas_get_the_same_answer(client):
    for cedula in ["99999999", "0123", "abc"]:
        response = login(client, cedula)
        assert response.status_code == 200
        assert "La cédula o la contraseña no son correctas." in response.content.decode()


def test_inactive_member_cannot_log_in(client):
    member = UserFactory(is_active=False)
    response = login(client, member.cedula)
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_remember_me_keeps_the_session_for_the_cookie_age(client, user, settings):
    login(client, user.cedula, remember="on")
    assert client.session.get_expire_at_browser_close() is False
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 14 * 24 * 3600
    assert client.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE


def test_without_remember_me_the_session_ends_with_the_browser(client, user):
    login(client, user.cedula)
    assert client.session.get_expire_at_browser_close() is True
    assert client.cookies["sessionid"]["max-age"] == ""
    assert client.cookies["sessionid"]["expires"] == ""


def test_login_honours_a_safe_next_and_ignores_an_external_one(client, user):
    response = client.post(
        f"{LOGIN}?next=/perfil/", {"cedula": user.cedula, "password": DEFAULT_PASSWORD, "next": "/perfil/"}
    )
    assert response.url == "/perfil/"
    client.post(reverse("accounts:logout"))
    response = client.post(
        LOGIN, {"cedula": user.cedula, "password": DEFAULT_PASSWORD, "next": "https://evil.example/"}
    )
    assert response.url == HOME


def test_logged_in_member_visiting_login_goes_home(logged_client):
    response = logged_client.get(LOGIN)
    assert response.status_code == 302
    assert response.url == HOME


def test_logout_requires_post(logged_client, user):
    # GET (an old bookmark, a typed address) gets a Spanish page with a logout button,
    # never a blank 405, and does not log out: a link or an <img> cannot end a session.
    response = logged_client.get(reverse("accounts:logout"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "¿Quieres cerrar tu sesión?" in body
    assert body.count(f'<form method="post" action="{reverse("accounts:logout")}"') == 2  # page + navbar
    assert 'name="csrfmiddlewaretoken"' in body
    assert int(logged_client.session[SESSION_KEY]) == user.pk
    response = logged_client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response.url == LOGIN
    assert SESSION_KEY not in logged_client.session


def test_logout_without_a_session_goes_to_the_login_page(client):
    for method in (client.get, client.post):
        response = method(reverse("accounts:logout"))
        assert response.status_code == 302
        assert response.url == LOGIN


def test_logout_refuses_other_methods(logged_client, user):
    assert logged_client.put(reverse("accounts:logout")).status_code == 405
    assert int(logged_client.session[SESSION_KEY]) == user.pk


# --- Throttling ----------------------------------------------------------------------
@pytest.fixture
def limits(settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 3
    settings.LOGIN_THROTTLE_IP_MAX_FAILURES = 5
    settings.LOGIN_THROTTLE_WINDOW_SECONDS = 600
    return settings


def test_repeated_failures_for_one_cedula_block_it_even_with_the_right_password(client, user, limits):
    for n in range(3):
        login(client, user.cedula, "mala", ip=f"10.0.0.{n}")  # from different addresses
    response = login(client, user.cedula, ip="10.0.0.99")
    assert response.status_code == 200
    assert "Demasiados intentos" in response.content.decode()
    assert THROTTLED_MESSAGE in response.content.decode()
    assert SESSION_KEY not in client.session


def test_the_cedula_block_covers_its_formatted_spelling(client, user, limits):
    for _ in range(3):
        login(client, dotted(user.cedula), "mala", ip="10.0.0.1")
    response = login(client, user.cedula, ip="10.0.0.2")
    assert "Demasiados intentos" in response.content.decode()


def test_a_blocked_cedula_does_not_block_other_members(client, user, limits):
    other = UserFactory()
    for n in range(3):
        login(client, user.cedula, "mala", ip=f"10.0.1.{n}")
    response = login(client, other.cedula, ip="10.0.1.50")
    assert response.status_code == 302


def test_repeated_failures_from_one_ip_block_that_ip_for_every_cedula(client, user, limits):
    for n in range(5):
        login(client, str(60_000_000 + n), "mala", ip="10.9.9.9")  # 5 different cédulas
    response = login(client, user.cedula, ip="10.9.9.9")
    assert "Demasiados intentos" in response.content.decode()
    assert SESSION_KEY not in client.session
    # The member can still log in from elsewhere.
    assert login(client, user.cedula, ip="10.9.9.10").status_code == 302


def test_a_successful_login_resets_the_cedula_counter(client, user, limits):
    for _ in range(2):
        login(client, user.cedula, "mala", ip="10.0.2.1")
    assert login(client, user.cedula, ip="10.0.2.1").status_code == 302
    client.post(reverse("accounts:logout"))
    for _ in range(2):
        login(client, user.cedula, "mala", ip="10.0.2.2")
    # 4 failures in the window, but only 2 since the success: not blocked.
    assert login(client, user.cedula, ip="10.0.2.3").status_code == 302


def test_the_block_ends_when_the_window_passes(client, user, limits):
    with time_machine.travel(0, tick=False) as traveller:
        for _ in range(3):
            login(client, user.cedula, "mala")
        assert "Demasiados intentos" in login(client, user.cedula).content.decode()
        traveller.shift(601)
        assert login(client, user.cedula).status_code == 302
