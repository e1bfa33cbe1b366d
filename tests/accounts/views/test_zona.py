"""The zona on the census card, in Referidos and in the CSV export."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import CedulaInfo, CedulaStatus
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db

PLACE = {
    "status": CedulaStatus.FOUND,
    "departamento": "SUCRE",
    "municipio": "SINCELEJO",
    "puesto": "IE SAN JOSE C I P",
    "direccion": "CL 22 No. 10A-380",
    "mesa": "13",
    "source": "eleccionescolombia",
    "fetched_at": timezone.now(),
}


def settle(user, **fields):
    CedulaInfo.objects.filter(user=user).update(**{**PLACE, **fields})


def test_the_card_shows_the_zona_between_municipio_and_puesto(logged_client, user):
    settle(user, zona="03")

    body = logged_client.get(reverse("cedula:card"), HTTP_HX_REQUEST="true").content.decode()

    assert (
        '<dt class="col-12 col-sm-5 col-lg-4">Zona</dt>'
        '<dd class="col-12 col-sm-7 col-lg-8" data-field="zona">03</dd>' in body
    )
    assert (
        body.index('data-field="municipio"')
        < body.index('data-field="zona"')
        < body.index('data-field="puesto"')
    )


def test_the_card_has_no_zona_line_when_the_source_gave_none(logged_client, user):
    settle(user, zona="", source="wsp")

    body = logged_client.get(reverse("cedula:card"), HTTP_HX_REQUEST="true").content.decode()

    assert 'data-field="puesto"' in body and 'data-field="zona"' not in body
    assert ">Zona<" not in body


def test_referidos_shows_each_referrals_zona(client):
    leader = LeaderFactory()
    with_zona = UserFactory(referred_by=leader)
    without = UserFactory(referred_by=leader)
    settle(with_zona, zona="03")
    settle(without, zona="", puesto="COLEGIO SIN ZONA")
    client.force_login(leader)

    body = client.get(reverse("accounts:referrals")).content.decode()

    assert 'SINCELEJO · zona <span data-field="zona">03</span> · IE SAN JOSE C I P · mesa 13' in body
    assert "SINCELEJO · COLEGIO SIN ZONA · mesa 13" in body


def test_the_leaders_csv_exports_the_zona(client):
    leader = LeaderFactory()
    referral = UserFactory(referred_by=leader, nombre_completo="Zoe Zona")
    settle(referral, zona="03")
    client.force_login(leader)

    response = client.get(reverse("accounts:referrals_csv"))

    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert rows[0].index("Zona") == rows[0].index("Municipio") + 1
    assert (row["Municipio"], row["Zona"], row["Puesto"]) == ("SINCELEJO", "03", "IE SAN JOSE C I P")
