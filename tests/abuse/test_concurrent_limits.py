"""Limits hold for parallel requests: threads against the live server (real HTTP, a
threaded server, the real database), as an attacker would send them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import CedulaInfo, CedulaStatus, User
from tests.fixtures.factories import DEFAULT_PASSWORD, LeaderFactory, UserFactory
from tests.fixtures.http import Browser
from tests.fixtures.rows import old

# Signups queue their lookup on the real broker (this run's own queues).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.broker]


def _parallel(count: int, workers: int, fn) -> list:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, range(count)))


def test_thirty_simultaneous_wrong_passwords_for_one_cedula_meet_the_limit(live_server, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 5
    member = UserFactory()
    login = reverse("accounts:login")
    clients = [Browser(live_server.url) for _ in range(30)]
    tokens = [c.token(login) for c in clients]

    def attempt(i: int) -> str:
        clients[i].post(login, {"cedula": member.cedula, "password": f"mala-{i}"}, tokens[i])
        return "x"

    _parallel(30, 30, attempt)
    # The counter took exactly the limit; the right password is refused now.
    right = Browser(live_server.url)
    status = right.post(login, {"cedula": member.cedula, "password": DEFAULT_PASSWORD}, right.token(login))
    assert status == 200, "the right password got through after 30 parallel guesses"
    from accounts.models import RateCounter

    counts = sorted(RateCounter.objects.values_list("count", flat=True))
    print(f"login counters after 30 parallel guesses: {counts}")
    assert max(counts) <= settings.LOGIN_THROTTLE_IP_MAX_FAILURES


def test_forty_signups_from_one_address_eight_at_a_time_stop_at_the_limit(live_server, settings):
    settings.SIGNUP_THROTTLE_IP_MAX = 30
    register = reverse("accounts:register")
    clients = [Browser(live_server.url) for _ in range(40)]
    tokens = [c.token(register) for c in clients]

    def signup(i: int) -> int:
        data = {
            "nombre_completo": "Miembro Concurrente",
            "cedula": str(71_000_000 + i),
            "telefono": "3001234567",
            "password1": "clave-segura-987",
            "password2": "clave-segura-987",
            "accepted_data_policy": "on",
        }
        return clients[i].post(register, data, tokens[i])

    statuses = _parallel(40, 8, signup)
    created = User.objects.filter(cedula__startswith="710000").count()
    print(f"40 parallel signups: created={created} statuses={sorted(statuses)}")
    assert created == 30
    assert statuses.count(429) == 10


def test_seven_simultaneous_bulk_refreshes_spend_the_budget_once(live_server, settings):
    settings.LOOKUP_REFRESH_RATE_LIMIT = 10
    leader = LeaderFactory()
    referrals = [UserFactory(referred_by=leader) for _ in range(70)]
    CedulaInfo.objects.filter(user__in=referrals).update(
        status=CedulaStatus.FOUND, requested_at=old(1), fetched_at=old(1)
    )
    browsers = [Browser(live_server.url) for _ in range(7)]
    login = reverse("accounts:login")
    for b in browsers:
        assert b.post(login, {"cedula": leader.cedula, "password": DEFAULT_PASSWORD}, b.token(login)) == 302
    tokens = [b.token(reverse("accounts:referrals")) for b in browsers]

    def bulk(i: int) -> int:
        ids = [r.pk for r in referrals[i * 10 : (i + 1) * 10]]
        return browsers[i].post(reverse("cedula:refresh-referrals"), {"ids": ids}, tokens[i])

    _parallel(7, 7, bulk)
    queued = CedulaInfo.objects.filter(user__in=referrals, status=CedulaStatus.PENDING).count()
    print(f"7 parallel bulk refreshes with 10 scrapes left: queued={queued}")
    assert queued == 10


def test_rapid_refresh_posts_start_one_lookup_per_cooldown(live_server, settings):
    member = UserFactory()
    CedulaInfo.objects.filter(user=member).update(status=CedulaStatus.FOUND, requested_at=old(1))
    browsers = [Browser(live_server.url) for _ in range(12)]
    login = reverse("accounts:login")
    for b in browsers:
        b.post(login, {"cedula": member.cedula, "password": DEFAULT_PASSWORD}, b.token(login))
    tokens = [b.token(reverse("accounts:home")) for b in browsers]
    before = timezone.now()
    _parallel(12, 12, lambda i: browsers[i].post(reverse("cedula:refresh"), {}, tokens[i]))
    info = CedulaInfo.objects.get(user=member)
    assert info.status == CedulaStatus.PENDING and info.requested_at >= before
    from accounts.counters import counter_value
    from accounts.services.cedulas import _budget_key

    assert counter_value(_budget_key(member)) == 1, "more than one refresh was charged"


def test_parallel_signups_through_a_rally_link_stop_at_its_limit(live_server, settings):
    from datetime import timedelta

    from accounts.models import EventLink

    settings.SIGNUP_EVENT_IP_MAX = 5
    leader = LeaderFactory()
    link = EventLink.objects.create(
        leader=leader, name="Mitin", expires_at=timezone.now() + timedelta(hours=2), max_signups=1000
    )
    register = reverse("accounts:register") + f"?evento={link.token}"
    clients = [Browser(live_server.url) for _ in range(12)]
    tokens = [c.token(register) for c in clients]

    def signup(i: int) -> int:
        data = {
            "nombre_completo": "Asistente del Mitin",
            "cedula": str(72_000_000 + i),
            "telefono": "3001234567",
            "password1": "clave-segura-987",
            "password2": "clave-segura-987",
            "accepted_data_policy": "on",
            "evento": link.token,
        }
        return clients[i].post(register, data, tokens[i])

    statuses = _parallel(12, 6, signup)
    created = User.objects.filter(cedula__startswith="720000")
    print(f"12 parallel rally signups: created={created.count()} statuses={sorted(statuses)}")
    assert created.count() == 5
    assert statuses.count(429) == 7
    assert set(created.values_list("referred_by", flat=True)) == {leader.pk}
    link.refresh_from_db()
    assert link.signups == 5
