"""Leaders' Referidos table: census status, live updates, changes since last look, CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import CedulaInfo, CedulaStatus
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def leader_client(client):
    leader = LeaderFactory()
    client.force_login(leader)
    client.leader = leader
    return client


def found(user, **fields):
    values = {
        "status": CedulaStatus.FOUND,
        "departamento": "CONSULADOS",
        "municipio": "ALEMANIA",
        "puesto": "Berlin Consulado",
        "direccion": "Kurfürstendamm 84",
        "mesa": "1",
        "fetched_at": timezone.now(),
        "requested_at": timezone.now() - timedelta(hours=1),
    }
    values.update(fields)
    CedulaInfo.objects.filter(user=user).update(**values)


def test_leader_sees_status_and_voting_place_of_each_referral(leader_client):
    referral = UserFactory(referred_by=leader_client.leader)
    pending = UserFactory(referred_by=leader_client.leader)
    found(referral)
    body = leader_client.get(reverse("accounts:referrals")).content.decode()
    assert "Berlin Consulado" in body
    assert "Puesto encontrado" in body
    assert "En cola" in body
    # Only the in-flight row polls.
    assert body.count('hx-trigger="every 2s"') == 1
    assert reverse("cedula:referral-status", args=[pending.pk]) in body
    assert f'name="ids" value="{referral.pk}"' in body


def test_plain_member_does_not_see_census_columns(logged_client, user):
    referral = UserFactory(referred_by=user)
    found(referral)
    body = logged_client.get(reverse("accounts:referrals")).content.decode()
    assert "Berlin Consulado" not in body
    assert 'name="ids"' not in body


def test_changed_referrals_are_marked_and_filterable_until_seen(leader_client):
    leader = leader_client.leader
    moved = UserFactory(referred_by=leader, nombre_completo="Camila Movida")
    same = UserFactory(referred_by=leader, nombre_completo="Sergio Igual")
    found(moved, changed_at=timezone.now())
    found(same)

    body = leader_client.get(reverse("accounts:referrals")).content.decode()
    assert body.count('data-testid="changed"') == 1

    body = leader_client.get(reverse("accounts:referrals"), {"cambios": "1"}).content.decode()
    assert "Camila Movida" in body
    assert "Sergio Igual" not in body

    leader_client.post(reverse("accounts:referrals_mark_seen"))
    body = leader_client.get(reverse("accounts:referrals"), {"cambios": "1"}).content.decode()
    assert "Camila Movida" not in body
    body = leader_client.get(reverse("accounts:referrals")).content.decode()
    assert 'data-testid="changed"' not in body

    # A later change shows up again.
    CedulaInfo.objects.filter(user=same).update(changed_at=timezone.now() + timedelta(seconds=1))
    body = leader_client.get(reverse("accounts:referrals"), {"cambios": "1"}).content.decode()
    assert "Sergio Igual" in body


def test_changes_stay_marked_during_a_visit_and_clear_at_the_next_one(client):
    leader = LeaderFactory()
    moved = UserFactory(referred_by=leader, nombre_completo="Camila Movida")
    found(moved, changed_at=timezone.now() - timedelta(minutes=5))
    client.force_login(leader)
    for _ in range(2):  # reloading during the same visit keeps the marks
        body = client.get(reverse("accounts:referrals")).content.decode()
        assert 'data-testid="changed"' in body
    leader.refresh_from_db()
    assert leader.referrals_seen_at is not None  # this visit was recorded

    client.logout()
    client.force_login(leader)  # the next visit: nothing changed since the last one
    body = client.get(reverse("accounts:referrals")).content.decode()
    assert 'data-testid="changed"' not in body
    body = client.get(reverse("accounts:referrals"), {"cambios": "1"}).content.decode()
    assert "Camila Movida" not in body


def test_mark_seen_requires_post(leader_client):
    assert leader_client.get(reverse("accounts:referrals_mark_seen")).status_code == 405


def read_csv(response):
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


def test_leader_csv_includes_census_data_and_change_date(leader_client):
    referral = UserFactory(referred_by=leader_client.leader, nombre_completo="Ñoño Díaz")
    changed = timezone.now()
    found(referral, changed_at=changed, direccion="KR 29 # 102 - 20")
    UserFactory(referred_by=leader_client.leader)
    rows = read_csv(leader_client.get(reverse("accounts:referrals_csv")))
    header = rows[0]
    assert header[4:] == [
        "Estado censo",
        "Departamento",
        "Municipio",
        "Zona",
        "Puesto",
        "Dirección",
        "Mesa",
        "Novedad",
        "Consultado el",
        "Último cambio",
    ]
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    row = by_name["Ñoño Díaz"]
    assert row["Estado censo"] == "Puesto encontrado"
    assert row["Puesto"] == "Berlin Consulado"
    assert row["Dirección"] == "KR 29 # 102 - 20"
    assert row["Último cambio"] == timezone.localtime(changed).strftime("%Y-%m-%d %H:%M")
    others = [r for name, r in by_name.items() if name != "Ñoño Díaz"]
    assert others[0]["Estado censo"] == "En cola"
    assert others[0]["Último cambio"] == ""


def test_member_csv_has_no_census_columns(logged_client, user):
    UserFactory(referred_by=user)
    rows = read_csv(logged_client.get(reverse("accounts:referrals_csv")))
    assert rows[0] == ["Nombre completo", "Cédula", "Teléfono", "Fecha de registro"]
