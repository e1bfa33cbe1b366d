import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import User
from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def staff_client(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user", "add_user"])
    )
    client.force_login(staff)
    return client


def test_changelist_searches_by_formatted_cedula_and_name(superuser_client):
    UserFactory(cedula="71234567", nombre_completo="Lucía Buscada")
    UserFactory(nombre_completo="Otro Miembro")
    body = superuser_client.get(CHANGELIST, {"q": "71.234.567"}).content.decode()
    assert "Lucía Buscada" in body
    assert "Otro Miembro" not in body
    body = superuser_client.get(CHANGELIST, {"q": "Buscada"}).content.decode()
    assert "Lucía Buscada" in body


def test_changelist_never_shows_password_hashes(superuser_client):
    UserFactory()
    body = superuser_client.get(CHANGELIST).content.decode()
    assert "md5$" not in body


def test_add_form_creates_a_member_with_normalised_fields(superuser_client):
    response = superuser_client.post(
        reverse("admin:accounts_user_add"),
        {
            "cedula": "71.234.567",
            "nombre_completo": "  Ana   Peña ",
            "telefono": "+57 300 123 4567",
            "usable_password": "true",
            "password1": "Clave-Segura-2026",
            "password2": "Clave-Segura-2026",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(cedula="71234567")
    assert user.nombre_completo == "Ana Peña"
    assert user.telefono == "3001234567"
    assert user.check_password("Clave-Segura-2026")


def test_change_form_renders_for_superusers(superuser_client):
    member = UserFactory()
    response = superuser_client.get(reverse("admin:accounts_user_change", args=[member.pk]))
    assert response.status_code == 200
    assert 'name="role"' in response.content.decode()


def test_non_superuser_staff_sees_role_and_privileges_read_only(staff_client):
    member = UserFactory()
    response = staff_client.get(reverse("admin:accounts_user_change", args=[member.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="role"' not in body
    assert 'name="is_superuser"' not in body
    assert 'name="is_staff"' not in body


def test_non_superuser_staff_cannot_change_a_role_by_posting(staff_client):
    member = UserFactory()
    url = reverse("admin:accounts_user_change", args=[member.pk])
    staff_client.post(
        url,
        {
            "cedula": member.cedula,
            "nombre_completo": member.nombre_completo,
            "telefono": member.telefono,
            "referral_goal": 10,
            "role": User.Role.LEADER,
            "is_superuser": "on",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    member.refresh_from_db()
    assert member.role == User.Role.USER
    assert member.is_superuser is False


def test_role_actions_are_superuser_only(staff_client):
    member = UserFactory()
    data = {"action": "make_leader", "_selected_action": [member.pk]}
    staff_client.post(CHANGELIST, data)
    member.refresh_from_db()
    assert member.role == User.Role.USER
    assert "make_leader" not in staff_client.get(CHANGELIST).content.decode()


def test_superuser_marks_members_as_leader_and_back(client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    members = UserFactory.create_batch(2)
    ids = [m.pk for m in members]
    response = client.post(CHANGELIST, {"action": "make_leader", "_selected_action": ids}, follow=True)
    assert "2 usuario(s) marcados como líder" in response.content.decode()
    assert set(User.objects.filter(pk__in=ids).values_list("role", flat=True)) == {User.Role.LEADER}
    client.post(CHANGELIST, {"action": "make_user", "_selected_action": ids})
    assert set(User.objects.filter(pk__in=ids).values_list("role", flat=True)) == {User.Role.USER}


def test_role_service_refuses_non_superusers():
    from django.core.exceptions import PermissionDenied

    from accounts.services.users import user_role_set

    staff = UserFactory(is_staff=True)
    member = UserFactory()
    with pytest.raises(PermissionDenied):
        user_role_set(actor=staff, user_ids=[member.pk], role=User.Role.LEADER)


def test_referred_by_uses_autocomplete(superuser_client):
    member = UserFactory()
    body = superuser_client.get(reverse("admin:accounts_user_change", args=[member.pk])).content.decode()
    assert "admin-autocomplete" in body
