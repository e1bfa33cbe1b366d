import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User
from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db

REGISTER = reverse("accounts:register")
PASSWORD = "Girasol-Montaña-77"


def form_data(**overrides):
    data = {
        "nombre_completo": "María José Núñez O'Neill",
        "cedula": "1.234.567",
        "telefono": "+57 300 123 4567",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "accepted_data_policy": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_registration_page_is_public_and_in_spanish(client):
    response = client.get(REGISTER)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Crea tu cuenta" in body
    assert "política de tratamiento de datos" in body
    # The browser-side rules mirror the server's.
    assert 'data-filter="cedula"' in body
    assert 'pattern="' in body
    assert 'maxlength="150"' in body
    assert 'minlength="3"' in body


def test_registration_creates_the_member_logs_in_and_lands_home(client):
    response = client.post(REGISTER, form_data())
    assert response.status_code == 302
    assert response.url == reverse("accounts:home")
    user = User.objects.get(cedula="1234567")
    assert user.nombre_completo == "María José Núñez O'Neill"
    assert user.telefono == "3001234567"
    assert user.accepted_data_policy is True
    assert user.data_policy_accepted_at is not None
    assert user.referred_by is None
    assert user.check_password(PASSWORD)
    assert user.role == User.Role.USER
    assert int(client.session[SESSION_KEY]) == user.pk
    home = client.get(response.url)
    assert "Hola, María" in home.content.decode()


@pytest.mark.parametrize("cedula", ["1.234.567", "1 234 567", "1-234-567", "1,234,567", " 1234567 "])
def test_formatted_cedulas_are_stored_as_digits(client, cedula):
    client.post(REGISTER, form_data(cedula=cedula))
    assert User.objects.filter(cedula="1234567").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cedula", "0123456", "no puede empezar por cero"),
        ("cedula", "12", "entre 3 y 10 dígitos"),
        ("cedula", "12345678901", "entre 3 y 10 dígitos"),
        ("cedula", "12a4567", "solo puede tener números"),
        ("cedula", "", "obligatorio"),
        ("nombre_completo", "Ana 2", "solo puede tener letras"),
        ("nombre_completo", "Ana$", "solo puede tener letras"),
        ("nombre_completo", "Al", "al menos 3"),
        ("nombre_completo", "A" * 151, "como máximo 150"),
        ("telefono", "12345", "celular colombiano"),
        ("telefono", "6091234567", "celular colombiano"),
        ("telefono", "", "obligatorio"),
        ("password2", "otra-clave-distinta-9", "no coinciden"),
        ("accepted_data_policy", None, "Debes aceptar la política"),
    ],
)
def test_each_invalid_field_shows_a_spanish_error_and_creates_nobody(client, field, value, message):
    response = client.post(REGISTER, form_data(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("corta1", "La contraseña es muy corta"),
        ("12345678901", "no puede tener solo números"),
        ("password123", "demasiado común"),
    ],
)
def test_django_password_validators_answer_in_spanish(client, password, message):
    response = client.post(REGISTER, form_data(password1=password, password2=password))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_password_similar_to_the_name_is_rejected(client):
    response = client.post(
        REGISTER,
        form_data(
            nombre_completo="Valentina Restrepo", password1="valentinarestrepo", password2="valentinarestrepo"
        ),
    )
    assert response.status_code == 200
    assert "se parece demasiado a tu" in response.content.decode()


def test_a_failed_submit_keeps_what_was_typed_except_passwords(client):
    response = client.post(REGISTER, form_data(telefono="999"))
    body = response.content.decode()
    assert 'value="María José Núñez O&#x27;Neill"' in body
    assert 'value="1.234.567"' in body
    assert 'value="999"' in body
    assert PASSWORD not in body


def test_duplicate_cedula_is_a_form_error(client, user):
    response = client.post(REGISTER, form_data(cedula=f"{int(user.cedula):,}".replace(",", ".")))
    assert response.status_code == 200
    assert "Ya existe una cuenta con esta cédula" in response.content.decode()
    assert User.objects.count() == 1


