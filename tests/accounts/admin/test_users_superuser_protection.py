"""Staff without superuser status must not be able to take over a superuser account.

A staff member holding ``change_user``/``delete_user`` may manage members, but changing a
superuser's password, deactivating or deleting them would hand over the whole site.
"""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import User
from tests.fixtures.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")
NEW_PASSWORD = "Otra-Clave-Larga-2026"


@pytest.fixture
def staff(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user", "add_user", "delete_user"])
    )
    client.force_login(staff)
    return staff


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


def _change_payload(user: User, **overrides) -> dict:
    data = {
        "cedula": user.cedula,
        "nombre_completo": user.nombre_completo,
        "telefono": user.telefono,
        "referral_goal": user.referral_goal,
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        # is_active left out: an unchecked box, i.e. "deactivate".
    }
    data.update(overrides)
    return data


def test_staff_cannot_open_or_post_the_password_form_of_a_superuser(client, staff, superuser):
    url = reverse("admin:auth_user_password_change", args=[superuser.pk])
    assert client.get(url).status_code == 403
    response = client.post(
        url, {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.check_password(DEFAULT_PASSWORD)


def test_staff_cannot_deactivate_or_edit_a_superuser(client, staff, superuser):
    url = reverse("admin:accounts_user_change", args=[superuser.pk])
    response = client.post(url, _change_payload(superuser, nombre_completo="Nombre Cambiado"))
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.is_active is True
    assert superuser.nombre_completo != "Nombre Cambiado"


def test_staff_sees_a_superuser_read_only_without_a_password_link(client, staff, superuser):
    response = client.get(reverse("admin:accounts_user_change", args=[superuser.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="nombre_completo"' not in body
    assert 'name="is_active"' not in body
    assert reverse("admin:auth_user_password_change", args=[superuser.pk]) not in body


def test_staff_cannot_delete_a_superuser_one_by_one_or_in_bulk(client, staff, superuser):
    delete_url = reverse("admin:accounts_user_delete", args=[superuser.pk])
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    member = UserFactory()
    response = client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [superuser.pk, member.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert User.objects.filter(pk__in=[superuser.pk, member.pk]).count() == 2


def test_staff_still_manages_ordinary_members(client, staff):
    # Deleting a member cascades to their census rows, which need their own permission.
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="accounts", codename__startswith="delete_")
    )
    member = UserFactory()
    url = reverse("admin:auth_user_password_change", args=[member.pk])
    response = client.post(
        url, {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    response = client.post(reverse("admin:accounts_user_change", args=[member.pk]), _change_payload(member))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_active is False
    response = client.post(reverse("admin:accounts_user_delete", args=[member.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=member.pk).exists()


def test_a_superuser_still_changes_another_superusers_password(client, superuser):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:auth_user_password_change", args=[superuser.pk])
    response = client.post(
        url, {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    superuser.refresh_from_db()
    assert superuser.check_password(NEW_PASSWORD)
