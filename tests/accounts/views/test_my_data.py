"""Mis datos: download, delete with password, tombstone, sessions ended, audit rows."""

import json

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, CedulaChange, CedulaInfo, CedulaStatus, ConsentRecord, User
from accounts.services.consent import consent_accept
from tests.fixtures.factories import DEFAULT_PASSWORD, LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db


def _member_with_history():
    leader = LeaderFactory(nombre_completo="Lideresa Invitadora")
    member = UserFactory(referred_by=leader, nombre_completo="Ana María Núñez")
    CedulaInfo.objects.filter(user=member).update(
        status=CedulaStatus.FOUND, puesto="IE LICEO CENTRAL", municipio="PASTO", mesa="7", source="wsp"
    )
    CedulaChange.objects.create(user=member, old={"puesto": "VIEJO"}, new={"puesto": "IE LICEO CENTRAL"})
    consent_accept(user=member, ip="190.24.8.77")
    referrals = [UserFactory(referred_by=member, nombre_completo="Referido Secreto") for _ in range(2)]
    return leader, member, referrals


def test_download_holds_profile_census_history_consents_referrer_and_a_count_of_referrals(client):
    _leader, member, referrals = _member_with_history()
    client.force_login(member)
    response = client.get(reverse("accounts:my_data_json"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="mis-datos-')
    data = json.loads(response.content)
    assert data["profile"]["cedula"] == member.cedula
    assert data["profile"]["nombre_completo"] == "Ana María Núñez"
    assert data["profile"]["telefono"] == member.telefono
    assert data["census"]["puesto"] == "IE LICEO CENTRAL"
    assert data["census"]["status_label"] == "Puesto encontrado"
    assert [c["new"] for c in data["census_history"]] == [{"puesto": "IE LICEO CENTRAL"}]
    assert [(c["version"], c["ip"]) for c in data["consents"]][-1] == ("2026-12-01", "190.24.8.77")
    assert data["referred_by"] == {"nombre_completo": "Lideresa Invitadora", "deleted": False}
    assert data["referrals_count"] == 2
    body = response.content.decode()
    assert "Referido Secreto" not in body
    assert all(r.cedula not in body for r in referrals)


def test_the_readable_page_shows_the_same_data(client):
    _leader, member, _referrals = _member_with_history()
    client.force_login(member)
    body = client.get(reverse("accounts:my_data")).content.decode()
    assert "Ana María Núñez" in body
    assert "IE LICEO CENTRAL" in body
    assert "Lideresa Invitadora" in body
    assert 'data-testid="referrals-count">2<' in body
    assert "Referido Secreto" not in body


def test_delete_needs_the_right_password(client):
    _leader, member, _referrals = _member_with_history()
    client.force_login(member)
    response = client.post(reverse("accounts:delete_account"), {"password": "otra-cosa", "confirm": "on"})
    assert response.status_code == 200
    assert "La contraseña no es correcta." in response.content.decode()
    member.refresh_from_db()
    assert member.deleted_at is None and member.is_active


def test_delete_leaves_a_tombstone_ends_every_session_and_logs_without_personal_data(client):
    leader, member, referrals = _member_with_history()
    cedula, phone = member.cedula, member.telefono
    other_device = Client()
    other_device.force_login(member)
    assert other_device.get(reverse("accounts:home")).status_code == 200
    client.force_login(member)
    response = client.post(
        reverse("accounts:delete_account"), {"password": DEFAULT_PASSWORD, "confirm": "on"}, follow=True
    )
    assert "Eliminamos tu cuenta" in response.content.decode()

    tombstone = User.objects.get(pk=member.pk)
    assert tombstone.nombre_completo == "Miembro eliminado"
    assert tombstone.cedula != cedula and not tombstone.telefono
    assert not tombstone.is_active and not tombstone.has_usable_password()
    assert tombstone.deleted_at is not None
    assert not CedulaInfo.objects.filter(user=tombstone).exists()
    assert not CedulaChange.objects.filter(user=tombstone).exists()
    assert not ConsentRecord.objects.filter(user=tombstone).exists()
    # Referrals keep their account and their link, now to the tombstone; the referrer is untouched.
    for referral in referrals:
        referral.refresh_from_db()
        assert referral.referred_by_id == tombstone.pk and referral.is_active
    assert tombstone.referred_by == leader
    # Every session of the member ended, on this device and on the other one.
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(member.pk)]
    assert other_device.get(reverse("accounts:home")).status_code == 302
    # The old cédula can register again and cannot log in to the tombstone.
    assert not User.objects.filter(cedula=cedula).exists()

    entry = AuditEntry.objects.get(action=AuditEntry.Action.ACCOUNT_DELETED)
    assert entry.target == f"user:{member.pk}" and entry.row_count == 2
    assert cedula not in str(entry.__dict__) and phone not in str(entry.__dict__)


def test_a_deleted_referrer_shows_as_miembro_eliminado_to_their_referrals(client):
    _leader, member, referrals = _member_with_history()
    client.force_login(member)
    client.post(reverse("accounts:delete_account"), {"password": DEFAULT_PASSWORD, "confirm": "on"})
    client.force_login(referrals[0])
    data = json.loads(client.get(reverse("accounts:my_data_json")).content)
    assert data["referred_by"] == {"nombre_completo": "Miembro eliminado", "deleted": True}


def test_a_leader_deleting_themselves_keeps_the_network_data(client):
    leader = LeaderFactory()
    referrals = [UserFactory(referred_by=leader) for _ in range(3)]
    for referral in referrals:
        CedulaInfo.objects.filter(user=referral).update(
            status=CedulaStatus.FOUND, puesto="P", fetched_at=timezone.now()
        )
    client.force_login(leader)
    client.post(reverse("accounts:delete_account"), {"password": DEFAULT_PASSWORD, "confirm": "on"})
    assert User.objects.filter(referred_by=leader, is_active=True).count() == 3
    assert CedulaInfo.objects.filter(user__in=referrals, puesto="P").count() == 3
    assert User.objects.get(pk=leader.pk).role == User.Role.USER


def test_delete_requires_post_with_csrf():
    member = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    response = client.post(
        reverse("accounts:delete_account"), {"password": DEFAULT_PASSWORD, "confirm": "on"}
    )
    assert response.status_code == 403
    assert User.objects.get(pk=member.pk).deleted_at is None


def test_csv_export_writes_an_audit_row_with_filter_and_count(client):
    leader = LeaderFactory()
    for _ in range(3):
        UserFactory(referred_by=leader)
    client.force_login(leader)
    response = client.get(reverse("accounts:referrals_csv"), {"q": "miembro", "cambios": ""})
    b"".join(response.streaming_content)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT_CSV)
    assert (entry.actor, entry.row_count, entry.target) == (leader, 3, f"referrals of user:{leader.pk}")
    assert entry.filters == {"q": "miembro"}


