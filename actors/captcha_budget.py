"""The fleet's captcha money on Redis: the hourly solve budget, the account-error pause, the tallies.

Every worker process on every machine shares one Redis (``REDIS_URL``, docs/operations.md#redis):

* ``…captcha:budget:<hour>``: solves reserved this clock hour (UTC), an atomic ``INCR`` per solve,
  given back (``DECR``) when the service bills nothing (an error). At ``CAPTCHA_HOURLY_BUDGET``
  the fleet stops buying solves until the hour ends;
* ``…captcha:pause``: set, with a TTL, after 2captcha says ERROR_ZERO_BALANCE, ERROR_NO_SLOT_AVAILABLE
  or a key error (or when the budget is spent): while it exists no worker asks for a solve and
  lookup messages are delayed, not failed (``actors.lookups``);
* ``…captcha:stats:<hour>``: a hash of what the money bought (solves, reuses, waste by reason,
  answers) for ``manage.py captcha`` (kept 48 hours).

Redis holds nothing that must survive it: losing it forgets at most one hour's count.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from scrapers.tokens import CaptchaUnavailable, log_account_error

log = logging.getLogger(__name__)

STATS_TTL_SECONDS = 48 * 3600
LOCAL_CACHE_SECONDS = 1.0  # how long a process trusts its last read of the pause key


def key_prefix() -> str:
    return f"paginamadre:{settings.LOOKUP_QUEUE_PREFIX}captcha:"


def hour_now() -> int:
    return int(time.time() // 3600)


def hour_label(hour: int) -> str:
    return time.strftime("%Y-%m-%dT%H:00Z", time.gmtime(hour * 3600))


class RedisCaptchaGate:
    """``scrapers.tokens.CaptchaGate`` for the whole fleet (async, on the worker's event loop)."""

    def __init__(self, *, url: str, prefix: str, hourly_budget: int) -> None:
        self.url = url
        self.prefix = prefix
        self.hourly_budget = max(0, int(hourly_budget))
        self._redis = None
        self._pause_code = ""
        self._paused_until = 0.0
        self._read_at = 0.0
        self._reading = False

    def _client(self):
        if self._redis is None:
            import redis.asyncio

            # Hundreds of lookups on one loop: a bounded pool that waits instead of refusing.
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url, max_connections=16, timeout=2.0, socket_timeout=2.0, socket_connect_timeout=2.0
            )
            self._redis = redis.asyncio.Redis(connection_pool=pool)
        return self._redis

    async def _pause_state(self) -> tuple[str, float]:
        now = time.time()
        # One read a second for the whole process: the other lookups use the last answer.
        if now - self._read_at >= LOCAL_CACHE_SECONDS and not self._reading:
            self._reading = True
            try:
                client = self._client()
                async with client.pipeline(transaction=False) as pipe:
                    code, ttl_ms = await pipe.get(self.prefix + "pause").pttl(self.prefix + "pause").execute()
            finally:
                self._reading = False
            self._read_at = now
            if code and ttl_ms and ttl_ms > 0:
                self._pause_code = code.decode() if isinstance(code, bytes) else str(code)
                self._paused_until = max(self._paused_until, now + ttl_ms / 1000)
        left = self._paused_until - now
        return (self._pause_code, left) if left > 0 else ("", 0.0)

    async def acquire(self) -> None:
        code, left = await self._pause_state()
        if left > 0:
            raise CaptchaUnavailable(code, left)
        if not self.hourly_budget:
            return
        hour = hour_now()
        key = f"{self.prefix}budget:{hour}"
        client = self._client()
        used = await client.incr(key)
        if used == 1:
            await client.expire(key, 7200)
        if used > self.hourly_budget:
            await client.decr(key)
            left = (hour + 1) * 3600 - time.time()
            await self.pause("BUDGET", left)
            raise CaptchaUnavailable("BUDGET", left)

    async def refund(self) -> None:
        if self.hourly_budget:
            key = f"{self.prefix}budget:{hour_now()}"
            client = self._client()
            if int(await client.get(key) or 0) > 0:
                await client.decr(key)

    async def pause(self, code: str, seconds: float) -> None:
        now = time.time()
        until = now + seconds
        already = self._paused_until > now and self._pause_code == code
        await self._client().set(self.prefix + "pause", code, px=max(1, int(seconds * 1000)))
        if until > self._paused_until or code != self._pause_code:
            self._paused_until, self._pause_code = until, code
        if not already:
            log_account_error(code, seconds)

    async def record(self, event: str, amount: int = 1) -> None:
        key = f"{self.prefix}stats:{hour_now()}"
        client = self._client()
        async with client.pipeline(transaction=False) as pipe:
            await pipe.hincrby(key, event, amount).expire(key, STATS_TTL_SECONDS).execute()

    async def aclose(self) -> None:
        client, self._redis = self._redis, None
        if client is not None:
            await client.aclose()