def test_concurrent_registration_of_the_same_cedula_is_a_form_error_not_a_500(client, monkeypatch):
    # Simulate the race: both checks run before the other request's INSERT commits,
    # so only the database's unique constraint notices.
    UserFactory(cedula="1234567")
    monkeypatch.setattr("accounts.forms.user_cedula_taken", lambda *, cedula: False)
    monkeypatch.setattr("accounts.services.users.user_cedula_taken", _taken_after_insert_attempt())
    response = client.post(REGISTER, form_data())
    assert response.status_code == 200
    assert "Ya existe una cuenta con esta cédula" in response.content.decode()
    assert User.objects.filter(cedula="1234567").count() == 1
    assert SESSION_KEY not in client.session


def _taken_after_insert_attempt():
    calls = []

    def taken(*, cedula):
        calls.append(cedula)
        # First call is the pre-check (lose the race); later ones ask the database.
        return len(calls) > 1 and User.objects.filter(cedula=cedula).exists()

    return taken


# --- Referrals -----------------------------------------------------------------------
def test_referral_code_in_the_link_is_carried_in_a_hidden_field(client, leader):
    response = client.get(f"{REGISTER}?ref={leader.referral_code}")
    body = response.content.decode()
    assert f'type="hidden" name="ref" value="{leader.referral_code}"' in body
    assert "Te invitó" in body


def test_known_referral_code_links_the_new_member(client, leader):
    client.post(REGISTER, form_data(ref=leader.referral_code))
    assert User.objects.get(cedula="1234567").referred_by == leader


def test_referral_code_is_case_insensitive(client, leader):
    client.post(REGISTER, form_data(ref=leader.referral_code.lower()))
    assert User.objects.get(cedula="1234567").referred_by == leader


def test_referral_code_from_the_query_string_counts_without_the_hidden_field(client, leader):
    client.post(f"{REGISTER}?ref={leader.referral_code}", form_data())
    assert User.objects.get(cedula="1234567").referred_by == leader


@pytest.mark.parametrize("code", ["NOEXISTE", "<script>", "x" * 500, "ABC", ""])
def test_unknown_or_junk_referral_code_is_ignored_silently(client, code):
    response = client.get(REGISTER, {"ref": code})
    assert response.status_code == 200
    assert "Te invitó" not in response.content.decode()
    response = client.post(REGISTER, form_data(ref=code))
    assert response.status_code == 302
    assert User.objects.get(cedula="1234567").referred_by is None


def test_referral_code_survives_an_invalid_submit(client, leader):
    response = client.post(REGISTER, form_data(ref=leader.referral_code, telefono="1"))
    assert response.status_code == 200
    assert f'name="ref" value="{leader.referral_code}"' in response.content.decode()
    # The member fixes the phone and submits the re-rendered form again.
    client.post(REGISTER, form_data(ref=leader.referral_code))
    assert User.objects.get(cedula="1234567").referred_by == leader


def test_inactive_referrer_code_is_ignored(client, leader):
    leader.is_active = False
    leader.save()
    client.post(REGISTER, form_data(ref=leader.referral_code))
    assert User.objects.get(cedula="1234567").referred_by is None


def test_logged_in_member_visiting_registration_goes_home(logged_client):
    response = logged_client.get(REGISTER)
    assert response.status_code == 302
    assert response.url == reverse("accounts:home")


def test_registration_refuses_other_methods(client):
    assert client.put(REGISTER).status_code == 405


def test_junk_post_never_500s(client):
    response = client.post(REGISTER, {"cedula": ["1", "2"], "nombre_completo": "\x00", "telefono": "\ufeff"})
    assert response.status_code == 200


def test_an_english_browser_still_gets_spanish_messages(client):
    response = client.post(
        REGISTER, form_data(password1="corta1", password2="corta1"), HTTP_ACCEPT_LANGUAGE="en-US,en"
    )
    body = response.content.decode()
    assert "La contraseña es muy corta" in body
    assert "Usa al menos 8 caracteres." in body
