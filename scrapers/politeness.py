"""Fleet-wide politeness towards each source: a rate limit and a circuit breaker, shared on Redis.

Every worker process on every machine asks the same Redis before it sends a lookup to a source:

- **Rate limit** (``PolitenessConfig.rate_limits``, e.g. ``{"wsp": "3/second"}``): at most N lookup
  attempts per period on that source, fleet-wide, as a moving window (``limits``'
  ``MovingWindowRateLimiter`` on Redis: a Lua script keeps the timestamps of the last N permits,
  so no window edge ever lets 2N through). One permit is one attempt on the source: its page GET
  and its POST.
- **Circuit breaker**, per source: closed → open when, within ``window_seconds``, at least
  ``min_failures`` attempts failed and failures were at least ``failure_ratio`` of the attempts
  (a failure is a WAF block or a site error, see :func:`outcome_of`). Open for
  ``cooloff_seconds``; then the first caller takes the one probe (half-open) while every other
  caller still sees it open; the probe's success closes it, its failure opens it again for
  another cool-off. A probe that never reports (its worker died) gives the probe to the next
  caller after ``probe_timeout_seconds``. State and transitions are one Lua script each, on
  Redis's own clock, so two processes never both take the probe.

The waits happen *before* the client takes a page or asks for a captcha token, and a wait that
would not end in time is not waited: the caller hears "come back in N seconds" instead
(:class:`Admission`). When Redis cannot be reached, everything is allowed (fail open): lookups go
on unthrottled, with one ERROR line for operators when it goes and one INFO line when it is back
(docs/pipeline.md#politeness).

Plain Python, no Django (``tests/test_import_graph.py``): the worker builds the config from
settings (``actors.registraduria``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from .registraduria import LookupResult, LookupStatus

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATES = (CLOSED, HALF_OPEN, OPEN)

# Outcomes of one attempt, as the breaker counts them.
SUCCESS, FAILURE, NEUTRAL = "success", "failure", "neutral"

REDIS_TIMEOUT_SECONDS = 0.5  # one Redis round trip; a lookup never waits longer on a dead Redis
REDIS_MAX_CONNECTIONS = 16  # per worker process


@dataclass(frozen=True)
class PolitenessConfig:
    """Settings of :class:`Politeness` (``actors.registraduria.build_politeness_config``)."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "paginamadre:"
    # Source name -> a ``limits`` rate string ("3/second", "100/minute", "1 per 2 seconds").
    rate_limits: Mapping[str, str] = field(default_factory=dict)
    breaker_enabled: bool = True
    window_seconds: float = 60.0
    min_failures: int = 5
    failure_ratio: float = 0.5
    cooloff_seconds: float = 120.0
    probe_timeout_seconds: float = 60.0
    # After Redis failed us, skip it this long (each call would otherwise wait for its timeout).
    redis_retry_seconds: float = 5.0

    def rate_items(self) -> dict[str, RateLimitItem]:
        """The parsed rate limits; raises ValueError on a string ``limits`` cannot read."""
        return {name: parse(text) for name, text in self.rate_limits.items() if str(text).strip()}


@dataclass(frozen=True)
class Admission:
    """What :meth:`Politeness.admit` decided for one attempt on one source.

    ``allowed`` false: do not send; ``retry_after`` says in how many seconds it may be worth
    asking again and ``reason`` why (``circuit_open`` or ``rate_limited``). ``probe`` true: this
    attempt is the half-open breaker's one probe, and its outcome closes or re-opens it.
    """

    source: str
    allowed: bool
    reason: str = ""
    retry_after: float = 0.0
    probe: bool = False
    probe_token: str = ""
    waited: float = 0.0
    # The instant (Redis's clock, as Redis wrote it) an open breaker lets its probe through: every
    # caller refused by one opening sees the same value.
    reopen: str = ""


