"""reCAPTCHA solvers behind one small async interface.

``TwoCaptchaSolver`` uses the official ``2captcha-python`` client (``twocaptcha.AsyncTwoCaptcha``) to
build and parse its in.php/res.php requests. Two things are adapted, both minimal:

* the transport: the official ``AsyncApiClient`` hard-codes ``https://`` + host and opens a new
  HTTP client per request. ``_ServerApiClient`` takes a full base URL from settings (the replica's
  stand-in is plain http on 127.0.0.1:PORT) and reuses one pooled ``httpx.AsyncClient``;
* the polling loop: the official ``wait_result`` truncates the interval to whole seconds, so a short
  interval against the replica (0.1 s) becomes a busy loop. We poll with the official ``get_result``
  on our own float interval instead, and the first poll waits for most of a typical solve
  (2captcha asks for 15-20 s before the first poll of a reCAPTCHA): with hundreds of solves in
  flight per worker, polling every few seconds from the start would be most of the HTTP traffic.

Everything is async on the caller's event loop, so 16 concurrent solves cost 16 sleeping coroutines,
not 16 blocked threads.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Protocol

import httpx
from twocaptcha import AsyncApiClient, AsyncTwoCaptcha
from twocaptcha.exceptions.api import ApiException as TransportApiException
from twocaptcha.exceptions.api import NetworkException as TransportNetworkException
from twocaptcha.exceptions.solver import NetworkException as NotReady
from twocaptcha.exceptions.solver import SolverExceptions

logger = logging.getLogger(__name__)


class CaptchaError(Exception):
    """The solver could not produce a token.

    ``code`` is the service's error code (``ERROR_CAPTCHA_UNSOLVABLE``, ...) or ``"NETWORK"`` /
    ``"TIMEOUT"``; ``rejected`` is True when the service refused this captcha (worth a fresh
    attempt later), False for transport trouble. Messages never contain the API key.
    """

    def __init__(self, message: str, *, code: str, rejected: bool) -> None:
        super().__init__(message)
        self.code = code
        self.rejected = rejected


class CaptchaSolver(Protocol):
    """Anything that turns a reCAPTCHA (sitekey + page URL) into a response token.

    ``version`` is ``"v2"`` (the checkbox) or ``"v3"`` (a score-based ``grecaptcha.execute``);
    ``action`` and ``min_score`` matter for v3 only.
    """

    async def solve_recaptcha(
        self,
        *,
        sitekey: str,
        page_url: str,
        version: str = "v2",
        action: str = "",
        min_score: float | None = None,
    ) -> str: ...

    async def aclose(self) -> None: ...


class NoCaptchaSolver:
    """For targets without a captcha: gives an empty token, which such targets ignore."""

    async def solve_recaptcha(
        self,
        *,
        sitekey: str,
        page_url: str,
        version: str = "v2",
        action: str = "",
        min_score: float | None = None,
    ) -> str:
        return ""

    async def aclose(self) -> None:
        return None


class _RedactFilter(logging.Filter):
    """Masks API keys in records of loggers we do not own: httpx logs every request URL at INFO,
    and res.php URLs carry ``key=...``."""

    _KEY_PARAM = re.compile(r"([?&]key=)[^&\s\"']+")

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._KEY_PARAM.sub(r"\1***", message)
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_redact = _RedactFilter()
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_redact)


class _ServerApiClient(AsyncApiClient):
    """The official transport with a configurable base URL and one shared connection pool."""

    def __init__(self, base_url: str, *, http: httpx.AsyncClient) -> None:
        super().__init__(post_url=base_url)
        self.base_url = base_url.rstrip("/")
        self.http = http

    async def in_(self, files=None, **kwargs):
        # Only reCAPTCHA goes through here: no files to upload.
        return await self._call("POST", "/in.php", kwargs)

    async def res(self, **kwargs):
        return await self._call("GET", "/res.php", kwargs)

    async def _call(self, method: str, path: str, params: dict) -> str:
        try:
            if method == "POST":
                resp = await self.http.post(self.base_url + path, data=params)
            else:
                resp = await self.http.get(self.base_url + path, params=params)
        except httpx.HTTPError as exc:
            # The exception's text may embed the URL (with key=...): keep only its type.
            raise TransportNetworkException(type(exc).__name__) from None
        if resp.status_code != 200:
            raise TransportNetworkException(f"bad response: {resp.status_code}")
        text = resp.content.decode("utf-8", "replace")
        if "ERROR" in text:
            raise TransportApiException(text.strip()[:200])
        return text


class TwoCaptchaSolver:
    """Solves reCAPTCHA v2 and v3 through 2captcha (or anything speaking its API, like the replica).

    :param api_key: the account key; never logged.
    :param server: base URL, e.g. ``https://2captcha.com`` or ``http://127.0.0.1:8001``. A bare host
        name gets ``https://``.
    :param polling_interval: seconds between ``res.php`` polls (2captcha asks for 5; the replica
        answers at once, so shorter there).
    :param timeout: give up on one solve after this many seconds (the lookup deadline is usually
        shorter and wins).
    """

    def __init__(
        self, *, api_key: str, server: str, polling_interval: float = 5.0, timeout: float = 180.0
    ) -> None:
        if "://" not in server:
            server = "https://" + server
        self._api_key = api_key
        self.polling_interval = max(0.01, float(polling_interval))
        self.timeout = timeout
        self._typical = 0.0  # moving average of recent solve times: when the first poll is worth it
        if len(api_key) >= 6:  # shorter "keys" are test values, and would mask common words
            _redact.secrets.add(api_key)
        # Connections kept alive across polls. Few: httpcore checks every pooled connection (a
        # poll() syscall each) on every request, so with 32 kept alive the polls of ~200 solves in
        # flight were a third of the event loop's time (py-spy, docs/benchmarks.md). ~13 requests/s
        # per worker at 2captcha's ~0.3 s round trip need ~4 connections at once.
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=10.0),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            follow_redirects=True,
        )
        self._client = AsyncTwoCaptcha(apiKey=api_key, server=server, pollingInterval=polling_interval)
        self._client.api_client = _ServerApiClient(server, http=self._http)

    def __repr__(self) -> str:
        return f"TwoCaptchaSolver(server={self._client.api_client.base_url!r}, key=***)"

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    async def solve_recaptcha(
        self,
        *,
        sitekey: str,
        page_url: str,
        version: str = "v2",
        action: str = "",
        min_score: float | None = None,
    ) -> str:
        """Return a reCAPTCHA response token for ``sitekey`` on ``page_url``.

        :param version: ``"v2"`` or ``"v3"`` (2captcha's ``version=v3``, with ``action`` and
            ``min_score``, its names for what the page passes to ``grecaptcha.execute``).
        :raises CaptchaError: on service errors (``rejected=True``), network trouble or timeout.
        :raises ValueError: on a version other than v2/v3.
        """
        params: dict[str, object] = {"method": "userrecaptcha", "googlekey": sitekey, "url": page_url}
        if version == "v3":
            params.update(version="v3", action=action or "verify")
            if min_score is not None:
                params["score"] = f"{min_score:g}"  # the official client renames it min_score
        elif version != "v2":
            raise ValueError(f"unknown reCAPTCHA version {version!r} (expected 'v2' or 'v3')")
        try:
            captcha_id = await self._client.send(**params)
            started = time.monotonic()
            give_up = started + self.timeout
            wait = max(self.polling_interval, min(0.8 * self._typical, 60.0))
            while True:
                await asyncio.sleep(wait)
                wait = self.polling_interval
                try:
                    token = await self._client.get_result(captcha_id)
                except NotReady:
                    # CAPCHA_NOT_READY, or a poll that failed in transit: both mean "ask again".
                    if time.monotonic() >= give_up:
                        raise CaptchaError(
                            f"captcha solver: no answer in {self.timeout:.0f}s",
                            code="TIMEOUT",
                            rejected=False,
                        ) from None
                    continue
                seconds = time.monotonic() - started
                self._typical = seconds if not self._typical else 0.7 * self._typical + 0.3 * seconds
                return token
        except (TransportApiException, SolverExceptions) as exc:
            message = self._scrub(str(exc))
            code = next((word for word in message.replace("|", " ").split() if word.startswith("ERROR")), "")
            if code:
                raise CaptchaError(f"captcha solver: {code}", code=code, rejected=True) from None
            raise CaptchaError(f"captcha solver: {message[:200]}", code="API", rejected=False) from None
        except TransportNetworkException as exc:
            raise CaptchaError(
                f"captcha solver: network error ({self._scrub(str(exc))})", code="NETWORK", rejected=False
            ) from None

    async def aclose(self) -> None:
        await self._http.aclose()


def build_solver(kind: str, *, api_key: str = "", server: str = "", polling_interval: float = 5.0):
    """Return the solver named ``kind`` (``"2captcha"`` or ``"none"``)."""
    if kind == "none":
        return NoCaptchaSolver()
    if kind == "2captcha":
        return TwoCaptchaSolver(api_key=api_key, server=server, polling_interval=polling_interval)
    raise ValueError(f"unknown captcha solver {kind!r} (expected '2captcha' or 'none')")
