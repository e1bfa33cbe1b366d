"""The audit trail in the admin: superusers read it, nobody edits it; member views are logged."""

import pytest
from django.urls import reverse

from accounts.models import AuditEntry, CedulaInfo
from accounts.services.audit import audit_record
from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_opening_a_member_in_the_admin_writes_an_audit_row(admin_client, admin_user):
    member = UserFactory()
    assert admin_client.get(reverse("admin:accounts_user_change", args=[member.pk])).status_code == 200
    info = CedulaInfo.objects.get(user=member)
    assert admin_client.get(reverse("admin:accounts_cedulainfo_change", args=[info.pk])).status_code == 200
    rows = list(AuditEntry.objects.order_by("at").values_list("actor", "action", "target"))
    assert rows == [
        (admin_user.pk, AuditEntry.Action.ADMIN_VIEW, f"user:{member.pk}"),
        (admin_user.pk, AuditEntry.Action.ADMIN_VIEW, f"cedulainfo:{info.pk}"),
    ]
    assert member.cedula not in str(rows)


def test_superuser_reads_the_audit_log_but_cannot_add_change_or_delete(admin_client):
    entry = audit_record(actor=None, action=AuditEntry.Action.ACCOUNT_DELETED, target="user:9")
    assert admin_client.get(reverse("admin:accounts_auditentry_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:accounts_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.get(reverse("admin:accounts_auditentry_add")).status_code == 403
    assert admin_client.post(reverse("admin:accounts_auditentry_delete", args=[entry.pk])).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:accounts_auditentry_change", args=[entry.pk]), {"detail": "x"}
        ).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk, detail="").exists()


def test_staff_who_are_not_superusers_do_not_see_the_audit_log(client):
    staff = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.set(Permission.objects.filter(codename__endswith="auditentry"))
    client.force_login(staff)
    assert client.get(reverse("admin:accounts_auditentry_changelist")).status_code == 403


def test_listing_members_in_the_admin_logs_the_filter_and_row_count(admin_client, admin_user):
    for _ in range(3):
        UserFactory(nombre_completo="Persona Buscada")
    response = admin_client.get(reverse("admin:accounts_user_changelist"), {"q": "Buscada"})
    assert response.status_code == 200
    entry = AuditEntry.objects.get(target="user list")
    assert (entry.actor_id, entry.row_count, entry.filters) == (admin_user.pk, 3, {"q": "Buscada"})
