"""Contacts (issue 14): one census row per cédula shared by leaders and members, and the
merge when a contact registers."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import CedulaChange, CedulaInfo, CedulaStatus, Contact, User
from accounts.selectors.network import NetworkFilter, network_filtered, network_members
from accounts.services.contacts import ContactRow, contacts_create_batch
from actors import sending
from actors.queues import QUEUE_LOOKUPS, QUEUE_REFRESH
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "nombre_completo": "Rosa Elena Contacto",
    "cedula": "53.000.001",
    "telefono": "300 555 0001",
    "password1": "Caracol-Azul-2026",
    "password2": "Caracol-Azul-2026",
    "accepted_data_policy": "on",
}


@pytest.fixture
def sent(monkeypatch):
    """What the services publish, instead of RabbitMQ (the e2e tests use the real one)."""
    calls = []
    monkeypatch.setattr(
        sending, "send_lookup", lambda *, user_id, queue, delay_ms=None: calls.append((user_id, queue))
    )
    return calls


def _answer(person_id: int, *, days_ago: float = 1, puesto: str = "IE LICEO") -> None:
    CedulaInfo.objects.filter(user_id=person_id).update(
        status=CedulaStatus.FOUND,
        result_status=CedulaStatus.FOUND,
        departamento="NARIÑO",
        municipio="PASTO",
        puesto=puesto,
        mesa="3",
        fetched_at=timezone.now() - timedelta(days=days_ago),
        requested_at=timezone.now() - timedelta(days=days_ago),
    )


def test_a_new_cedula_gets_one_person_row_with_a_census_row_pending_on_the_refresh_queue():
    leader = LeaderFactory()
    result = contacts_create_batch(leader=leader, rows=[ContactRow("53000001", "Rosa Elena", "3005550001")])
    person = User.objects.get(cedula="53000001")
    assert person.is_contact and not person.is_active and not person.has_usable_password()
    assert person.nombre_completo == "" and person.telefono == ""
    info = CedulaInfo.objects.get(user=person)
    assert (info.status, info.queue) == (CedulaStatus.PENDING, QUEUE_REFRESH)
    assert result.to_look_up == [person.pk]
    contact = Contact.objects.get(leader=leader, person=person)
    assert (contact.nombre, contact.telefono, contact.nombre_busqueda) == (
        "Rosa Elena",
        "3005550001",
        "rosa elena",
    )


def test_two_leaders_importing_the_same_cedula_share_one_census_row_and_one_lookup():
    ana, beto = LeaderFactory(), LeaderFactory()
    first = contacts_create_batch(leader=ana, rows=[ContactRow("53000001", "Rosa Elena", "3005550001")])
    second = contacts_create_batch(leader=beto, rows=[ContactRow("53000001", "Rosita", "3110000000")])
    assert User.objects.filter(cedula="53000001").count() == 1
    assert CedulaInfo.objects.filter(user__cedula="53000001").count() == 1
    assert len(first.to_look_up) == 1 and second.to_look_up == []
    assert Contact.objects.filter(person__cedula="53000001").count() == 2


def test_neither_leader_sees_the_name_or_phone_the_other_gave():
    ana, beto = LeaderFactory(), LeaderFactory()
    contacts_create_batch(leader=ana, rows=[ContactRow("53000001", "Rosa Elena", "3005550001")])
    contacts_create_batch(leader=beto, rows=[ContactRow("53000001", "Rosita", "3110000000")])
    Contact.objects.filter(leader=beto).update(created_at=timezone.now() + timedelta(days=3))
    (seen_by_ana,) = network_members(viewer=ana)
    (seen_by_beto,) = network_members(viewer=beto)
    # Not even when the other leader added them.
    assert seen_by_beto.shown_joined - seen_by_ana.shown_joined > timedelta(days=2)
    assert (seen_by_ana.shown_nombre, seen_by_ana.shown_telefono) == ("Rosa Elena", "3005550001")
    assert (seen_by_beto.shown_nombre, seen_by_beto.shown_telefono) == ("Rosita", "3110000000")
    # Searching by the other leader's name finds nothing.
    assert not network_filtered(viewer=ana, filters=NetworkFilter(query="rosita")).exists()
    assert network_filtered(viewer=beto, filters=NetworkFilter(query="rosita")).count() == 1


def test_a_contact_counts_one_level_below_the_leader_who_brought_them_in_the_whole_network():
    top = LeaderFactory()
    sub = LeaderFactory(referred_by=top)
    contacts_create_batch(leader=sub, rows=[ContactRow("53000001", "Rosa Elena")])
    contacts_create_batch(leader=top, rows=[ContactRow("53000002", "Pedro Pérez")])
    depths = {m.cedula: m.depth for m in network_members(viewer=top)}
    assert depths == {sub.cedula: 1, "53000001": 2, "53000002": 1}
    assert {m.cedula for m in network_members(viewer=sub)} == {"53000001"}


def test_a_contact_brought_by_two_leaders_of_one_network_counts_once():
    top = LeaderFactory()
    sub = LeaderFactory(referred_by=top)
    contacts_create_batch(leader=top, rows=[ContactRow("53000001", "Rosa Elena")])
    contacts_create_batch(leader=sub, rows=[ContactRow("53000001", "Rosa E.")])
    rows = list(network_members(viewer=top).filter(cedula="53000001"))
    assert len(rows) == 1 and rows[0].shown_nombre == "Rosa Elena" and rows[0].depth == 1


def test_a_contact_who_registers_without_ref_becomes_that_member_under_the_leader(client, sent):
    leader = LeaderFactory()
    contacts_create_batch(leader=leader, rows=[ContactRow("53000001", "Rosa Elena", "3005550001")])
    person = User.objects.get(cedula="53000001")
    _answer(person.pk, days_ago=2)
    CedulaChange.objects.create(user=person, old={"puesto": "VIEJO"}, new={"puesto": "IE LICEO"})

    response = client.post(reverse("accounts:register"), SIGNUP)

    assert response.status_code == 302
    member = User.objects.get(cedula="53000001")
    assert member.pk == person.pk
    assert not member.is_contact and member.is_active and member.check_password(SIGNUP["password1"])
    assert member.nombre_completo == "Rosa Elena Contacto" and member.referred_by == leader
    assert member.consent_records.count() == 1
    # Fresh answer: kept, no second lookup; history kept.
    info = CedulaInfo.objects.get(user=member)
    assert (info.status, info.puesto) == (CedulaStatus.FOUND, "IE LICEO")
    assert sent == []
    assert CedulaChange.objects.filter(user=member).count() == 1
    # Counted once, as a member now.
    (row,) = network_members(viewer=leader)
    assert row.pk == member.pk and not row.is_contact and row.depth == 1


def test_a_contact_who_registers_with_a_ref_keeps_that_ref(client, sent):
    importer, inviter = LeaderFactory(), LeaderFactory()
    contacts_create_batch(leader=importer, rows=[ContactRow("53000001", "Rosa Elena")])
    _answer(User.objects.get(cedula="53000001").pk)
    client.post(f"{reverse('accounts:register')}?ref={inviter.referral_code}", SIGNUP)
    member = User.objects.get(cedula="53000001")
    assert member.referred_by == inviter
    assert not network_members(viewer=importer).exists()  # a member of another network now


def test_a_stale_answer_is_looked_up_again_when_the_contact_registers(client, sent):
    leader = LeaderFactory()
    contacts_create_batch(leader=leader, rows=[ContactRow("53000001", "Rosa Elena")])
    person = User.objects.get(cedula="53000001")
    _answer(person.pk, days_ago=90)
    client.post(reverse("accounts:register"), SIGNUP)
    assert CedulaInfo.objects.get(user=person).status == CedulaStatus.PENDING
    assert CedulaInfo.objects.get(user=person).queue == QUEUE_LOOKUPS


@pytest.mark.django_db(transaction=True)
def test_a_contact_waiting_behind_an_import_jumps_to_the_signup_queue_when_registering(client, sent):
    leader = LeaderFactory()
    contacts_create_batch(leader=leader, rows=[ContactRow("53000001", "Rosa Elena")])
    person = User.objects.get(cedula="53000001")
    client.post(reverse("accounts:register"), SIGNUP)
    info = CedulaInfo.objects.get(user=person)
    assert (info.status, info.queue) == (CedulaStatus.PENDING, QUEUE_LOOKUPS)
    assert [call for call in sent if call[0] == person.pk] == [(person.pk, QUEUE_LOOKUPS)]


def test_a_contact_row_cannot_log_in(client):
    leader = LeaderFactory()
    contacts_create_batch(leader=leader, rows=[ContactRow("53000001", "Rosa Elena")])
    response = client.post(reverse("accounts:login"), {"cedula": "53000001", "password": "!"})
    assert "_auth_user_id" not in client.session
    assert response.status_code == 200


def test_a_registered_members_cedula_is_still_taken():
    UserFactory(cedula="53000009")
    from accounts.selectors.users import user_cedula_taken

    assert user_cedula_taken(cedula="53000009")
    leader = LeaderFactory()
    contacts_create_batch(leader=leader, rows=[ContactRow("53000001", "Rosa")])
    assert not user_cedula_taken(cedula="53000001")


def test_deleting_the_leaders_account_removes_their_contacts_but_not_the_shared_census():
    from accounts.services.erasure import user_delete_account

    ana, beto = LeaderFactory(), LeaderFactory()
    contacts_create_batch(leader=ana, rows=[ContactRow("53000001", "Rosa Elena")])
    contacts_create_batch(leader=beto, rows=[ContactRow("53000001", "Rosita")])
    user_delete_account(user=ana)
    assert list(Contact.objects.values_list("leader_id", flat=True)) == [beto.pk]
    assert CedulaInfo.objects.filter(user__cedula="53000001").exists()


@pytest.mark.django_db(transaction=True)
def test_leaders_importing_the_same_cedulas_at_the_same_time_cause_one_lookup_each_cedula():
    from django.db import connection

    from tests.fixtures.threads import run_at_once

    leaders = [LeaderFactory() for _ in range(4)]
    rows = [ContactRow(str(53_100_000 + i), "Persona Compartida") for i in range(200)]
    results, errors = {}, []

    def create(leader):
        try:
            results[leader.pk] = contacts_create_batch(leader=leader, rows=rows)
        except Exception as exc:
            errors.append(exc)

    run_at_once(create, leaders)
    if connection.vendor == "sqlite":
        # SQLite takes one writer at a time: a thread may lose the lock race; the others must not.
        errors = [e for e in errors if "locked" not in str(e)]
    assert not errors
    sent = [pk for result in results.values() for pk in result.to_look_up]
    assert len(sent) == len(set(sent)) == 200  # each new cédula sent once, by exactly one import
    assert User.objects.filter(cedula__startswith="531").count() == 200
    assert CedulaInfo.objects.filter(user__cedula__startswith="531").count() == 200
    assert Contact.objects.filter(person__cedula__startswith="531").count() == 200 * len(results)


def test_a_cedula_that_registered_since_the_check_gets_no_contact_and_no_lookup():
    leader = LeaderFactory()
    member = UserFactory(cedula="53000005")
    result = contacts_create_batch(leader=leader, rows=[ContactRow("53000005", "Persona Registrada")])
    assert result.members == {"53000005"} and result.created == set() and result.to_look_up == []
    assert not Contact.objects.exists()
    assert User.objects.get(pk=member.pk).is_contact is False


def test_mis_datos_of_a_contact_who_registered_names_the_leaders_who_had_them_on_a_list(client, sent):
    ana = LeaderFactory(nombre_completo="Ana Lideresa")
    beto = LeaderFactory(nombre_completo="Beto Líder")
    contacts_create_batch(leader=ana, rows=[ContactRow("53000001", "Rosa Elena", "3005550001")])
    contacts_create_batch(leader=beto, rows=[ContactRow("53000001", "Rosita", "3110000000")])
    client.post(reverse("accounts:register"), SIGNUP)
    data = client.get(reverse("accounts:my_data_json")).json()
    assert [c["lider"] for c in data["contact_of"]] == ["Ana Lideresa", "Beto Líder"]
    assert "Rosita" not in str(data) and "3110000000" not in str(data)
    assert "Ana Lideresa" in client.get(reverse("accounts:my_data")).content.decode()
