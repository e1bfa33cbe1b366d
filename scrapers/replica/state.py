"""The replica's mutable state: fault switches, request counters and PHP-like sessions.

Every object here is shared by the server's handler threads, so each guards itself with a lock.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass

# Switch kinds. A "count" switch is off (False), always on (True) or on for the next N matching
# requests (an int that counts down to off).
COUNT_SWITCHES = (
    "hang",
    "hang_get",
    "hang_post",
    "get_500",
    "waf",
    "reload",
    "upstream_timeout",
    "maintenance",
    "captcha_reject",
    "captcha_fail",
    "consultacenso_down",
    "consultacenso_waf",
    "consultacenso_captcha_reject",
    # eleccionescolombia: its page and its API, the same faults as wsp's.
    "ec_hang",
    "ec_hang_get",
    "ec_hang_post",
    "ec_get_500",
    "ec_waf",
    "ec_down",
    "ec_captcha_reject",
    "ec_upstream_timeout",
    "ec_maintenance",
    # The 2captcha stand-in's account errors, answered by in.php (docs/replica.md).
    "captcha_zero_balance",
    "captcha_no_slot",
    "captcha_bad_key",
)
SECONDS_SWITCHES = ("latency", "captcha_delay", "lookup_hold", "token_lifetime")
# Non-negative integers: how many times every page's sitekey has been rotated (0: the real keys).
INT_SWITCHES = ("sitekey_rotation",)
BOOL_SWITCHES = ("waf_headless", "secure_cookies")
TEXT_SWITCHES = ("captcha_key",)
# A switch that takes one of a few words: which reCAPTCHA the eleccionescolombia page shows.
CHOICE_SWITCHES = {"ec_captcha": ("v2", "v3")}
# Text switches that may be "" (off): a cédula whose lookups hang on every source, and a
# text that replaces a found citizen's voting place (markup tests: what a scraper reads).
OPTIONAL_TEXT_SWITCHES = ("hang_nuip", "place_text")

DEFAULT_CAPTCHA_KEY = "replica-key"


def default_switches() -> dict[str, object]:
    """The built-in defaults (the CLI may override some of them at start)."""
    switches: dict[str, object] = dict.fromkeys(COUNT_SWITCHES, False)
    switches.update(
        latency=0.0,
        captcha_delay=0.5,
        lookup_hold=0.0,
        token_lifetime=120.0,
        sitekey_rotation=0,
        waf_headless=True,
        secure_cookies=True,
        captcha_key=DEFAULT_CAPTCHA_KEY,
        ec_captcha="v2",
    )
    switches.update(dict.fromkeys(OPTIONAL_TEXT_SWITCHES, ""))
    return switches


class SwitchError(ValueError):
    """A switch name or value the control endpoint cannot accept."""


def coerce_switch(name: str, value: object) -> object:
    """Validate ``value`` for switch ``name`` and return it in canonical form (raises SwitchError)."""
    if name in COUNT_SWITCHES:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value >= 0:
            return value or False
        raise SwitchError(f"{name}: expected false, true or a non-negative integer, got {value!r}")
    if name in SECONDS_SWITCHES:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value > 3600:
            raise SwitchError(f"{name}: expected seconds between 0 and 3600, got {value!r}")
        return float(value)
    if name in INT_SWITCHES:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 99_999:
            raise SwitchError(f"{name}: expected an integer between 0 and 99999, got {value!r}")
        return value
    if name in BOOL_SWITCHES:
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        raise SwitchError(f"{name}: expected true or false, got {value!r}")
    if name in TEXT_SWITCHES:
        if isinstance(value, str) and value:
            return value
        raise SwitchError(f"{name}: expected a non-empty string, got {value!r}")
    if name in CHOICE_SWITCHES:
        if value in CHOICE_SWITCHES[name]:
            return value
        raise SwitchError(f"{name}: expected one of {', '.join(CHOICE_SWITCHES[name])}, got {value!r}")
    if name in OPTIONAL_TEXT_SWITCHES:
        if isinstance(value, str) and len(value) <= 2000:
            return value
        raise SwitchError(f'{name}: expected a string ("" for off), got {value!r}')
    raise SwitchError(f"unknown switch: {name!r}")


class Switchboard:
    """Fault switches, set through ``/__control__``; ``reset`` returns to the start-up values."""

    def __init__(self, initial: dict[str, object] | None = None) -> None:
        self._lock = threading.Lock()
        self._defaults = default_switches()
        for name, value in (initial or {}).items():
            self._defaults[name] = coerce_switch(name, value)
        self._values = dict(self._defaults)

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return dict(self._values)

    def update(self, changes: dict[str, object]) -> dict[str, object]:
        """Apply all of ``changes`` or none of them (raises SwitchError on the first bad one)."""
        coerced = {name: coerce_switch(name, value) for name, value in changes.items()}
        with self._lock:
            self._values.update(coerced)
            return dict(self._values)

    def reset(self) -> dict[str, object]:
        with self._lock:
            self._values = dict(self._defaults)
            return dict(self._values)

    def value(self, name: str) -> object:
        with self._lock:
            return self._values[name]

    def take(self, *names: str) -> bool:
        """True when one of the count switches ``names`` fires for this request (and count it down).

        Only the first switch that is on is consumed, so ``hang=1`` plus ``hang_post=1`` needs two
        requests to be used up.
        """
        with self._lock:
            for name in names:
                current = self._values[name]
                if current is True:
                    return True
                if isinstance(current, int) and current > 0:
                    self._values[name] = current - 1 or False
                    return True
            return False


class Stats:
    """Counters for tests and benchmarks: requests per method+path, captcha events, lookups per cédula."""

    _MAX_PATHS = 200  # distinct paths counted one by one; the rest share one bucket
    _MAX_TIMES = 5000  # arrival times kept per method+path (the newest), for rate checks

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._times: dict[str, deque[float]] = {}
            self._captcha: Counter[str] = Counter()
            self._outcomes: Counter[str] = Counter()
            self._lookups: Counter[str] = Counter()
            self._by_source: dict[str, Counter[str]] = {
                source: Counter() for source in ("wsp", "consultacenso", "eleccionescolombia")
            }
            # Per cédula: lookups being answered right now, and the most at once.
            self._in_flight: Counter[str] = Counter()
            self._max_in_flight: Counter[str] = Counter()
            self._started = time.time()

    def request(self, method: str, path: str) -> None:
        key = f"{method} {path}"
        with self._lock:
            if key not in self._requests and len(self._requests) >= self._MAX_PATHS:
                key = f"{method} (other)"
            self._requests[key] += 1
            self._times.setdefault(key, deque(maxlen=self._MAX_TIMES)).append(time.time())

    def captcha(self, event: str) -> None:
        with self._lock:
            self._captcha[event] += 1

    def outcome(self, source: str, outcome: str) -> None:
        with self._lock:
            self._outcomes[f"{source}:{outcome}"] += 1

    def lookup(self, source: str, nuip: str) -> None:
        with self._lock:
            self._lookups[nuip] += 1
            self._by_source[source][nuip] += 1

    def lookup_started(self, nuip: str) -> None:
        """A lookup request for ``nuip`` is being handled (paired with ``lookup_ended``)."""
        with self._lock:
            self._in_flight[nuip] += 1
            self._max_in_flight[nuip] = max(self._max_in_flight[nuip], self._in_flight[nuip])

    def lookup_ended(self, nuip: str) -> None:
        with self._lock:
            self._in_flight[nuip] -= 1

    def hits(self) -> dict[str, list[float]]:
        """When each request arrived (epoch seconds), per ``"METHOD /path"``: what a fleet-wide
        rate limit is checked against (``GET /__control__/hits``)."""
        with self._lock:
            return {key: list(times) for key, times in self._times.items()}

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                # Only cédulas looked up more than once at the same moment.
                "concurrent_lookups": {nuip: n for nuip, n in self._max_in_flight.items() if n > 1},
                "requests": dict(self._requests),
                "captcha": dict(self._captcha),
                "outcomes": dict(self._outcomes),
                "lookups": dict(self._lookups),
                "lookups_by_source": {source: dict(c) for source, c in self._by_source.items()},
                "lookups_total": sum(self._lookups.values()),
                "since": self._started,
            }


@dataclass
class Session:
    token: str
    touched: float


class SessionStore:
    """PHP-like sessions keyed by the ``PHPSESSID`` cookie, each holding the page's current nonce.

    Like ``$_SESSION['token'] = bin2hex(random_bytes(16))`` on every page load: only the latest
    nonce of a session is valid, a page load replaces it, and a POST does not consume it. Sessions
    idle longer than PHP's default ``gc_maxlifetime`` (1440 s) are gone.
    """

    LIFETIME = 1440.0
    MAX_SESSIONS = 50_000
    _SID_ALPHABET = string.ascii_lowercase + string.digits

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def new_page(self, sid: str | None) -> tuple[str, str, bool]:
        """Issue a fresh nonce for session ``sid`` (created if unknown); returns (sid, token, created)."""
        token = secrets.token_hex(16)
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            created = sid is None or sid not in self._sessions
            if created:
                sid = "".join(secrets.choice(self._SID_ALPHABET) for _ in range(26))
            self._sessions[sid] = Session(token=token, touched=now)
            self._sessions.move_to_end(sid)
        return sid, token, created

    def check(self, sid: str | None, token: str | None) -> bool:
        """True when ``token`` is the current nonce of the live session ``sid``."""
        if not sid or not token:
            return False
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            session = self._sessions.get(sid)
            if session is None or not secrets.compare_digest(session.token, token):
                return False
            session.touched = now
            self._sessions.move_to_end(sid)
            return True

    def expire(self, sid: str) -> None:
        """Forget one session (tests use it to imitate PHP's garbage collection)."""
        with self._lock:
            self._sessions.pop(sid, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _expire(self, now: float) -> None:
        while self._sessions:
            sid, oldest = next(iter(self._sessions.items()))
            if now - oldest.touched < self.LIFETIME and len(self._sessions) < self.MAX_SESSIONS:
                break
            del self._sessions[sid]
