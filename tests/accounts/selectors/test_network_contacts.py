"""Contacts count in the network exactly like members (issue 14): totals per level, the
territory, Referidos, the exports and the nightly refresh."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import CedulaInfo, CedulaStatus, User
from accounts.selectors.network import Outcome, network_level_totals, network_territory
from accounts.selectors.refresh import refresh_due_count, refresh_due_user_ids
from accounts.services.contacts import ContactRow, contacts_create_batch
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db


def _settle(cedula: str, *, status=CedulaStatus.FOUND, municipio="PASTO", puesto="IE LICEO", days_ago=1):
    CedulaInfo.objects.filter(user__cedula=cedula).update(
        status=status,
        result_status=status,
        departamento="NARIÑO",
        municipio=municipio,
        puesto=puesto,
        mesa="2",
        fetched_at=timezone.now() - timedelta(days=days_ago),
        requested_at=timezone.now() - timedelta(days=days_ago),
    )


@pytest.fixture
def mixed():
    """A leader with a member and a sub-leader; contacts at both levels; another leader's contact."""
    top = LeaderFactory()
    member = UserFactory(referred_by=top)
    sub = LeaderFactory(referred_by=top)
    contacts_create_batch(leader=top, rows=[ContactRow("53000001", "Ana Contacto", "3001110001")])
    contacts_create_batch(leader=sub, rows=[ContactRow("53000002", "Beto Contacto", "3001110002")])
    stranger = LeaderFactory()
    contacts_create_batch(leader=stranger, rows=[ContactRow("53000003", "Caro Ajena", "3001110003")])
    for person in (member.cedula, sub.cedula, "53000001", "53000003"):
        _settle(person)
    _settle("53000002", status=CedulaStatus.NOT_FOUND, municipio="", puesto="")
    return top, member, sub, stranger


def test_level_totals_count_contacts_one_level_below_their_leader(mixed):
    top, *_ = mixed
    totals = {t.depth: (t.members, t.can_vote) for t in network_level_totals(viewer=top)}
    assert totals == {1: (3, 3), 2: (1, 0)}


def test_the_territory_counts_contacts_like_members(mixed):
    top, *_ = mixed
    rows = {r.value: r.counts for r in network_territory(viewer=top, places={}, level="municipio")}
    assert rows["PASTO"][Outcome.CAN_VOTE] == 3
    assert rows[""][Outcome.NOT_REGISTERED] == 1
    assert sum(sum(c.values()) for c in rows.values()) == 4  # never the other leader's contact


def test_referidos_shows_contacts_marked_and_searchable_by_their_own_name(mixed):
    top, *_ = mixed
    client = Client()
    client.force_login(top)
    page = client.get(reverse("accounts:referrals")).content.decode()
    assert "Ana Contacto" in page and "Beto Contacto" in page and "Caro Ajena" not in page
    assert page.count(">Contacto</span>") == 2
    found = client.get(reverse("accounts:referrals"), {"q": "beto"}).content.decode()
    assert "Beto Contacto" in found and "Ana Contacto" not in found
    by_cedula = client.get(reverse("accounts:referrals"), {"q": "53000001"}).content.decode()
    assert "Ana Contacto" in by_cedula
    by_outcome = client.get(
        reverse("accounts:referrals"), {"resultado": Outcome.NOT_REGISTERED}
    ).content.decode()
    assert "Beto Contacto" in by_outcome and "Ana Contacto" not in by_outcome


def test_the_exports_list_contacts_with_the_leaders_own_name_and_phone(mixed):
    top, *_ = mixed
    client = Client()
    client.force_login(top)
    response = client.get(reverse("accounts:territory_csv"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = {r[1]: r for r in csv.reader(io.StringIO(text), delimiter=";")}
    assert rows["53000001"][:4] == ["Ana Contacto", "53000001", "3001110001", "1"]
    assert rows["53000002"][:4] == ["Beto Contacto", "53000002", "3001110002", "2"]
    assert "53000003" not in rows
    xlsx = client.get(reverse("accounts:territory_xlsx"))
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)), read_only=True).worksheets[0]
    cedulas = {r[1] for r in sheet.iter_rows(values_only=True)}
    assert {"53000001", "53000002"} <= cedulas and "53000003" not in cedulas
    referrals = client.get(reverse("accounts:referrals_csv"))
    text = b"".join(referrals.streaming_content).decode("utf-8-sig")
    assert "Ana Contacto;53000001;3001110001" in text


def test_the_nightly_refresh_sends_contacts_like_members(mixed):
    _top, member, _sub, _stranger = mixed
    _settle("53000001", days_ago=90)
    _settle(member.cedula, days_ago=90)
    due = set(refresh_due_user_ids(now=timezone.now(), chunk_size=10))
    person = User.objects.get(cedula="53000001")
    assert {person.pk, member.pk} <= due
    assert refresh_due_count(now=timezone.now()) == len(due)


def test_a_leader_may_refresh_their_contact_by_hand_but_not_someone_elses(mixed, monkeypatch):
    from actors import sending

    monkeypatch.setattr(sending, "send_lookup", lambda **kw: None)
    top, *_ = mixed
    client = Client()
    client.force_login(top)
    mine = User.objects.get(cedula="53000001")
    theirs = User.objects.get(cedula="53000003")
    assert client.post(reverse("cedula:refresh-referral", args=[mine.pk])).status_code in (200, 302)
    assert CedulaInfo.objects.get(user=mine).status == CedulaStatus.PENDING
    assert client.post(reverse("cedula:refresh-referral", args=[theirs.pk])).status_code == 404
    assert CedulaInfo.objects.get(user=theirs).status == CedulaStatus.FOUND


def test_a_contact_cannot_be_named_sub_leader(mixed):
    top, *_ = mixed
    client = Client()
    client.force_login(top)
    mine = User.objects.get(cedula="53000001")
    assert (
        client.post(reverse("accounts:sub_leader", args=[mine.pk]), {"accion": "nombrar"}).status_code == 404
    )
    assert User.objects.get(pk=mine.pk).role == User.Role.USER


def test_a_plain_member_sees_no_contacts_of_anyone(mixed):
    _top, member, *_ = mixed
    client = Client()
    client.force_login(member)
    page = client.get(reverse("accounts:referrals")).content.decode()
    assert "Contacto" not in page
