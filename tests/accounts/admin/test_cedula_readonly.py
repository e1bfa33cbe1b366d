"""Nobody edits census data by hand in the admin; "Consultar de nuevo" stays."""

import pytest
from django.urls import reverse

from accounts.models import CedulaInfo, CedulaStatus, User
from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin_user = User.objects.create_superuser("52999999", "clave-admin-123", nombre_completo="Operadora")
    client.force_login(admin_user)
    return client


@pytest.fixture
def found_row():
    member = UserFactory()
    CedulaInfo.objects.filter(user=member).update(
        status=CedulaStatus.FOUND,
        departamento="BOGOTA D.C.",
        municipio="BOGOTA D.C.",
        puesto="COLEGIO A",
        mesa="3",
    )
    return CedulaInfo.objects.get(user=member)


def test_the_change_page_shows_census_fields_without_inputs(admin_client, found_row):
    url = reverse("admin:accounts_cedulainfo_change", args=[found_row.pk])
    html = admin_client.get(url).content.decode()
    assert "COLEGIO A" in html
    for field in ("status", "departamento", "municipio", "puesto", "direccion", "mesa", "novedad", "source"):
        assert f'name="{field}"' not in html, field


def test_posting_a_made_up_voting_place_changes_nothing(admin_client, found_row):
    url = reverse("admin:accounts_cedulainfo_change", args=[found_row.pk])
    admin_client.post(url, {"puesto": "INVENTADO", "mesa": "99", "status": "not_found"})
    found_row.refresh_from_db()
    assert (found_row.puesto, found_row.mesa, found_row.status) == ("COLEGIO A", "3", CedulaStatus.FOUND)


def test_no_census_row_can_be_added_by_hand(admin_client):
    assert admin_client.get(reverse("admin:accounts_cedulainfo_add")).status_code == 403


def test_consultar_de_nuevo_is_still_offered(admin_client, found_row):
    html = admin_client.get(reverse("admin:accounts_cedulainfo_changelist")).content.decode()
    assert 'value="consultar_de_nuevo"' in html
