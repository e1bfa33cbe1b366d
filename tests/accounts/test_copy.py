"""Spanish copy: no "usted" form reaches a member, on any page or in any form error.

Renders every member page (anonymous and signed in, member and leader) and posts each
form with the mistakes a member makes, so Django's own messages (validators, field
defaults, the password change form) are scanned too.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import strip_tags

from accounts.forms import PortalPasswordChangeForm, ProfileForm, RegistrationForm
from tests.fixtures.factories import DEFAULT_PASSWORD, LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db

# Imperatives and possessives of "usted" that Django's es/es_CO catalogs use.
USTED = re.compile(
    r"\b(usted|ustedes|Ud\.|introduzca|asegúrese|escoja|seleccione|elija|indique|proporcione|compruebe|"
    r"inténtelo|vuelva a|corrija|ingrese|escriba|verifique|su contraseña|sus datos|su cuenta|su información|"
    r"su nombre|su cédula)\b",
    re.IGNORECASE,
)


def usted_in(text: str) -> list[str]:
    return USTED.findall(strip_tags(text))


def _pages(client: Client, names: list[str]) -> dict[str, str]:
    return {name: client.get(reverse(name)).content.decode() for name in names}


def test_no_usted_on_any_page():
    anonymous = Client()
    pages = _pages(anonymous, ["accounts:login", "accounts:register", "accounts:data_policy"])
    member = UserFactory()
    client = Client()
    client.force_login(member)
    pages |= _pages(
        client,
        ["accounts:home", "accounts:profile", "accounts:my_data", "accounts:delete_account", "cedula:card"],
    )
    pages["logout"] = client.get(reverse("accounts:logout")).content.decode()
    leader = LeaderFactory()
    UserFactory(referred_by=leader)
    client.force_login(leader)
    pages |= _pages(client, ["accounts:referrals"])
    leader.data_policy_version = "old"
    leader.save()
    pages |= _pages(client, ["accounts:accept_policy"])
    found = {name: usted_in(body) for name, body in pages.items() if usted_in(body)}
    assert not found


@pytest.mark.parametrize(
    "data",
    [
        {},
        {
            "nombre_completo": "A" * 200,
            "cedula": "12",
            "telefono": "12",
            "password1": "123",
            "password2": "124",
        },
        {
            "nombre_completo": "Ana María",
            "cedula": "71234567",
            "telefono": "3001234567",
            "password1": "12345678",
        },
        {"password1": "password", "password2": "password", "nombre_completo": "Ana", "cedula": "x"},
        {
            "password1": "anamaria2",
            "password2": "anamaria2",
            "nombre_completo": "Ana Maria",
            "cedula": "71234567",
        },
    ],
)
def test_no_usted_in_registration_errors(client, data):
    body = client.post(reverse("accounts:register"), data).content.decode()
    assert "is-invalid" in body or "alert-danger" in body
    assert not usted_in(body)


def test_no_usted_in_django_messages_of_member_forms():
    user = UserFactory(nombre_completo="Ana Maria Gomez")
    forms = [
        RegistrationForm({"password1": "1234", "password2": "1234", "nombre_completo": "x" * 300}),
        ProfileForm({"nombre_completo": "", "telefono": "x" * 50, "referral_goal": "abc"}),
        ProfileForm({"nombre_completo": "Ana", "telefono": "3001234567", "referral_goal": "10000000"}),
        PortalPasswordChangeForm(user, {"old_password": "mala", "new_password1": "1", "new_password2": "2"}),
        PortalPasswordChangeForm(
            user,
            {"old_password": DEFAULT_PASSWORD, "new_password1": "123456789", "new_password2": "123456789"},
        ),
        PortalPasswordChangeForm(
            user, {"old_password": DEFAULT_PASSWORD, "new_password1": "password", "new_password2": "password"}
        ),
        PortalPasswordChangeForm(
            user,
            {
                "old_password": DEFAULT_PASSWORD,
                "new_password1": "anamariagomez",
                "new_password2": "anamariagomez",
            },
        ),
    ]
    messages = []
    for form in forms:
        assert not form.is_valid()
        messages += [str(error) for errors in form.errors.values() for error in errors]
        messages += [str(field.help_text) for field in form.fields.values()]
    assert messages
    offending = [message for message in messages if usted_in(message)]
    assert not offending


def test_password_change_errors_on_the_profile_page_say_tu(client):
    user = UserFactory()
    client.force_login(user)
    body = client.post(
        reverse("accounts:profile"),
        {"form": "password", "old_password": "mala", "new_password1": "1", "new_password2": "2"},
    ).content.decode()
    assert "Tu contraseña actual no es correcta" in body
    assert "Escríbela otra vez, igual, para confirmar" in body
    assert not usted_in(body)