# Site errors that are ours, by the start of their text: the captcha service's
# (``scrapers.captcha.CaptchaError``) and a lookup with no time left for a solve
# (``scrapers.tokens.NoTimeForSolve``: its time went waiting in our own queue for a page).
_NOT_THE_SITES = ("captcha", "less than a typical solve")


def outcome_of(result: LookupResult) -> str:
    """How one attempt's result counts for its source's breaker.

    A failure is what the site did to us: the WAF's block (``BLOCKED``) or a site error (a 5xx,
    an upstream timeout, maintenance, a hung page). Errors of the captcha service are not the
    site's (their text starts with "captcha", ``scrapers.captcha.CaptchaError``), nor are our own
    browser's failures (other than a network error reaching the site), a rejected captcha or an
    expired session: those count neither way. Every answer is a success.
    """
    if result.status is LookupStatus.BLOCKED:
        return FAILURE
    if result.status is LookupStatus.SITE_ERROR:
        error = result.error.lower()
        if error.startswith(_NOT_THE_SITES):
            return NEUTRAL
        if error.startswith("browser:") and "net::err_" not in error:
            # Our own Chromium failed (a crashed page, a closed target); a network error on the
            # way to the site (net::ERR_CONNECTION_REFUSED, …) is the site's.
            return NEUTRAL
        return FAILURE
    if result.status in (LookupStatus.CAPTCHA_REJECTED, LookupStatus.SESSION_EXPIRED):
        return NEUTRAL
    return SUCCESS


# KEYS[1]: the breaker's hash. ARGV[1]: probe lease (s), ARGV[2]: "1" to only look, ARGV[3]: token.
# Returns {state seen, seconds until it may change, probe token or "", the reopening instant or ""};
# numbers as strings, since Redis turns Lua numbers into integers.
_ALLOW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then
  return {'closed', '0', '', ''}
end
local until_ = tonumber(redis.call('HGET', KEYS[1], 'until') or '0') or 0
if now < until_ then
  return {state, tostring(until_ - now), '', tostring(until_)}
end
if ARGV[2] == '1' then
  return {'half_open', '0', '', ''}
end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'until', tostring(now + tonumber(ARGV[1])),
           'probe', ARGV[3], 'changed', tostring(now))
return {'probe', '0', ARGV[3], ''}
"""

# KEYS: hash, attempts zset, failures zset. ARGV: outcome, probe token ("" if none), window,
# min failures, ratio, cool-off, a unique member id. Returns {new state or "", state after}.
_RECORD_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local outcome, token = ARGV[1], ARGV[2]
local window, min_failures = tonumber(ARGV[3]), tonumber(ARGV[4])
local ratio, cooloff = tonumber(ARGV[5]), tonumber(ARGV[6])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'half_open' then
  if token == '' or redis.call('HGET', KEYS[1], 'probe') ~= token then
    return {'', state}
  end
  if outcome == 'success' then
    redis.call('HSET', KEYS[1], 'state', 'closed', 'until', '0', 'probe', '', 'changed', tostring(now))
    redis.call('DEL', KEYS[2], KEYS[3])
    return {'closed', 'closed'}
  elseif outcome == 'failure' then
    redis.call('HSET', KEYS[1], 'state', 'open', 'until', tostring(now + cooloff), 'probe', '',
               'changed', tostring(now))
    return {'open', 'open'}
  end
  -- Neither way: the next caller probes at once.
  redis.call('HSET', KEYS[1], 'until', '0', 'probe', '')
  return {'', 'half_open'}
end
if state ~= 'closed' or outcome == 'neutral' then
  return {'', state}
end
local ttl = math.ceil(window * 1000) + 1000
redis.call('ZADD', KEYS[2], now, ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], ttl)
if outcome == 'failure' then
  redis.call('ZADD', KEYS[3], now, ARGV[7])
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
redis.call('PEXPIRE', KEYS[3], ttl)
local failures = redis.call('ZCARD', KEYS[3])
local attempts = redis.call('ZCARD', KEYS[2])
if failures >= min_failures and failures >= ratio * attempts then
  redis.call('HSET', KEYS[1], 'state', 'open', 'until', tostring(now + cooloff), 'probe', '',
             'changed', tostring(now))
  redis.call('DEL', KEYS[2], KEYS[3])
  return {'open', 'open'}
end
return {'', 'closed'}
"""