def test_a_deleted_referral_leaves_the_leaders_list_and_no_lookup_brings_its_row_back(client):
    from accounts.services import cedulas

    leader = LeaderFactory()
    member = UserFactory(referred_by=leader)
    kept = UserFactory(referred_by=leader)
    client.force_login(member)
    client.post(reverse("accounts:delete_account"), {"password": DEFAULT_PASSWORD, "confirm": "on"})
    client.force_login(leader)
    body = client.get(reverse("accounts:referrals")).content.decode()
    assert "Miembro eliminado" not in body and kept.nombre_completo in body
    claim = cedulas.cedula_claim(user_id=member.pk)
    assert claim.result == cedulas.ClaimResult.NOT_IN_FLIGHT
    assert not CedulaInfo.objects.filter(user_id=member.pk).exists()


def test_operators_find_unreadable_answers_in_the_admin(admin_client):
    member = UserFactory()
    CedulaInfo.objects.filter(user=member).update(status=CedulaStatus.UNREADABLE, fetched_at=timezone.now())
    UserFactory()
    response = admin_client.get(
        reverse("admin:accounts_cedulainfo_changelist"), {"status__exact": "unreadable"}
    )
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert "Respuesta no reconocida" in response.content.decode()


def test_territory_exports_and_refresh_by_filter_are_audited(client):
    leader = LeaderFactory()
    for _ in range(2):
        UserFactory(referred_by=leader)
    client.force_login(leader)
    csv_response = client.get(reverse("accounts:territory_csv"))
    if hasattr(csv_response, "streaming_content"):
        b"".join(csv_response.streaming_content)
    xlsx_response = client.get(reverse("accounts:territory_xlsx"))
    assert xlsx_response.status_code == 200
    client.post(reverse("accounts:referrals_refresh_filtered"), {"q": ""})
    rows = {e.action: e for e in AuditEntry.objects.filter(actor=leader)}
    assert rows[AuditEntry.Action.EXPORT_CSV].row_count == 2
    assert rows[AuditEntry.Action.EXPORT_XLSX].row_count == 2
    assert rows[AuditEntry.Action.BULK_REFRESH].row_count == 2
    assert rows[AuditEntry.Action.EXPORT_XLSX].target == f"network of user:{leader.pk}"
