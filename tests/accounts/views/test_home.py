import pytest
from django.urls import reverse

from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db

HOME = reverse("accounts:home")


def test_home_greets_the_member_and_includes_the_census_card(logged_client, user):
    body = logged_client.get(HOME).content.decode()
    assert f"Hola, {user.get_short_name()}" in body
    assert 'id="cedula-card"' in body


def test_home_shows_an_absolute_referral_link_with_a_copy_button(logged_client, user):
    body = logged_client.get(HOME).content.decode()
    assert f'value="http://testserver/registro/?ref={user.referral_code}"' in body
    assert 'data-copy-target="referral-link"' in body
    assert "readonly" in body


def test_home_shows_referral_count_and_progress_toward_the_goal(logged_client, user):
    user.referral_goal = 4
    user.save()
    for _ in range(3):
        UserFactory(referred_by=user)
    UserFactory(referred_by=UserFactory())
    response = logged_client.get(HOME)
    assert response.context["referral_count"] == 3
    assert response.context["referral_progress"] == 75
    body = response.content.decode()
    assert 'data-testid="referral-count">3<' in body
    assert 'aria-valuenow="75"' in body


def test_progress_is_capped_at_one_hundred(logged_client, user):
    user.referral_goal = 1
    user.save()
    UserFactory.create_batch(3, referred_by=user)
    assert logged_client.get(HOME).context["referral_progress"] == 100


def test_navbar_shows_the_member_and_a_post_logout(logged_client, user):
    body = logged_client.get(HOME).content.decode()
    assert user.nombre_completo in body
    assert f'<form method="post" action="{reverse("accounts:logout")}"' in body
    for label in ("Inicio", "Perfil", "Referidos", "Salir"):
        assert label in body


def test_navbar_offers_login_and_registration_to_visitors(client):
    body = client.get(reverse("accounts:login")).content.decode()
    assert reverse("accounts:register") in body
    assert "Salir" not in body
