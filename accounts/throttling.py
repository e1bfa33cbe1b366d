"""Throttles on the public doors: login attempts, signups per address, membership answers.

Counters are atomic database rows (accounts/counters.py), each a fixed window that
starts at the first hit. Login attempts are counted per cédula and client, per
cédula alone (a softer ceiling) and per client alone (``login_attempt_begin``); the
IP limit is higher because members at a rally or an office share one public address.

The cédula is hashed into the counter key so no table ever holds it in clear.
"""

import hashlib
import ipaddress

from django.conf import settings
from django.http import HttpRequest

from accounts.counters import counter_clear, counter_hit, counter_refund, counter_value

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


def _pair_key(cedula: str, ip: str) -> str:
    return f"{_cedula_key(cedula)}:ip:{ip_bucket(ip)}"


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


def login_attempt_begin(*, cedula: str, ip: str) -> bool:
    """Reserve one login attempt; False (nothing reserved) while any limit is reached.

    Attempts are counted *before* the password is checked, atomically
    (accounts/counters.py), so parallel guesses cannot all slip under the limit;
    a success gives its attempt back (``login_success_record``). Three counters:

    * cédula + client: ``LOGIN_THROTTLE_MAX_FAILURES`` — the lock a guesser meets;
      it is keyed on the client too, so a stranger's guesses never lock the
      member out of their own phone;
    * cédula alone: ``LOGIN_THROTTLE_CEDULA_MAX_FAILURES``, a softer ceiling for
      guessing one member's password from many addresses;
    * client alone: ``LOGIN_THROTTLE_IP_MAX_FAILURES``, one address trying many cédulas.
    """
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    limits = [(_ip_key(ip), settings.LOGIN_THROTTLE_IP_MAX_FAILURES)]
    if cedula:
        limits += [
            (_pair_key(cedula, ip), settings.LOGIN_THROTTLE_MAX_FAILURES),
            (_cedula_key(cedula), settings.LOGIN_THROTTLE_CEDULA_MAX_FAILURES),
        ]
    taken: list[str] = []
    for key, limit in limits:
        if counter_hit(key, window=window, limit=limit) is None:
            for done in taken:
                counter_refund(done)
            return False
        taken.append(key)
    return True


def login_is_blocked(*, cedula: str, ip: str) -> bool:
    """True when a limit is reached for this cédula and client (read only)."""
    if counter_value(_ip_key(ip)) >= settings.LOGIN_THROTTLE_IP_MAX_FAILURES:
        return True
    if not cedula:
        return False
    return (
        counter_value(_pair_key(cedula, ip)) >= settings.LOGIN_THROTTLE_MAX_FAILURES
        or counter_value(_cedula_key(cedula)) >= settings.LOGIN_THROTTLE_CEDULA_MAX_FAILURES
    )


def login_success_record(*, cedula: str, ip: str) -> None:
    """The right password clears the cédula's counters; the client's attempt is given back."""
    counter_clear(_pair_key(cedula, ip))
    counter_clear(_cedula_key(cedula))
    counter_refund(_ip_key(ip))


# Every signup starts a paid, rate-limited scrape of the Registraduría, so sign-ups
# from one address are budgeted too (generously: a rally shares one address).
def _signup_key(ip: str) -> str:
    return f"signup:ip:{ip_bucket(ip)}"


def signup_reserve(*, ip: str) -> bool:
    """Reserve one signup for this address; False when the budget is spent.

    Reserved before the account is created (so parallel signups cannot overrun
    it); ``signup_release`` gives it back when the signup did not happen.
    """
    window, limit = settings.SIGNUP_THROTTLE_WINDOW_SECONDS, settings.SIGNUP_THROTTLE_IP_MAX
    return counter_hit(_signup_key(ip), window=window, limit=limit) is not None


def signup_release(*, ip: str) -> None:
    counter_refund(_signup_key(ip))


# Replies that say "this cédula already has an account" tell a stranger who is a
# member: they are counted per address like failed logins.
def _probe_key(ip: str) -> str:
    return f"signup-probe:ip:{ip_bucket(ip)}"


def membership_probe_allowed(*, ip: str) -> bool:
    """Count one "cédula taken" answer for this address; False once over the limit."""
    key = _probe_key(ip)
    window, limit = settings.LOGIN_THROTTLE_WINDOW_SECONDS, settings.SIGNUP_PROBE_IP_MAX
    return counter_hit(key, window=window, limit=limit) is not None
