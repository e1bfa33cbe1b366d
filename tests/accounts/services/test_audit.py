"""The audit trail: append-only rows with masked filters."""

import pytest

from accounts.models import AuditEntry
from accounts.services.audit import audit_record, mask_digits, mask_ip
from tests.fixtures.factories import LeaderFactory

pytestmark = pytest.mark.django_db


def test_audit_record_masks_a_cedula_typed_in_the_filter():
    leader = LeaderFactory()
    entry = audit_record(
        actor=leader, action=AuditEntry.Action.EXPORT_CSV, filters={"q": "1.234.567.890", "cambios": "1"}
    )
    entry.refresh_from_db()
    assert entry.filters == {"q": "*******890", "cambios": "1"}
    assert entry.actor == leader


def test_audit_entries_cannot_be_changed_or_deleted():
    entry = audit_record(actor=None, action=AuditEntry.Action.ACCOUNT_DELETED, target="user:1")
    entry.detail = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(detail="tampered")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).detail == ""


def test_mask_helpers_hide_personal_numbers():
    assert mask_digits("cédula 52000123 y tel 300 123 4567") == "cédula *****123 y tel *******567"
    assert mask_digits("page 2") == "page 2"
    assert mask_ip("190.24.8.77") == "190.24.8.x"
    assert mask_ip("2800:e2:1:2::9") == "2800:e2:1::/48"
    assert mask_ip("") == "-"


def test_control_characters_in_a_filter_are_dropped_so_every_database_stores_it():
    entry = audit_record(
        actor=None, action=AuditEntry.Action.EXPORT_CSV, filters={"q": "a\x00b\x1f", "\x00": "x"}
    )
    entry.refresh_from_db()
    assert entry.filters == {"q": "ab", "": "x"}
