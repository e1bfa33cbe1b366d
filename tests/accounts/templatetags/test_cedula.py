"""What the census card says: only true things, in members' words."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import CedulaChange, CedulaInfo, CedulaStatus
from accounts.services.cedulas import retrying_message
from accounts.templatetags.cedula import next_nightly_retry
from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db
BOGOTA = ZoneInfo("America/Bogota")


def _card(client, user) -> str:
    client.force_login(user)
    return client.get(reverse("cedula:card")).content.decode()


def test_no_puesto_cambio_for_a_member_without_a_puesto(client):
    user = UserFactory()
    now = timezone.now()
    CedulaInfo.objects.filter(user=user).update(
        status=CedulaStatus.NOT_FOUND, result_status=CedulaStatus.NOT_FOUND, changed_at=now, fetched_at=now
    )
    CedulaChange.objects.create(
        user=user, old={"status": "found", "puesto": "COLEGIO"}, new={"status": "not_found", "puesto": ""}
    )
    body = _card(client, user)
    assert "Tu puesto de votación cambió" not in body
    assert "El estado de tu cédula en el censo cambió" in body


def test_a_new_puesto_is_announced(client):
    user = UserFactory()
    now = timezone.now()
    CedulaInfo.objects.filter(user=user).update(
        status=CedulaStatus.FOUND,
        result_status=CedulaStatus.FOUND,
        puesto="NUEVO",
        changed_at=now,
        fetched_at=now,
    )
    CedulaChange.objects.create(user=user, old={"puesto": "VIEJO"}, new={"puesto": "NUEVO"})
    assert "Tu puesto de votación cambió" in _card(client, user)


def test_fuente_uses_members_words_and_an_older_answer_says_so(client):
    user = UserFactory()
    now = timezone.now()
    CedulaInfo.objects.filter(user=user).update(
        status=CedulaStatus.FOUND, result_status=CedulaStatus.FOUND, puesto="P", source="wsp", fetched_at=now
    )
    body = _card(client, user)
    assert "fuente: Registraduría (consulta en línea)" in body
    assert "wsp" not in body.split('data-testid="fuente"')[1].split("</p>")[0]
    # A failure later: the data shown is the earlier answer's, so is its source.
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.ERROR, fetched_at=now)
    body = _card(client, user)
    assert "Datos de una consulta anterior · fuente: Registraduría (consulta en línea)" in body


def test_a_failed_lookup_says_when_the_nightly_refresh_retries_it(client, settings):
    settings.REFRESH_CRON = "30 2 * * *"
    settings.REFRESH_ERROR_AGE_HOURS = 24
    user = UserFactory()
    failed_at = datetime(2026, 12, 1, 10, 0, tzinfo=BOGOTA)
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.ERROR, fetched_at=failed_at)
    info = CedulaInfo.objects.get(user=user)
    retry = next_nightly_retry(info, now=failed_at)
    assert retry == datetime(2026, 12, 3, 2, 30, tzinfo=BOGOTA)  # 2 Dec 02:30 is under 24 h
    CedulaInfo.objects.filter(user=user).update(fetched_at=timezone.now())
    body = _card(client, user)
    assert "Lo intentaremos de nuevo automáticamente hacia las 02:30 del" in body


def test_an_unreadable_answer_promises_no_retry(client):
    user = UserFactory()
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.UNREADABLE, fetched_at=timezone.now())
    assert next_nightly_retry(CedulaInfo.objects.get(user=user)) is None
    body = _card(client, user)
    assert "intentaremos" not in body.lower()


def test_the_retry_message_names_the_local_time():
    at = datetime(2026, 12, 1, 15, 42, tzinfo=ZoneInfo("UTC"))
    assert retrying_message(at) == "La Registraduría no respondió bien; reintentaremos hacia las 10:42."


def test_the_cooldown_notice_counts_down(client):
    user = UserFactory()
    CedulaInfo.objects.filter(user=user).update(
        status=CedulaStatus.FOUND,
        requested_at=timezone.now() - timedelta(seconds=5),
        fetched_at=timezone.now(),
    )
    client.force_login(user)
    body = client.post(reverse("cedula:refresh"), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="cooldown"' in body
    assert "data-countdown-until=" in body
