import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.selectors.users import REFERRALS_PER_PAGE, user_referrals
from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db

REFERRALS = reverse("accounts:referrals")
CSV_URL = reverse("accounts:referrals_csv")


def make_referrals(leader, count):
    start = timezone.now() - timedelta(days=count)
    return [UserFactory(referred_by=leader, date_joined=start + timedelta(hours=n)) for n in range(count)]


def read_csv(response):
    raw = b"".join(response.streaming_content).decode("utf-8")
    assert raw.startswith("\ufeff")
    return list(csv.reader(io.StringIO(raw[1:]), delimiter=";"))


# --- Selector ------------------------------------------------------------------------
def test_selector_returns_only_own_referrals_newest_first(leader):
    mine = make_referrals(leader, 3)
    UserFactory(referred_by=UserFactory())  # someone else's
    assert list(user_referrals(user=leader)) == list(reversed(mine))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nunez", ["José Núñez Güiza"]),
        ("NÚÑEZ", ["José Núñez Güiza"]),
        ("jose guiza", ["José Núñez Güiza"]),
        ("maria", ["Mariana Ríos", "María Peña"]),
        ("pena", ["María Peña"]),
        ("o'neill", ["Sean O'Neill"]),
        ("zzz", []),
    ],
)
def test_name_search_ignores_case_and_accents(leader, query, expected):
    for name in ["José Núñez Güiza", "María Peña", "Mariana Ríos", "Sean O'Neill"]:
        UserFactory(referred_by=leader, nombre_completo=name)
    assert sorted(u.nombre_completo for u in user_referrals(user=leader, query=query)) == expected


@pytest.mark.parametrize("query", ["71234567", "71.234.567", "71 234 567", "234.5"])
def test_cedula_search_accepts_formatted_input(leader, query):
    UserFactory(referred_by=leader, cedula="71234567")
    UserFactory(referred_by=leader, cedula="80000000")
    assert [u.cedula for u in user_referrals(user=leader, query=query)] == ["71234567"]


# --- List page -----------------------------------------------------------------------
def test_list_shows_own_referrals_with_formatted_data(logged_client, user):
    UserFactory(referred_by=user, nombre_completo="Ana Peña", cedula="71234567", telefono="3001234567")
    stranger = UserFactory(referred_by=UserFactory(), nombre_completo="Pedro Ajeno")
    body = logged_client.get(REFERRALS).content.decode()
    assert "Ana Peña" in body
    assert "71.234.567" in body
    assert "300 123 4567" in body
    assert stranger.nombre_completo not in body


def test_empty_list_explains_how_to_invite(logged_client):
    body = logged_client.get(REFERRALS).content.decode()
    assert "Aún no tienes referidos" in body


def test_list_is_paginated_by_fifty(logged_client, user):
    make_referrals(user, REFERRALS_PER_PAGE + 3)
    first = logged_client.get(REFERRALS)
    assert len(first.context["page"].object_list) == REFERRALS_PER_PAGE
    assert "Página 1 de 2" in first.content.decode()
    second = logged_client.get(REFERRALS, {"page": 2})
    assert len(second.context["page"].object_list) == 3


@pytest.mark.parametrize("page", ["abc", "-1", "0", "999999", "1.5", "", "%00", "1" * 400])
def test_junk_page_numbers_never_fail(logged_client, user, page):
    make_referrals(user, 2)
    response = logged_client.get(REFERRALS, {"page": page})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 2


@pytest.mark.parametrize("query", ["\x00", "x" * 5000, "%", "_", "' OR 1=1 --", "🙂"])
def test_junk_queries_never_fail(logged_client, user, query):
    make_referrals(user, 1)
    assert logged_client.get(REFERRALS, {"q": query}).status_code == 200
    assert logged_client.get(CSV_URL, {"q": query}).status_code == 200


def test_search_keeps_the_query_in_pagination_links(logged_client, user):
    for n in range(REFERRALS_PER_PAGE + 1):
        UserFactory(referred_by=user, nombre_completo=f"Lucía Prueba {chr(97 + n % 26)}")
    body = logged_client.get(REFERRALS, {"q": "lucia"}).content.decode()
    assert "?q=lucia&amp;page=2" in body


def test_list_query_count_does_not_grow_with_rows(logged_client, user):
    make_referrals(user, 3)
    logged_client.get(REFERRALS)  # the session's first visit also records the visit
    with CaptureQueriesContext(connection) as few:
        logged_client.get(REFERRALS)
    make_referrals(user, 30)
    with CaptureQueriesContext(connection) as many:
        logged_client.get(REFERRALS)
    assert len(many) == len(few)


# --- CSV -----------------------------------------------------------------------------
def test_csv_has_bom_header_accents_and_only_own_referrals(logged_client, user):
    UserFactory(referred_by=user, nombre_completo="José Núñez", cedula="71234567", telefono="6012345678")
    UserFactory(referred_by=UserFactory(), nombre_completo="Pedro Ajeno")
    response = logged_client.get(CSV_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="referidos-')
    rows = read_csv(response)
    assert rows[0] == ["Nombre completo", "Cédula", "Teléfono", "Fecha de registro"]
    assert rows[1][:3] == ["José Núñez", "71234567", "6012345678"]
    assert len(rows) == 2


def test_csv_applies_the_search_filter(logged_client, user):
    UserFactory(referred_by=user, nombre_completo="José Núñez")
    UserFactory(referred_by=user, nombre_completo="Ana Peña")
    rows = read_csv(logged_client.get(CSV_URL, {"q": "nunez"}))
    assert [row[0] for row in rows[1:]] == ["José Núñez"]


def test_csv_neutralises_formula_injection(logged_client, user):
    # Names are validated, but rows written by an operator (admin, shell) might not be.
    for name in ['=HYPERLINK("http://x")', "+57 cmd", "-2+3", "@SUM(A1)"]:
        UserFactory(referred_by=user, nombre_completo=name)
    rows = read_csv(logged_client.get(CSV_URL))
    assert sorted(row[0] for row in rows[1:]) == sorted(
        ['\'=HYPERLINK("http://x")', "'+57 cmd", "'-2+3", "'@SUM(A1)"]
    )


def test_csv_dates_are_in_bogota_time(logged_client, user):
    from datetime import UTC, datetime

    UserFactory(referred_by=user, date_joined=datetime(2026, 3, 1, 2, 30, tzinfo=UTC))
    rows = read_csv(logged_client.get(CSV_URL))
    assert rows[1][3] == "2026-02-28 21:30"
