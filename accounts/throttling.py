"""Login throttling: count failed logins per cédula and per client IP in the cache.

A counter starts at the first failure and lives ``LOGIN_THROTTLE_WINDOW_SECONDS``
(a fixed window); once it reaches its limit every attempt is refused until the window
ends, even with the right password. The cédula counter stops password guessing against
one member from many addresses; the IP counter stops one address from trying many
cédulas. The IP limit is separate (``LOGIN_THROTTLE_IP_MAX_FAILURES``) because members
at a rally or an office share one public address.

The cédula is hashed into the cache key so no cache backend ever holds it in clear.
"""

import hashlib
import ipaddress

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_PREFIX = "login-fail"


def _cedula_key(cedula: str) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{cedula}".encode()).hexdigest()[:32]
    return f"{_PREFIX}:cedula:{digest}"


# One IPv6 customer gets at least a /64 (often a /56): counting each address on its own
# would let a client rotate through 2^64 of them. An IPv4 address is its own bucket.
IPV6_PREFIX_LENGTH = 64


def ip_bucket(ip: str) -> str:
    """The unit per-IP limits count: the IPv4 address, or the IPv6 address's /64.

    An IPv4-mapped IPv6 address (``::ffff:1.2.3.4``, what a dual-stack socket shows)
    counts as its IPv4 address. Anything unparsable is its own bucket.
    """
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ip or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX_LENGTH}", strict=False))
    return str(address)


def _ip_key(ip: str) -> str:
    return f"{_PREFIX}:ip:{ip_bucket(ip)}"


def _parse_ip(value: str) -> str | None:
    """A canonical IP from one X-Forwarded-For entry (``ip``, ``ip:port`` or
    ``[ipv6]:port``), or None when it is not an address."""
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's address as the per-IP limits count it.

    With ``TRUSTED_PROXY_COUNT = 0`` this is REMOTE_ADDR and X-Forwarded-For is ignored:
    anyone can write that header, and trusting it would let a client pick a fresh
    address per attempt. Behind N proxies of our own, each appending the address it
    saw, the client is the N-th entry from the right (entries further left are the
    client's own writing). A header with fewer entries, or a non-address where the
    client should be, means the request did not come through the proxies as expected:
    REMOTE_ADDR is used then.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [entry for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if len(forwarded) < hops:
        return remote
    return _parse_ip(forwarded[-hops]) or remote


def _count(key: str) -> int:
    return int(cache.get(key, 0))


def _bump(key: str, window: int | None = None) -> None:
    window = window or settings.LOGIN_THROTTLE_WINDOW_SECONDS
    # add() only sets a missing key, so the window starts at the first event.
    cache.add(key, 0, timeout=window)
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=window)


def login_is_blocked(*, cedula: str, ip: str) -> bool:
    """True when either counter has reached its limit inside the current window."""
    if cedula and _count(_cedula_key(cedula)) >= settings.LOGIN_THROTTLE_MAX_FAILURES:
        return True
    return _count(_ip_key(ip)) >= settings.LOGIN_THROTTLE_IP_MAX_FAILURES


def login_failure_record(*, cedula: str, ip: str) -> None:
    """Count one failed attempt against the cédula (when one was typed) and the IP."""
    if cedula:
        _bump(_cedula_key(cedula))
    _bump(_ip_key(ip))


def login_success_record(*, cedula: str) -> None:
    """A successful login clears the cédula's counter (the IP's keeps counting)."""
    cache.delete(_cedula_key(cedula))


# Every signup starts a paid, rate-limited scrape of the Registraduría, so sign-ups
# from one address are budgeted too (generously: a rally shares one address).
_SIGNUP_PREFIX = "signup"


def signup_is_blocked(*, ip: str) -> bool:
    return _count(f"{_SIGNUP_PREFIX}:ip:{ip_bucket(ip)}") >= settings.SIGNUP_THROTTLE_IP_MAX


def signup_record(*, ip: str) -> None:
    _bump(f"{_SIGNUP_PREFIX}:ip:{ip_bucket(ip)}", settings.SIGNUP_THROTTLE_WINDOW_SECONDS)
