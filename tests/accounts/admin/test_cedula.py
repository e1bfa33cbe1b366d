"""Admin for census lookups: list, filters, search and the "Consultar de nuevo" action."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, CedulaInfo, CedulaStatus, User
from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin_user = User.objects.create_superuser("52999999", "clave-admin-123", nombre_completo="Operadora")
    client.force_login(admin_user)
    return client


def test_list_filters_by_status_and_searches_by_cedula(admin_client):
    found = UserFactory(nombre_completo="Lucía Ñáñez")
    CedulaInfo.objects.filter(user=found).update(status=CedulaStatus.FOUND, puesto="COLEGIO USAQUÉN")
    UserFactory()
    url = reverse("admin:accounts_cedulainfo_changelist")
    body = admin_client.get(url, {"status__exact": "found"}).content.decode()
    assert "Lucía Ñáñez" in body
    body = admin_client.get(url, {"q": found.cedula}).content.decode()
    assert "COLEGIO USAQUÉN" in body


def test_consultar_de_nuevo_marks_rows_pending_with_the_same_rules(admin_client):
    ready = UserFactory()
    busy = UserFactory()  # still pending from signup
    CedulaInfo.objects.filter(user=ready).update(
        status=CedulaStatus.ERROR, requested_at=timezone.now() - timedelta(hours=2)
    )
    ids = list(CedulaInfo.objects.filter(user__in=[ready, busy]).values_list("pk", flat=True))
    response = admin_client.post(
        reverse("admin:accounts_cedulainfo_changelist"),
        {"action": "consultar_de_nuevo", "_selected_action": ids},
        follow=True,
    )
    assert (
        "Se actualizará 1 cédula; 1 se omitió porque ya tenía una consulta en curso."
        in response.content.decode()
    )
    assert CedulaInfo.objects.get(user=ready).status == CedulaStatus.PENDING
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ADMIN_REFRESH)
    assert entry.row_count == 2
