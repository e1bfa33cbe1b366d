"""A CSRF failure shows a Spanish page that explains what to do, not Django's technical one."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

CSRF_MESSAGE = (
    "Tu sesión expiró o el formulario ya no es válido. Vuelve a cargar la página e inténtalo de nuevo."
)


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def test_a_post_without_token_gets_the_spanish_403_page(csrf_client):
    response = csrf_client.post(reverse("accounts:login"), {"cedula": "1234567", "password": "x"})
    assert response.status_code == 403
    body = response.content.decode()
    assert CSRF_MESSAGE in body
    assert "CSRF verification failed" not in body
    assert "Forbidden" not in body
    assert '<html lang="es-CO">' in body
    # No referrer: the way back is the page the form lives on... or at least the portal.
    assert f'href="{reverse("accounts:home")}"' in body


def test_the_link_goes_back_to_the_page_of_the_form(csrf_client):
    referer = "http://testserver/perfil/"
    response = csrf_client.post(reverse("accounts:login"), {}, HTTP_REFERER=referer)
    assert response.status_code == 403
    assert 'href="/perfil/"' in response.content.decode()


def test_an_external_referer_is_never_linked(csrf_client):
    response = csrf_client.post(reverse("accounts:login"), {}, HTTP_REFERER="https://evil.example/x")
    assert response.status_code == 403
    body = response.content.decode()
    assert "evil.example" not in body
    assert f'href="{reverse("accounts:home")}"' in body


def test_a_logged_in_member_sees_the_page_with_the_portal_menu(csrf_client, user):
    csrf_client.force_login(user)
    response = csrf_client.post(reverse("accounts:logout"))
    assert response.status_code == 403
    body = response.content.decode()
    assert CSRF_MESSAGE in body
    assert user.nombre_completo in body
    # The member stays logged in: the forged logout did nothing.
    assert csrf_client.get(reverse("accounts:home")).status_code == 200
