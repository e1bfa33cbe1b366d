"""Census card and refresh endpoints: ownership, cooldown, in-flight refusal, CSRF, htmx."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, CedulaInfo, CedulaStatus
from accounts.services.cedulas import QUEUE_REFRESH
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db


def settle(user, **fields) -> CedulaInfo:
    """Put the member's row in a final state, as if a lookup had finished an hour ago."""
    defaults = {
        "status": CedulaStatus.FOUND,
        "departamento": "NARIÑO",
        "municipio": "PASTO",
        "puesto": "IE LICEO CENTRAL",
        "direccion": "CL 18 # 25 - 30",
        "mesa": "7",
        "source": "wsp",
        "message": "Este es tu puesto de votación según la Registraduría.",
        "requested_at": timezone.now() - timedelta(hours=1),
        "fetched_at": timezone.now() - timedelta(minutes=3),
    }
    defaults.update(fields)
    CedulaInfo.objects.filter(user=user).update(**defaults)
    return CedulaInfo.objects.get(user=user)


def test_home_shows_the_voting_place_and_when_it_was_checked(logged_client, user):
    settle(user)
    body = logged_client.get(reverse("accounts:home")).content.decode()
    assert "IE LICEO CENTRAL" in body
    assert "NARIÑO" in body
    assert "Consultado hace 3" in body
    assert "maps/search" in body
    assert 'hx-trigger="every 2s"' not in body  # final state: no polling