# KEYS[1]: a counter of callers deferred towards one reopening. Returns the caller's position.
_POSITION_LUA = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return n
"""


@dataclass(frozen=True)
class BreakerView:
    """One source's breaker as Redis holds it: ``state`` and seconds until it may change."""

    source: str
    state: str
    seconds_left: float


class Politeness:
    """One per worker process, on the client's event loop. Safe for many concurrent callers.

    ``on_event(kind, source, value)`` is called for operators' metrics: ``("transition", source,
    new_state)``, ``("wait", source, seconds waited for the rate limit)``, ``("redis", "", "down"
    | "up")``.
    """

    def __init__(
        self, config: PolitenessConfig, *, on_event: Callable[[str, str, object], None] | None = None
    ) -> None:
        self.config = config
        self._rates = config.rate_items()
        self._on_event = on_event
        # A bounded pool: hundreds of lookups in flight share a few connections (a caller waits
        # at most one timeout for a free one) instead of opening one each on every worker.
        self._redis = aioredis.Redis(
            connection_pool=aioredis.BlockingConnectionPool.from_url(
                config.redis_url,
                max_connections=REDIS_MAX_CONNECTIONS,
                timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                health_check_interval=30,
            )
        )
        self._allow = self._redis.register_script(_ALLOW_LUA)
        self._record = self._redis.register_script(_RECORD_LUA)
        self._position = self._redis.register_script(_POSITION_LUA)
        self._limiter: MovingWindowRateLimiter | None = None
        if self._rates:
            storage = RedisStorage(
                _limits_uri(config.redis_url),
                implementation="redispy",
                key_prefix=f"{config.key_prefix}rate",
                wrap_exceptions=True,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self._limiter = MovingWindowRateLimiter(storage)
        # One waiter per source and process polls the limiter; the others queue here in order.
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self._down_until = 0.0
        self._down = False
        self._background: set[asyncio.Task] = set()

    # ---- keys ---------------------------------------------------------------------------------

    def _keys(self, source: str) -> list[str]:
        base = f"{self.config.key_prefix}breaker:{source}"
        return [base, f"{base}:attempts", f"{base}:failures"]

    # ---- fail open ------------------------------------------------------------------------------

    def _skip_redis(self) -> bool:
        return self._down and time.monotonic() < self._down_until

    def _redis_failed(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self.config.redis_retry_seconds
        if not self._down:
            self._down = True
            logger.error(
                "politeness store unreachable (%s: %s): rate limits and circuit breakers are OFF, "
                "lookups go on unthrottled until Redis at %s answers again",
                type(exc).__name__,
                str(exc)[:200],
                _safe_url(self.config.redis_url),
            )
            self._emit("redis", "", "down")

    def _redis_ok(self) -> None:
        if self._down:
            self._down = False
            logger.info("politeness store reachable again: rate limits and circuit breakers are back on")
            self._emit("redis", "", "up")

    def _emit(self, kind: str, source: str, value: object) -> None:
        if self._on_event is not None:
            try:
                self._on_event(kind, source, value)
            except Exception:
                logger.debug("politeness event hook failed", exc_info=True)

    # ---- the breaker ----------------------------------------------------------------------------

    async def _breaker(self, source: str, *, peek: bool) -> tuple[str, float, str, str]:
        token = uuid.uuid4().hex
        state, left, probe, until = await self._allow(
            keys=self._keys(source)[:1],
            args=[self.config.probe_timeout_seconds, "1" if peek else "0", token],
        )
        state = state.decode() if isinstance(state, bytes) else str(state)
        probe = probe.decode() if isinstance(probe, bytes) else str(probe)
        until = until.decode() if isinstance(until, bytes) else str(until)
        if state == "probe":
            self._emit("transition", source, HALF_OPEN)
        return state, float(left), probe, until

    async def admit(self, source: str, *, deadline: float, max_wait: float) -> Admission:
        """May one attempt go to ``source`` now? Waits for the rate limit at most ``max_wait``
        seconds and never past ``deadline`` (``time.monotonic()``); never raises (fail open)."""
        if self._skip_redis():
            return Admission(source, allowed=True)
        try:
            return await self._admit(source, deadline=deadline, max_wait=max_wait)
        except (RedisError, StorageError, OSError, TimeoutError) as exc:
            self._redis_failed(exc)
            return Admission(source, allowed=True)

    async def _admit(self, source: str, *, deadline: float, max_wait: float) -> Admission:
        breaker = self.config.breaker_enabled
        if breaker:
            state, left, _, until = await self._breaker(source, peek=True)
            if state in (OPEN, HALF_OPEN) and left > 0:
                self._redis_ok()
                return Admission(source, allowed=False, reason="circuit_open", retry_after=left, reopen=until)
        waited = 0.0
        item = self._rates.get(source)
        if item is not None and self._limiter is not None:
            budget = min(max_wait, deadline - time.monotonic())
            started = time.monotonic()
            got = await self._acquire(source, item, budget)
            waited = time.monotonic() - started
            if waited > 0.001:
                self._emit("wait", source, waited)
            if got is not True:
                self._redis_ok()
                return Admission(source, allowed=False, reason="rate_limited", retry_after=got, waited=waited)
        probe, token = False, ""
        if breaker:
            state, left, token, until = await self._breaker(source, peek=False)
            if state in (OPEN, HALF_OPEN):
                self._redis_ok()
                return Admission(
                    source,
                    allowed=False,
                    reason="circuit_open",
                    retry_after=max(left, 0.5),
                    waited=waited,
                    reopen=until,
                )
            probe = state == "probe"
        self._redis_ok()
        return Admission(source, allowed=True, probe=probe, probe_token=token, waited=waited)

    async def _acquire(self, source: str, item: RateLimitItem, budget: float) -> bool | float:
        """True once a permit is ours; else the seconds after which one is likely (not waited)."""
        assert self._limiter is not None
        lock = self._locks.setdefault(source, asyncio.Lock())
        end = time.monotonic() + max(0.0, budget)
        self._waiting[source] = self._waiting.get(source, 0) + 1
        try:
            async with asyncio.timeout(max(0.0, budget)):
                async with lock:
                    while True:
                        if await self._limiter.hit(item, source):
                            return True
                        stats = await self._limiter.get_window_stats(item, source)
                        pause = max(0.005, stats.reset_time - time.time())
                        if time.monotonic() + pause > end:
                            return self._eta(source, item, pause)
                        await asyncio.sleep(pause)
        except TimeoutError:
            # Queued behind this process's other waiters for longer than the budget.
            return self._eta(source, item, 0.0)
        finally:
            self._waiting[source] -= 1

    def _eta(self, source: str, item: RateLimitItem, pause: float) -> float:
        """A guess at when a permit may be free: the window's next slot, plus one permit's
        spacing per caller of this process queued before us."""
        per_permit = item.get_expiry() / max(1, item.amount)
        return max(1.0, pause + (self._waiting.get(source, 1) - 1) * per_permit)

    async def record(self, admission: Admission, result: LookupResult) -> str:
        """Count one attempt's outcome on its source's breaker; returns the state after it."""
        if not self.config.breaker_enabled or not admission.allowed or self._skip_redis():
            return ""
        outcome = outcome_of(result)
        c = self.config
        try:
            changed, after = await self._record(
                keys=self._keys(admission.source),
                args=[
                    outcome,
                    admission.probe_token if admission.probe else "",
                    c.window_seconds,
                    c.min_failures,
                    c.failure_ratio,
                    c.cooloff_seconds,
                    uuid.uuid4().hex,
                ],
            )
        except (RedisError, OSError, TimeoutError) as exc:
            self._redis_failed(exc)
            return ""
        self._redis_ok()
        changed = changed.decode() if isinstance(changed, bytes) else str(changed)
        after = after.decode() if isinstance(after, bytes) else str(after)
        if changed:
            self._emit("transition", admission.source, changed)
            log = logger.warning if changed == OPEN else logger.info
            log(
                "circuit breaker for %s is now %s (%s)%s",
                admission.source,
                changed,
                "probe " + outcome if admission.probe else f"{outcome}: {result.status.value}",
                f"; no lookups go to it for {c.cooloff_seconds:g}s" if changed == OPEN else "",
            )
        return after

    def release(self, admission: Admission) -> None:
        """An attempt ended without a result (cancelled, or the captcha could not be bought): if it
        held the half-open probe, hand the probe on now rather than after its lease. Best effort,
        in the background, so it also works from a cancelled task."""
        if not (admission.allowed and admission.probe) or self._skip_redis():
            return
        neutral = LookupResult(LookupStatus.CAPTCHA_REJECTED, error="attempt ended without a result")
        task = asyncio.ensure_future(self.record(admission, neutral))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def position(self, admission: Admission) -> int:
        """This caller's place among those deferred towards the same reopening of the refused
        source (1 for the first); 1 when Redis cannot say."""
        if self._skip_redis() or not admission.reopen:
            return 1
        key = f"{self.config.key_prefix}breaker:{admission.source}:deferred:{admission.reopen}"
        try:
            value = await self._position(keys=[key], args=[int(admission.retry_after) + 60])
        except (RedisError, OSError, TimeoutError) as exc:
            self._redis_failed(exc)
            return 1
        return max(1, int(value))

    def seconds_per_permit(self, source: str) -> float:
        """The rate limit's spacing for ``source`` (0 when it has none): our throughput bound."""
        item = self._rates.get(source)
        return item.get_expiry() / max(1, item.amount) if item is not None else 0.0

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._redis.aclose()
        if self._limiter is not None:
            storage = self._limiter.storage
            with contextlib.suppress(Exception):
                await storage.storage.aclose()  # type: ignore[attr-defined]


def read_breakers(client, *, key_prefix: str, sources) -> list[BreakerView]:
    """Each source's breaker as Redis holds it, with a *synchronous* redis client (metrics).

    An open breaker whose cool-off is over counts as half-open: its next caller probes.
    Raises redis' errors when Redis cannot be reached.
    """
    seconds, micros = client.time()
    now = float(seconds) + float(micros) / 1e6
    views = []
    for source in sources:
        raw = client.hmget(f"{key_prefix}breaker:{source}", "state", "until")
        state = (raw[0] or b"closed").decode()
        until = float((raw[1] or b"0").decode() or 0)
        left = max(0.0, until - now) if state != CLOSED else 0.0
        if state == OPEN and left <= 0:
            state = HALF_OPEN
        views.append(
            BreakerView(source=source, state=state if state in STATES else CLOSED, seconds_left=left)
        )
    return views


def _limits_uri(redis_url: str) -> str:
    """``limits``' name for an asyncio Redis URL (``async+redis://``, ``async+rediss://``)."""
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"


def _safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


__all__ = [
    "CLOSED",
    "FAILURE",
    "HALF_OPEN",
    "NEUTRAL",
    "OPEN",
    "SUCCESS",
    "Admission",
    "BreakerView",
    "Politeness",
    "PolitenessConfig",
    "outcome_of",
    "read_breakers",
]
