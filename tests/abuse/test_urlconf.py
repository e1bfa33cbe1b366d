"""Every route of the URL conf, enumerated: new endpoints are covered without a new test.

* a POST without a CSRF token is refused (403) everywhere;
* anonymous visitors are sent to a login page (or refused) except on the public pages;
* an endpoint taking a member's id answers a stranger's id exactly like an unknown one
  (404), for members and leaders, and starts nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from accounts.models import CedulaInfo, CedulaStatus, User
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db

# The pages anyone may open. A new public endpoint must be added here on purpose.
PUBLIC = {
    "accounts:register",
    "accounts:login",
    "accounts:logout",
    "accounts:data_policy",
    "health",
    "admin:login",  # the admin's own login form (throttled like the portal's)
    "favicon",
}
# Operational endpoints: public for probes and Prometheus (the reverse proxy keeps them
# internal), served before sessions and CSRF, read-only: they must refuse anything but GET.
OPERATIONAL = {"healthz", "livez", "metrics", "metrics-queues"}
_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    name: str
    route: str  # with <converter:name> placeholders
    params: tuple[str, ...]

    def url(self, value: object = 1) -> str:
        return "/" + _PARAM.sub(lambda _m: str(value), self.route)

    @property
    def is_admin(self) -> bool:
        return self.name.startswith("admin:")


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for entry in patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue  # regex routes: the admin's app index, covered by its own login gate
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, route, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            params = tuple(m.group("name") for m in _PARAM.finditer(route))
            yield Route(name=f"{namespace}{entry.name}", route=route, params=params)


ROUTES = sorted(set(_walk(get_resolver().url_patterns)), key=lambda r: r.name)
PORTAL = [r for r in ROUTES if not r.is_admin]
OBJECT_ROUTES = [r for r in PORTAL if r.params]


def test_the_enumeration_finds_the_portal_routes():
    names = {r.name for r in ROUTES}
    assert {"accounts:home", "accounts:referrals", "cedula:referral-status", "admin:index"} <= names
    assert OBJECT_ROUTES, "no route takes an id: the ownership checks below would prove nothing"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in OPERATIONAL], ids=lambda r: r.name)
def test_a_post_without_csrf_token_is_refused(route):
    client = Client(enforce_csrf_checks=True)
    client.force_login(LeaderFactory(is_staff=True, is_superuser=True))
    response = client.post(route.url(), {"q": "x"})
    assert response.status_code == 403, f"{route.name}: POST without CSRF answered {response.status_code}"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name in OPERATIONAL], ids=lambda r: r.name)
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_operational_endpoints_answer_only_get(route, method):
    response = getattr(Client(enforce_csrf_checks=True), method)(route.url())
    assert response.status_code == 405, f"{route.name}: {method} answered {response.status_code}"


def test_the_operational_endpoints_are_all_known():
    assert {r.name for r in ROUTES} >= OPERATIONAL


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.name not in PUBLIC | OPERATIONAL], ids=lambda r: r.name
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_log_in(route, method):
    response = getattr(Client(), method)(route.url())
    if response.status_code == 302:
        assert "/ingresar/" in response["Location"] or "/admin/login/" in response["Location"], (
            f"{route.name}: anonymous {method} redirected to {response['Location']}"
        )
    else:
        assert response.status_code in (403, 405), (
            f"{route.name}: anonymous {method} got {response.status_code}"
        )


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name in PUBLIC], ids=lambda r: r.name)
def test_public_pages_open_without_a_session(route):
    assert Client().get(route.url()).status_code in (200, 301, 302)


@pytest.fixture
def stranger():
    """A member of another leader's network, with a settled census row."""
    other_leader = LeaderFactory()
    member = UserFactory(referred_by=other_leader)
    CedulaInfo.objects.filter(user=member).update(status=CedulaStatus.FOUND, requested_at=None)
    return member


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize("role", ["user", "leader"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_someone_elses_id_answers_like_an_unknown_id(route, role, method, stranger):
    requester = LeaderFactory() if role == "leader" else UserFactory()
    UserFactory(referred_by=requester)  # requester has a network of their own
    client = Client()
    client.force_login(requester)
    # A form that would act if the id were the requester's (e.g. name a sub-leader).
    data = {"accion": "nombrar"} if method == "post" else {}
    foreign = getattr(client, method)(route.url(stranger.pk), data)
    unknown = getattr(client, method)(route.url(987_654_321), data)
    assert foreign.status_code in (403, 404, 405), f"{route.name} as {role}: {foreign.status_code}"
    assert foreign.status_code == unknown.status_code, (
        f"{route.name} as {role}: {foreign.status_code} for a stranger, {unknown.status_code} for nobody"
    )
    info = CedulaInfo.objects.get(user=stranger)
    assert info.status == CedulaStatus.FOUND, f"{route.name} as {role} started a lookup of a stranger"
    stranger.refresh_from_db()
    assert stranger.role == User.Role.USER, f"{route.name} as {role} changed a stranger's role"
    assert stranger.nombre_completo.encode() not in foreign.content


@pytest.fixture
def leader_without_census_rows():
    """A leader and a referral, neither with a census row (accounts made outside the
    signup flow, imported contacts)."""
    leader = LeaderFactory(is_staff=True, is_superuser=True)
    referral = UserFactory(referred_by=leader)
    CedulaInfo.objects.filter(user__in=[leader, referral]).delete()
    return leader, referral


# The operational endpoints read no member's data (and answer 503 by design when degraded).
@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in OPERATIONAL], ids=lambda r: r.name)
def test_every_page_stands_on_a_missing_census_row(route, leader_without_census_rows):
    leader, referral = leader_without_census_rows
    client = Client(raise_request_exception=False)
    client.force_login(leader)
    for query in ("", "?q=Miembro", f"?q={referral.cedula[:4]}", "?cambios=1"):
        response = client.get(route.url(referral.pk) + query)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        assert response.status_code < 500, f"{route.name}{query}: {response.status_code}"