def build_gate() -> RedisCaptchaGate:
    return RedisCaptchaGate(
        url=settings.REDIS_URL, prefix=key_prefix(), hourly_budget=settings.CAPTCHA_HOURLY_BUDGET
    )


# ---- the synchronous side: the actors' check before a claim, and the operators' command ----------

_sync_client = None
_sync_lock = threading.Lock()
_last_check = (0.0, "", 0.0)  # (read at, code, paused until)
_refreshing = threading.Lock()


def _redis():
    global _sync_client
    with _sync_lock:
        if _sync_client is None:
            import redis

            # Hundreds of worker threads share it: a bounded pool that waits for a free
            # connection instead of failing (redis-py's default pool refuses past its limit).
            pool = redis.BlockingConnectionPool.from_url(
                settings.REDIS_URL,
                max_connections=8,
                timeout=2.0,
                socket_timeout=2.0,
                socket_connect_timeout=2.0,
            )
            _sync_client = redis.Redis(connection_pool=pool)
        return _sync_client


def fleet_pause() -> tuple[str, float]:
    """(code, seconds left) of the fleet's captcha pause, or ("", 0); never raises.

    Read at most once a second per process, by one thread at a time: the others use the last
    answer (at most a second old; before the first answer, they wait for it). Redis unreachable
    counts as "no pause": the solve itself will then meet the service's own answer.
    """
    global _last_check
    now = time.time()
    if now - _last_check[0] >= LOCAL_CACHE_SECONDS and _refreshing.acquire(blocking=_last_check[0] == 0.0):
        try:
            if now - _last_check[0] >= LOCAL_CACHE_SECONDS:
                _last_check = (now, *_read_pause(now))
        finally:
            _refreshing.release()
    _, code, until = _last_check
    left = until - now
    return (code, left) if left > 0 else ("", 0.0)


def _read_pause(now: float) -> tuple[str, float]:
    try:
        client = _redis()
        pipe = client.pipeline(transaction=False)
        raw, ttl_ms = pipe.get(key_prefix() + "pause").pttl(key_prefix() + "pause").execute()
    except Exception as exc:  # noqa: BLE001 - the budget must never stop lookups by itself failing
        log.warning("captcha pause not checked: Redis unreachable (%s)", type(exc).__name__)
        return "", 0.0
    code = raw.decode() if isinstance(raw, bytes) else ""
    return code, (now + ttl_ms / 1000 if raw and ttl_ms and ttl_ms > 0 else 0.0)


def fleet_status(hours: int = 3) -> dict:
    """Budget, pause and tallies of the last ``hours`` clock hours (newest first), for operators."""
    client = _redis()
    prefix = key_prefix()
    now_hour = hour_now()
    raw, ttl_ms = client.get(prefix + "pause"), client.pttl(prefix + "pause")
    rows = []
    for hour in range(now_hour, now_hour - hours, -1):
        stats = {k.decode(): int(v) for k, v in client.hgetall(f"{prefix}stats:{hour}").items()}
        reserved = int(client.get(f"{prefix}budget:{hour}") or 0)
        solves, answers = stats.get("solve", 0), stats.get("answer", 0)
        rows.append(
            {
                "hour": hour_label(hour),
                "reserved": reserved,
                "solves": solves,
                "answers": answers,
                "solves_per_answer": round(solves / answers, 3) if answers else None,
                "reused": stats.get("reused", 0),
                "wasted": {k.split(":", 1)[1]: v for k, v in stats.items() if k.startswith("wasted:")},
                "skipped": {k.split(":", 1)[1]: v for k, v in stats.items() if k.startswith("skipped:")},
                "unavailable": {
                    k.split(":", 1)[1]: v for k, v in stats.items() if k.startswith("unavailable:")
                },
                "solve_errors": stats.get("solve_error", 0),
            }
        )
    return {
        "hourly_budget": settings.CAPTCHA_HOURLY_BUDGET,
        "pause": (
            {"code": raw.decode(), "seconds_left": round(ttl_ms / 1000, 1)} if raw and ttl_ms > 0 else None
        ),
        "hours": rows,
    }
