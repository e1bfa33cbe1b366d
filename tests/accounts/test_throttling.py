"""Which address the per-IP limits count: REMOTE_ADDR, or X-Forwarded-For behind proxies
the operator declared with TRUSTED_PROXY_COUNT. Hops a client can write are never used."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.forms import THROTTLED_MESSAGE
from accounts.throttling import client_ip
from tests.fixtures.factories import DEFAULT_PASSWORD, UserFactory

LB = "10.0.0.5"  # the load balancer, as Django sees it


def ip_of(remote_addr: str = LB, forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


# --- TRUSTED_PROXY_COUNT = 0 (default): the header is ignored ---------------------------
def test_the_default_trusts_no_proxy(settings):
    assert settings.TRUSTED_PROXY_COUNT == 0


@pytest.mark.parametrize("forwarded", [None, "", "203.0.113.7", "198.51.100.1, 203.0.113.7"])
def test_without_trusted_proxies_the_client_is_remote_addr(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 0
    assert ip_of("192.0.2.10", forwarded) == "192.0.2.10"


# --- TRUSTED_PROXY_COUNT = N ------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        # One load balancer appends the address it saw: the rightmost entry.
        (1, "203.0.113.7", "203.0.113.7"),
        # A client that sends its own header only adds entries on the left.
        (1, "1.1.1.1, 203.0.113.7", "203.0.113.7"),
        (1, "1.1.1.1,2.2.2.2 ,  203.0.113.7", "203.0.113.7"),
        # CDN then load balancer: the second entry from the right.
        (2, "1.1.1.1, 203.0.113.7, 172.16.0.9", "203.0.113.7"),
        # IPv6, and the same address spelled two ways counts once.
        (1, "2001:db8:0:0::1", "2001:db8::1"),
        # Proxies that append the client's port.
        (1, "203.0.113.7:51234", "203.0.113.7"),
        (1, "[2001:db8::1]:443", "2001:db8::1"),
    ],
)
def test_the_client_is_the_nth_address_from_the_right(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert ip_of(LB, forwarded) == expected


@pytest.mark.parametrize(
    ("count", "forwarded"),
    [
        (1, None),  # a request that reached Django without the proxy
        (1, ""),
        (1, " , "),
        (2, "203.0.113.7"),  # fewer hops than configured: the left part is the client's
        (3, "1.1.1.1, 203.0.113.7"),
        (1, "not-an-ip"),  # never a free-form string into a cache key
        (1, "1.1.1.1, 203.0.113.7 garbage"),
    ],
)
def test_falls_back_to_remote_addr_when_the_header_cannot_be_trusted(settings, count, forwarded):
    settings.TRUSTED_PROXY_COUNT = count
    assert ip_of(LB, forwarded) == LB


# --- Through the login view --------------------------------------------------------------
@pytest.fixture
def limits(settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 100  # only the IP limit matters here
    settings.LOGIN_THROTTLE_IP_MAX_FAILURES = 3
    settings.LOGIN_THROTTLE_WINDOW_SECONDS = 600
    return settings


def login(client, cedula, password, forwarded):
    return client.post(
        reverse("accounts:login"),
        {"cedula": cedula, "password": password},
        REMOTE_ADDR=LB,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
def test_behind_the_load_balancer_one_guesser_does_not_block_everyone(client, limits):
    limits.TRUSTED_PROXY_COUNT = 1
    member = UserFactory()
    for n in range(3):
        login(client, str(60_000_000 + n), "mala", "203.0.113.66")
    response = login(client, member.cedula, DEFAULT_PASSWORD, "203.0.113.66")
    assert THROTTLED_MESSAGE in response.content.decode()
    # Another member behind the same load balancer logs in.
    assert login(client, member.cedula, DEFAULT_PASSWORD, "198.51.100.20").status_code == 302


@pytest.mark.django_db
def test_a_spoofed_header_does_not_buy_fresh_attempts(client, limits):
    limits.TRUSTED_PROXY_COUNT = 1
    member = UserFactory()
    for n in range(3):
        # The client writes a new address each time; the load balancer appends the real one.
        login(client, str(60_000_000 + n), "mala", f"9.9.9.{n}, 203.0.113.66")
    response = login(client, member.cedula, DEFAULT_PASSWORD, "9.9.9.200, 203.0.113.66")
    assert THROTTLED_MESSAGE in response.content.decode()


@pytest.mark.django_db
def test_without_trusted_proxies_a_spoofed_header_is_ignored(client, limits):
    limits.TRUSTED_PROXY_COUNT = 0
    member = UserFactory()
    for n in range(3):
        login(client, str(60_000_000 + n), "mala", f"9.9.9.{n}")
    # All counted against REMOTE_ADDR, whatever the header said.
    response = login(client, member.cedula, DEFAULT_PASSWORD, "9.9.9.200")
    assert THROTTLED_MESSAGE in response.content.decode()
