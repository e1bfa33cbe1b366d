"""reCAPTCHA tokens and the 2captcha stand-in.

The replica plays both Google (it issues and verifies tokens) and 2captcha (it "solves" captchas
after a delay). A token is HMAC-signed with a per-process secret, names the sitekey it was solved
for and its expiry, and, like Google's, verifies once: a second POST with the same token fails.
Tokens use only ``[0-9a-z._]``, so they never contain ``ERROR`` (the official 2captcha client
treats any reply containing that word as a failure).

Tokens expire ``token_lifetime`` seconds after the solve (120 s like Google's; the switch of that
name shortens it for tests) and are bound to the sitekey they were solved for: a site whose sitekey
was rotated (the ``sitekey_rotation`` switch, :func:`current_sitekey`) refuses tokens solved for
the old one, as Google does.

A token is a v2 one (the checkbox: prefix ``03r``) or a v3 one (``grecaptcha.execute``: prefix
``03v`` plus the score in tenths, e.g. ``03v9`` for 0.9). A site in v3 mode asks for a v3 token
with at least its minimum score; a v2 site refuses v3 tokens, and the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass

TOKEN_LIFETIME = 120.0  # seconds; Google's tokens live about two minutes
WSP_SITEKEY = "6LcthjAgAAAAAFIQLxy52074zanHv47cIvmIHglH"
CONSULTACENSO_SITEKEY = "6LeLRw0tAAAAAOfUZZ34vi2KKHjukhLhQ5lfzuLM"
ELECCIONESCOLOMBIA_SITEKEY = "6Lc9DmgrAAAAAJAjWVhjDy1KSgqzqJikY5z7I9SV"
KNOWN_SITEKEYS = (WSP_SITEKEY, CONSULTACENSO_SITEKEY, ELECCIONESCOLOMBIA_SITEKEY)
# What the solving service delivers for v3 (2captcha: more than 0.3 is "almost impossible"),
# what Google gives a browser under automation, and what it gives a person.
SOLVER_V3_SCORE = 0.3
AUTOMATION_V3_SCORE = 0.1
PERSON_V3_SCORE = 0.9


def current_sitekey(base: str, rotation: int) -> str:
    """The sitekey a page shows after ``rotation`` rotations of its ``base`` key (0: the base).

    Same length and alphabet as a real key, so a client cannot tell a rotated key from a new one.
    """
    if rotation <= 0:
        return base
    return f"{base[:-6]}R{rotation % 100_000:05d}"


def is_known_sitekey(sitekey: str, rotation: int) -> bool:
    return sitekey in KNOWN_SITEKEYS or sitekey in {current_sitekey(key, rotation) for key in KNOWN_SITEKEYS}


def _sitekey_tag(sitekey: str) -> str:
    return hashlib.sha256(sitekey.encode()).hexdigest()[:10]


class TokenAuthority:
    """Issues and verifies reCAPTCHA response tokens (the part Google plays)."""

    def __init__(self, lifetime: float = TOKEN_LIFETIME) -> None:
        self._secret = secrets.token_bytes(32)
        self._lifetime = lifetime
        self._lock = threading.Lock()
        self._used: dict[str, float] = {}  # nonce -> expiry, pruned as they expire

    def issue(self, sitekey: str, *, score: float | None = None, lifetime: float | None = None) -> str:
        """A v2 token, or a v3 one carrying ``score`` (0.0-0.9) when a score is given.

        ``lifetime`` (seconds) overrides the authority's own; the expiry is kept in milliseconds so
        a test lifetime of a few seconds is exact.
        """
        seconds = self._lifetime if lifetime is None else lifetime
        expiry = int((time.time() + seconds) * 1000)
        kind = "03r" if score is None else f"03v{max(0, min(9, round(score * 10)))}"
        payload = f"{kind}.{_sitekey_tag(sitekey)}.{expiry}.{secrets.token_hex(24)}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, sitekey: str, *, min_score: float | None = None) -> str:
        """Check and consume ``token`` for ``sitekey``; returns "" when valid, else the reason.

        ``min_score=None`` asks for a v2 token; a number asks for a v3 token scoring at least that.
        """
        parts = token.split(".")
        if len(parts) != 5 or not (parts[0] == "03r" or re.fullmatch(r"03v[0-9]", parts[0])):
            return "malformed"
        payload, signature = ".".join(parts[:4]), parts[4]
        if not hmac.compare_digest(self._sign(payload), signature):
            return "bad signature"
        if parts[1] != _sitekey_tag(sitekey):
            return "wrong sitekey"
        if min_score is None and parts[0] != "03r":
            return "v3 token for a v2 site"
        if min_score is not None and parts[0] == "03r":
            return "v2 token for a v3 site"
        if min_score is not None and int(parts[0][3]) / 10 < min_score:
            return "score too low"
        now = time.time()
        try:
            expiry = int(parts[2]) / 1000
        except ValueError:
            return "malformed"
        if expiry < now:
            return "expired"
        nonce = parts[3]
        with self._lock:
            for old in [n for n, exp in self._used.items() if exp < now]:
                del self._used[old]
            if nonce in self._used:
                return "already used"
            self._used[nonce] = expiry
        return ""

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:40]


@dataclass
class SolveJob:
    sitekey: str
    ready_at: float
    fail: bool
    score: float | None = None  # None: a v2 job
    lifetime: float | None = None  # the token's, from the moment the solve completes
    token: str = ""


class SolverService:
    """The 2captcha stand-in: ``in.php`` creates a job, ``res.php`` answers it after a delay."""

    MAX_JOBS = 20_000

    def __init__(self, authority: TokenAuthority) -> None:
        self._authority = authority
        self._lock = threading.Lock()
        self._jobs: dict[str, SolveJob] = {}
        self._ids = itertools.count(80_000_000_001)

    def submit(
        self,
        *,
        sitekey: str,
        delay: float,
        fail: bool,
        score: float | None = None,
        lifetime: float | None = None,
    ) -> str:
        with self._lock:
            if len(self._jobs) >= self.MAX_JOBS:
                for job_id in list(self._jobs)[: self.MAX_JOBS // 2]:
                    del self._jobs[job_id]
            job_id = str(next(self._ids))
            self._jobs[job_id] = SolveJob(
                sitekey=sitekey,
                ready_at=time.monotonic() + delay,
                fail=fail,
                score=score,
                lifetime=lifetime,
            )
        return job_id

    def result(self, job_id: str) -> tuple[str, str, bool]:
        """Return (state, value, first_time): state is "unknown", "pending", "failed" or "ready".

        ``first_time`` tells the caller whether this poll delivered the token for the first time
        (the token itself is issued, and its two minutes start, when the solve completes).
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return "unknown", "", False
            if time.monotonic() < job.ready_at:
                return "pending", "", False
            if job.fail:
                return "failed", "", False
            first = not job.token
            if first:
                job.token = self._authority.issue(job.sitekey, score=job.score, lifetime=job.lifetime)
            return "ready", job.token, first
