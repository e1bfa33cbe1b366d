import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from tests.fixtures.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")


def profile_data(**overrides):
    data = {
        "form": "profile",
        "nombre_completo": "Ana  Peña",
        "telefono": "(601) 234-5678",
        "referral_goal": "25",
    }
    data.update(overrides)
    return data


def test_profile_shows_the_members_data(logged_client, user):
    response = logged_client.get(PROFILE)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'value="{user.nombre_completo}"' in body
    assert f'value="{user.telefono}"' in body
    assert 'min="1"' in body
    assert 'max="10000"' in body


def test_profile_update_normalises_and_saves(logged_client, user):
    response = logged_client.post(PROFILE, profile_data())
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.nombre_completo == "Ana Peña"
    assert user.telefono == "6012345678"
    assert user.referral_goal == 25
    assert "quedaron guardados" in logged_client.get(PROFILE).content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nombre_completo", "Ana 3", "solo puede tener letras"),
        ("nombre_completo", "  ", "Escribe tu nombre completo"),
        ("telefono", "2001234567", "celular colombiano"),
        ("referral_goal", "0", "mayor o igual a 1"),
        ("referral_goal", "10001", "menor o igual a 10.000"),
        ("referral_goal", "muchos", "número entero"),
    ],
)
def test_profile_validation_errors_are_in_spanish_and_save_nothing(
    logged_client, user, field, value, message
):
    before = (user.nombre_completo, user.telefono, user.referral_goal)
    response = logged_client.post(PROFILE, profile_data(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    user.refresh_from_db()
    assert (user.nombre_completo, user.telefono, user.referral_goal) == before


def test_profile_cannot_change_the_cedula_or_role(logged_client, user):
    cedula = user.cedula
    logged_client.post(PROFILE, profile_data(cedula="99999999", role="LEADER"))
    user.refresh_from_db()
    assert user.cedula == cedula
    assert user.role == "USER"


def test_password_change_keeps_the_session(logged_client, user):
    response = logged_client.post(
        PROFILE,
        {
            "form": "password",
            "old_password": DEFAULT_PASSWORD,
            "new_password1": "Otra-Clave-Segura-2026",
            "new_password2": "Otra-Clave-Segura-2026",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Otra-Clave-Segura-2026")
    # update_session_auth_hash: still logged in.
    assert logged_client.get(PROFILE).status_code == 200
    assert int(logged_client.session[SESSION_KEY]) == user.pk


def test_password_change_with_wrong_old_password_is_refused_in_spanish(logged_client, user):
    response = logged_client.post(
        PROFILE,
        {
            "form": "password",
            "old_password": "mala",
            "new_password1": "Xy-98765-zz",
            "new_password2": "Xy-98765-zz",
        },
    )
    assert response.status_code == 200
    assert "Tu contraseña actual no es correcta" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
