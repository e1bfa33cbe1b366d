"""Migration accounts 0008 (contacts, issue 14) on a populated database: every member, census
row, change, consent and audit row stays as it was; everyone is a member (not a contact);
going back keeps them too. Runs on SQLite and PostgreSQL (CI runs both)."""

import pytest
from tests.fixtures.migrations import migrate_to, migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("accounts", "0007_privacy_audit_consent")
AFTER = ("accounts", "0008_contacts")


def _snapshot(apps):
    User = apps.get_model("accounts", "User")
    CedulaInfo = apps.get_model("accounts", "CedulaInfo")
    CedulaChange = apps.get_model("accounts", "CedulaChange")
    ConsentRecord = apps.get_model("accounts", "ConsentRecord")
    AuditEntry = apps.get_model("accounts", "AuditEntry")
    return {
        "users": sorted(
            User.objects.values_list(
                "pk", "cedula", "nombre_completo", "telefono", "referred_by_id", "network_path", "network_level",
                "role", "is_active", "referral_code",
            )
        ),
        "census": sorted(
            CedulaInfo.objects.values_list("user_id", "status", "result_status", "municipio", "puesto", "mesa", "zona")
        ),
        "changes": sorted(CedulaChange.objects.values_list("user_id", "source", "old", "new")),
        "consents": sorted(ConsentRecord.objects.values_list("user_id", "version", "ip")),
        "audit": AuditEntry.objects.count(),
    }


def test_migrating_a_populated_database_keeps_every_row_and_makes_nobody_a_contact():
    old = migrate_to(BEFORE)
    try:
        User = old.get_model("accounts", "User")
        CedulaInfo = old.get_model("accounts", "CedulaInfo")
        root = User.objects.create(cedula="54100000", nombre_completo="Raíz Líder", password="!", role="LEADER")
        parent, parent_level = root, 0
        for i in range(1, 40):
            # A tree 4 deep: every fourth member starts under the root again.
            referrer = root if i % 4 == 1 else parent
            level = 1 if referrer is root else (parent_level + 1)
            member = User.objects.create(
                cedula=str(54100000 + i),
                nombre_completo=f"Miembro {i}",
                telefono=f"300000{i:04d}",
                password="!",
                referred_by=referrer,
                network_path=f"{root.pk}/" if referrer is root else f"{parent.network_path}{parent.pk}/",
                network_level=level,
                referral_code=f"CODE{i:04d}",
            )
            parent, parent_level = member, level
            CedulaInfo.objects.create(
                user=member,
                status=["found", "not_found", "error", "pending"][i % 4],
                result_status="found" if i % 4 in (0, 3) else "",
                municipio="PASTO",
                puesto=f"PUESTO {i % 5}",
                mesa=str(i % 7),
                zona="01",
            )
            old.get_model("accounts", "CedulaChange").objects.create(
                user=member, source="wsp", old={"puesto": "A"}, new={"puesto": "B"}
            )
            old.get_model("accounts", "ConsentRecord").objects.create(user=member, version="2026-12-01", ip="10.0.0.1")
        old.get_model("accounts", "AuditEntry").objects.create(actor=root, action="export_csv", row_count=39)
        before = _snapshot(old)

        new = migrate_to(AFTER)
        assert _snapshot(new) == before
        assert not new.get_model("accounts", "User").objects.filter(is_contact=True).exists()
        assert new.get_model("accounts", "Contact").objects.count() == 0
        assert new.get_model("accounts", "ContactImport").objects.count() == 0

        back = migrate_to(BEFORE)
        assert _snapshot(back) == before
    finally:
        migrate_to_latest()
