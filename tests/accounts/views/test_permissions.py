import pytest
from django.urls import reverse

from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db

MEMBER_PAGES = [
    ("accounts:home", "get"),
    ("accounts:profile", "get"),
    ("accounts:profile", "post"),
    ("accounts:referrals", "get"),
    ("accounts:referrals_csv", "get"),
]
PUBLIC_PAGES = ["accounts:login", "accounts:register", "accounts:data_policy", "health"]


@pytest.mark.parametrize(("name", "method"), MEMBER_PAGES)
def test_member_pages_require_login(client, name, method):
    url = reverse(name)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={url}"


def test_logout_by_an_anonymous_visitor_just_goes_to_login(client):
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_pages_need_no_login(client, name):
    assert client.get(reverse(name)).status_code == 200


def test_static_files_are_public(client):
    # WhiteNoise serves them from the source folders in tests (WHITENOISE_USE_FINDERS).
    response = client.get("/static/js/forms.js")
    assert response.status_code == 200


def test_data_policy_page_explains_habeas_data_in_spanish(client):
    body = client.get(reverse("accounts:data_policy")).content.decode()
    assert "Ley Estatutaria 1581 de 2012" in body
    assert "habeas data" in body
    assert "Superintendencia de Industria y Comercio" in body
    assert "dato sensible" in body


def test_member_cannot_see_another_members_referrals(client):
    owner, other = UserFactory(), UserFactory()
    UserFactory(referred_by=owner, nombre_completo="Referida Privada")
    client.force_login(other)
    assert "Referida Privada" not in client.get(reverse("accounts:referrals")).content.decode()
    assert (
        "Referida Privada"
        not in b"".join(client.get(reverse("accounts:referrals_csv")).streaming_content).decode()
    )


def test_forms_carry_csrf_tokens(client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("accounts:login"), {"cedula": "1", "password": "x"}).status_code == 403
    assert 'name="csrfmiddlewaretoken"' in client.get(reverse("accounts:register")).content.decode()


def test_unknown_pages_answer_404_in_spanish(logged_client):
    response = logged_client.get("/no-existe/")
    assert response.status_code == 404
    assert "No encontramos esta página" in response.content.decode()
