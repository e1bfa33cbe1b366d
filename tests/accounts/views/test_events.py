"""Rally links: a leader opens one (logged); a crowd on one address signs up past the
general limit while it lasts; the link's own limit and expiry still stop a flood."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, EventLink, User
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db


def signup(client, n, *, evento=""):
    client.logout()
    return client.post(
        reverse("accounts:register") + (f"?evento={evento}" if evento else ""),
        {
            "nombre_completo": "Persona del Evento",
            "cedula": str(54_000_000 + n),
            "telefono": "3001234567",
            "password1": "Caracol-Azul-2026",
            "password2": "Caracol-Azul-2026",
            "accepted_data_policy": "on",
        },
    )


def open_link(client, leader, hours=3) -> EventLink:
    client.force_login(leader)
    response = client.post(reverse("accounts:event_links"), {"name": "Mitin en la plaza", "hours": hours})
    assert response.status_code == 302
    return EventLink.objects.get(leader=leader)


def test_a_leader_opens_an_event_link_and_it_is_logged(client):
    leader = LeaderFactory()
    link = open_link(client, leader)
    assert timedelta(hours=2, minutes=59) < link.expires_at - timezone.now() <= timedelta(hours=3)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EVENT_LINK_OPENED)
    assert (entry.actor, entry.target) == (leader, f"eventlink:{link.pk}")
    page = client.get(reverse("accounts:event_links")).content.decode()
    assert f"evento={link.token}" in page and f"ref={leader.referral_code}" in page


def test_members_cannot_open_event_links_and_hours_are_bounded(client, settings):
    client.force_login(UserFactory())
    assert client.post(reverse("accounts:event_links"), {"name": "x", "hours": 2}).status_code == 403
    settings.EVENT_LINK_MAX_HOURS = 6
    client.force_login(LeaderFactory())
    response = client.post(reverse("accounts:event_links"), {"name": "Mitin", "hours": 48})
    assert response.status_code == 200
    assert "Escribe un número menor o igual a 6." in response.content.decode()
    assert not EventLink.objects.exists()


def test_the_event_link_lifts_the_per_ip_limit_and_credits_the_leader(client, settings):
    settings.SIGNUP_THROTTLE_IP_MAX = 2
    settings.SIGNUP_EVENT_IP_MAX = 5
    leader = LeaderFactory()
    link = open_link(client, leader)
    for n in range(5):
        assert signup(client, n, evento=link.token).status_code == 302, n
    assert User.objects.filter(referred_by=leader).count() == 5
    link.refresh_from_db()
    assert link.signups == 5
    # The event's own per-IP limit still stops a flood through the link...
    assert signup(client, 5, evento=link.token).status_code == 429
    # ...and without it the general limit is untouched by the event's sign-ups.
    assert signup(client, 6).status_code == 302
    assert signup(client, 7).status_code == 302
    assert signup(client, 8).status_code == 429


def test_an_expired_or_full_link_falls_back_to_the_general_limit(client, settings):
    settings.SIGNUP_THROTTLE_IP_MAX = 1
    leader = LeaderFactory()
    link = open_link(client, leader)
    EventLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert signup(client, 10, evento=link.token).status_code == 302
    assert signup(client, 11, evento=link.token).status_code == 429
    EventLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() + timedelta(hours=1), max_signups=0)
    assert signup(client, 12, evento=link.token).status_code == 429
    assert signup(client, 13, evento="junk").status_code == 429