def test_card_polls_while_the_lookup_is_in_flight(logged_client, user):
    body = logged_client.get(reverse("cedula:card"), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in body
    assert "En cola" in body


@pytest.mark.parametrize("status", sorted(CedulaStatus.final()))
def test_card_has_a_spanish_text_for_every_final_state(logged_client, user, status):
    from accounts.services.cedulas import STATUS_MESSAGES

    settle(user, status=status, message=STATUS_MESSAGES[status])
    body = logged_client.get(reverse("cedula:card")).content.decode()
    assert CedulaStatus(status).label in body
    assert STATUS_MESSAGES[status] in body


def test_card_announces_a_changed_voting_place(logged_client, user):
    from accounts.models import CedulaChange

    info = settle(user, changed_at=timezone.now())
    CedulaChange.objects.create(
        user=user, changed_at=info.changed_at, old={"puesto": "A"}, new={"puesto": "B"}
    )
    body = logged_client.get(reverse("accounts:home")).content.decode()
    assert "Tu puesto de votación cambió el" in body


def test_refresh_own_row_is_accepted_then_refused_during_cooldown(logged_client, user):
    settle(user)
    response = logged_client.post(reverse("cedula:refresh"), follow=True)
    assert response.status_code == 200
    assert "Consulta enviada" in response.content.decode()
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.PENDING

    settle(user, requested_at=timezone.now() - timedelta(seconds=5))
    response = logged_client.post(reverse("cedula:refresh"), follow=True)
    assert "Podrás actualizar de nuevo en" in response.content.decode()
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.FOUND


def test_refresh_is_refused_while_in_flight_with_htmx(logged_client, user):
    response = logged_client.post(reverse("cedula:refresh"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="cedula-card"' in body
    assert "Ya hay una consulta en curso" in body


def test_refresh_requires_post(logged_client):
    assert logged_client.get(reverse("cedula:refresh")).status_code == 405


def test_refresh_without_csrf_token_is_forbidden(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("cedula:refresh")).status_code == 403


def test_refresh_requires_login(client):
    response = client.post(reverse("cedula:refresh"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response.url


def test_leader_refreshes_own_referral(client):
    leader = LeaderFactory()
    referral = UserFactory(referred_by=leader)
    settle(referral)
    client.force_login(leader)
    response = client.post(reverse("cedula:refresh-referral", args=[referral.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Consulta enviada" in response.content.decode()
    assert CedulaInfo.objects.get(user=referral).status == CedulaStatus.PENDING


def test_leader_gets_the_same_404_for_someone_elses_member_and_an_unknown_id(client):
    leader = LeaderFactory()
    stranger = UserFactory()
    settle(stranger)
    client.force_login(leader)
    # Told apart, the two answers would let anyone count the members by id.
    assert client.post(reverse("cedula:refresh-referral", args=[stranger.pk])).status_code == 404
    assert client.get(reverse("cedula:referral-status", args=[stranger.pk])).status_code == 404
    assert client.post(reverse("cedula:refresh-referral", args=[99999999])).status_code == 404
    assert client.get(reverse("cedula:referral-status", args=[99999999])).status_code == 404
    assert CedulaInfo.objects.get(user=stranger).status == CedulaStatus.FOUND


def test_plain_member_cannot_refresh_their_referral(client):
    member = UserFactory()
    referral = UserFactory(referred_by=member)
    client.force_login(member)
    assert client.post(reverse("cedula:refresh-referral", args=[referral.pk])).status_code == 404


def test_bulk_refresh_reports_refreshed_and_skipped(client):
    leader = LeaderFactory()
    ready = [UserFactory(referred_by=leader) for _ in range(3)]
    busy = UserFactory(referred_by=leader)  # still pending from signup
    for referral in ready:
        settle(referral)
    client.force_login(leader)
    response = client.post(
        reverse("cedula:refresh-referrals"), {"ids": [r.pk for r in [*ready, busy]]}, follow=True
    )
    assert "Enviamos 3 consultas a la cola de actualización. Omitimos 1: 1 ya estaba en consulta." in (
        response.content.decode()
    )
    assert set(CedulaInfo.objects.filter(user__in=ready).values_list("queue", flat=True)) == {QUEUE_REFRESH}
    entry = AuditEntry.objects.get(action=AuditEntry.Action.BULK_REFRESH)
    assert (entry.actor, entry.row_count, entry.target) == (leader, 4, f"referrals of user:{leader.pk}")


def test_bulk_refresh_refuses_more_than_ten(client):
    leader = LeaderFactory()
    referrals = [UserFactory(referred_by=leader) for _ in range(11)]
    for referral in referrals:
        settle(referral)
    client.force_login(leader)
    response = client.post(
        reverse("cedula:refresh-referrals"), {"ids": [r.pk for r in referrals]}, follow=True
    )
    assert "hasta 10 referidos" in response.content.decode()
    assert not CedulaInfo.objects.filter(user__in=referrals, status=CedulaStatus.PENDING).exists()


def test_bulk_refresh_with_someone_elses_member_is_not_found(client):
    leader = LeaderFactory()
    mine = UserFactory(referred_by=leader)
    stranger = UserFactory()
    settle(mine)
    settle(stranger)
    client.force_login(leader)
    response = client.post(reverse("cedula:refresh-referrals"), {"ids": [mine.pk, stranger.pk]})
    assert response.status_code == 404
    assert not CedulaInfo.objects.filter(user__in=[mine, stranger], status=CedulaStatus.PENDING).exists()


def test_bulk_refresh_with_junk_ids_gives_a_message_not_a_500(client):
    leader = LeaderFactory()
    client.force_login(leader)
    response = client.post(reverse("cedula:refresh-referrals"), {"ids": ["abc", "1;DROP"]}, follow=True)
    assert response.status_code == 200
    assert "Selecciona al menos un referido" in response.content.decode()


def test_referral_status_partial_polls_while_in_flight(client):
    leader = LeaderFactory()
    referral = UserFactory(referred_by=leader)
    client.force_login(leader)
    body = client.get(reverse("cedula:referral-status", args=[referral.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in body
    settle(referral)
    body = client.get(reverse("cedula:referral-status", args=[referral.pk])).content.decode()
    assert 'hx-trigger="every 2s"' not in body
    assert "IE LICEO CENTRAL" in body


def test_card_says_a_moment_ago_for_a_fresh_lookup(logged_client, user):
    settle(user, fetched_at=timezone.now())
    body = logged_client.get(reverse("cedula:card")).content.decode()
    assert "Consultado hace un momento" in body


def test_bulk_refresh_with_an_unknown_id_is_404(client):
    leader = LeaderFactory()
    mine = UserFactory(referred_by=leader)
    client.force_login(leader)
    response = client.post(reverse("cedula:refresh-referrals"), {"ids": [mine.pk, 99999999]})
    assert response.status_code == 404


def test_nightly_refresh_keeps_showing_the_last_answer_and_polls_slowly(logged_client, user):
    from accounts.services.cedulas import QUEUE_REFRESH

    settle(user, result_status=CedulaStatus.FOUND)
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.PENDING, queue=QUEUE_REFRESH)
    body = logged_client.get(reverse("cedula:card")).content.decode()
    assert 'data-status="found"' in body
    assert "IE LICEO CENTRAL" in body
    assert 'data-testid="scheduled"' in body
    assert 'hx-trigger="every 30s"' in body
    assert "disabled" not in body  # the member may ask for it now

    response = logged_client.post(reverse("cedula:refresh"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Consulta enviada" in body
    assert 'hx-trigger="every 2s"' in body  # now it is the member's own request
    assert CedulaInfo.objects.get(user=user).queue.endswith("lookups")


def test_leader_sees_a_referral_in_the_nightly_refresh_with_its_last_answer(client):
    from accounts.services.cedulas import QUEUE_REFRESH

    leader = LeaderFactory()
    referral = UserFactory(referred_by=leader)
    settle(referral, result_status=CedulaStatus.FOUND)
    CedulaInfo.objects.filter(user=referral).update(status=CedulaStatus.PENDING, queue=QUEUE_REFRESH)
    client.force_login(leader)
    body = client.get(reverse("cedula:referral-status", args=[referral.pk])).content.decode()
    assert "Puesto encontrado" in body
    assert "actualizando" in body
    assert 'hx-trigger="every 30s"' in body
