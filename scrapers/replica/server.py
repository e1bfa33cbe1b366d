"""The replica's HTTP server: routing, the wsp check order, the 2captcha API and the control endpoint.

stdlib only: a ``ThreadingHTTPServer`` (one daemon thread per connection, HTTP/1.1 keep-alive).
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.parser
import email.policy
import json
import secrets
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from . import consultacenso, eleccionescolombia, wsp
from .captcha import (
    AUTOMATION_V3_SCORE,
    CONSULTACENSO_SITEKEY,
    ELECCIONESCOLOMBIA_SITEKEY,
    PERSON_V3_SCORE,
    SOLVER_V3_SCORE,
    WSP_SITEKEY,
    SolverService,
    TokenAuthority,
    current_sitekey,
    is_known_sitekey,
)
from .citizens import Citizen, is_valid_nuip, load_citizens, lookup
from .state import SessionStore, Stats, Switchboard, SwitchError

MAX_BODY = 1024 * 1024
HANG_SECONDS = 600.0  # a "hung" request is dropped without a reply after this, or at shutdown
IDLE_TIMEOUT = 60.0  # an idle keep-alive connection is closed after this
SESSION_COOKIE = "PHPSESSID"
F5_COOKIE = "cookiesession1"  # the F5 BIG-IP's own cookie, set beside PHPSESSID on wsp
WSP_PATHS = ("/censo/consultar/", "/censo/consultar")
# /consultar/ as on the real site; /consultacenso/ is the replica's older path, kept as an alias.
CONSULTACENSO_PAGES = ("/consultar/", "/consultar", "/consultacenso/", "/consultacenso")
# The wsp page's scripts, as the real site serves them (jQuery vendored from the npm registry).
WSP_SCRIPTS = {
    "/censo/public/js/functions.js": wsp.STATIC / "functions.js",
    "/censo/public/js/jquery-3.7.1.min.js": wsp.STATIC / "vendor" / "jquery" / "jquery.min.js",
}
STATIC_CACHE = (("Cache-Control", "public, max-age=86400"),)
CONTROL_PREFIX = "/__control__"
PHP_NO_CACHE = (
    ("Expires", "Thu, 19 Nov 1981 08:52:00 GMT"),
    ("Cache-Control", "no-store, no-cache, must-revalidate"),
    ("Pragma", "no-cache"),
)
TWOCAPTCHA_BALANCE = "9.87654"
# Switch → the error in.php answers while it is on (2captcha's own codes).
ACCOUNT_ERRORS = (
    ("captcha_zero_balance", "ERROR_ZERO_BALANCE"),
    ("captcha_no_slot", "ERROR_NO_SLOT_AVAILABLE"),
    ("captcha_bad_key", "ERROR_KEY_DOES_NOT_EXIST"),
)


@dataclass
class ReplicaApp:
    """Everything the handlers share."""

    switches: Switchboard
    citizens: dict[str, Citizen]
    verbose: bool = False
    stats: Stats = field(default_factory=Stats)
    sessions: SessionStore = field(default_factory=SessionStore)
    tokens: TokenAuthority = field(default_factory=TokenAuthority)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.solver = SolverService(self.tokens)


class ReplicaServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: ReplicaApp) -> None:
        self.app = app
        super().__init__(address, ReplicaHandler)


class ReplicaHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Apache"
    timeout = IDLE_TIMEOUT
    server: ReplicaServer

    # ---- plumbing -------------------------------------------------------------------------------

    @property
    def app(self) -> ReplicaApp:
        return self.server.app

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        if self.app.verbose:
            sys.stderr.write(f"replica: {self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.url_path = url.path
        self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        route = ROUTES.get((method, url.path))
        try:
            if url.path.startswith(CONTROL_PREFIX):
                self._control(method, url.path)
                return
            self.app.stats.request(method, url.path if route else "(unknown)")
            if url.path not in ("/in.php", "/res.php"):
                self._latency()
            if route is None:
                self._send(HTTPStatus.NOT_FOUND, b"Not Found", "text/plain; charset=utf-8")
                return
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # noqa: BLE001 - one bad request must not take the replica down
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"replica error", "text/plain")

    def _latency(self) -> None:
        delay = float(self.app.switches.value("latency"))  # type: ignore[arg-type]
        if delay > 0:
            self.app.stopping.wait(delay)

    def _hang(self, source: str = "wsp") -> None:
        """Never answer: hold the request until shutdown (or HANG_SECONDS), then drop the connection."""
        self.app.stats.outcome(source, "hang")
        self.app.stopping.wait(HANG_SECONDS)
        self.close_connection = True

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload: object, status: int = HTTPStatus.OK) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _text(self, text: str) -> None:
        self._send(HTTPStatus.OK, text.encode("utf-8"), "text/plain; charset=utf-8")

    def _body(self) -> bytes | None:
        """The request body, or None (and an error reply already sent) when it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(HTTPStatus.LENGTH_REQUIRED, b"Length Required", "text/plain")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"Request Entity Too Large", "text/plain")
            return None
        return self.rfile.read(length) if length else b""

    def _form(self) -> dict[str, str] | None:
        """URL-encoded or multipart form fields of a POST (query fields included), or None."""
        body = self._body()
        if body is None:
            return None
        fields = dict(self.query)
        content_type = self.headers.get("Content-Type", "")
        if content_type.lower().startswith("multipart/form-data"):
            fields.update(_parse_multipart(content_type, body))
        else:
            text = body.decode("utf-8", errors="replace")
            fields.update({k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()})
        return fields

    def _cookie(self, name: str) -> str | None:
        try:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
        except CookieError:
            return None
        morsel = cookie.get(name)
        return morsel.value if morsel else None

    def _session_id(self) -> str | None:
        return self._cookie(SESSION_COOKIE)

    def _wsp_cookies(self, sid: str, created: bool) -> tuple[tuple[str, str], ...]:
        """PHPSESSID as PHP sends it with ``session.cookie_secure`` on (``path=/; secure; HttpOnly``)
        and the F5's ``cookiesession1``. ``secure_cookies`` off drops the ``secure`` flag for clients
        that, unlike Chromium, do not count plain-HTTP loopback as a secure origin."""
        secure = "; secure" if self.app.switches.value("secure_cookies") else ""
        cookies = []
        if created:
            cookies.append(("Set-Cookie", f"{SESSION_COOKIE}={sid}; path=/{secure}; HttpOnly"))
        if self._cookie(F5_COOKIE) is None:
            value = secrets.token_hex(16).upper()
            cookies.append(("Set-Cookie", f"{F5_COOKIE}={value};Path=/;HttpOnly"))
        return tuple(cookies)

    def _sitekey(self, base: str) -> str:
        """The sitekey a page shows now (``sitekey_rotation`` rotates every page's key)."""
        return current_sitekey(base, int(self.app.switches.value("sitekey_rotation")))  # type: ignore[arg-type]

    def _waf_headless(self) -> bool:
        return bool(self.app.switches.value("waf_headless")) and "HeadlessChrome" in self.headers.get(
            "User-Agent", ""
        )

    def _waf_page(self, status: int) -> None:
        self.app.stats.outcome("wsp", "waf")
        self._send(status, wsp.render_waf_page(), "text/html; charset=UTF-8")

    # ---- wsp.registraduria.gov.co/censo/consultar/ ------------------------------------------------

    def wsp_page(self) -> None:
        switches = self.app.switches
        if switches.take("hang", "hang_get"):
            return self._hang()
        if self._waf_headless():
            return self._waf_page(HTTPStatus.INTERNAL_SERVER_ERROR)
        if switches.take("get_500"):
            self.app.stats.outcome("wsp", "get_500")
            return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"", "text/html; charset=UTF-8")
        sid, token, created = self.app.sessions.new_page(self._session_id())
        # Whether the GET came with a live session cookie: tests check pooled pages start clean.
        self.app.stats.outcome("wsp", "page_new_session" if created else "page_same_session")
        headers = (*PHP_NO_CACHE, *self._wsp_cookies(sid, created))
        page = wsp.render_page(token, self._sitekey(WSP_SITEKEY))
        self._send(HTTPStatus.OK, page, "text/html; charset=UTF-8", headers)

    def wsp_script(self) -> None:
        body = WSP_SCRIPTS[self.url_path].read_bytes()
        self._send(HTTPStatus.OK, body, "application/javascript", STATIC_CACHE)

    def wsp_post(self) -> None:
        """The lookup POST. Check order: WAF, nonce/session, captcha, NUIP format, census."""
        app, switches, stats = self.app, self.app.switches, self.app.stats
        if switches.take("hang", "hang_post"):
            return self._hang()
        form = self._form()
        if form is None:
            return None
        if self._waf_headless() or switches.take("waf"):
            return self._waf_page(HTTPStatus.OK)

        def reply(body: bytes, outcome: str) -> None:
            stats.outcome("wsp", outcome)
            self._send(HTTPStatus.OK, body, "application/json; charset=utf-8", PHP_NO_CACHE)

        if switches.take("reload") or not app.sessions.check(self._session_id(), form.get("token")):
            return reply(wsp.reload_reply(), "reload")
        captcha_token = form.get("g-recaptcha-response", "")
        forced_reject = switches.take("captcha_reject")
        reason = app.tokens.verify(captcha_token, self._sitekey(WSP_SITEKEY)) if captcha_token else "missing"
        if forced_reject or reason:
            stats.captcha(f"rejected: {'forced' if forced_reject else reason}")
            return reply(wsp.message_reply(wsp.CAPTCHA_REJECTED_TEXT, success=False), "captcha_rejected")
        stats.captcha("accepted")
        nuip = form.get("nuip", "").strip()
        if not is_valid_nuip(nuip):
            return reply(wsp.message_reply(wsp.BAD_NUIP_TEXT, success=False), "bad_nuip")
        if form.get("tipo", "-1") not in {value for value, _ in wsp.ELECTIONS}:
            return reply(wsp.message_reply(wsp.BAD_TIPO_TEXT, success=False), "bad_tipo")
        if switches.take("upstream_timeout"):
            return reply(wsp.message_reply(wsp.UPSTREAM_TIMEOUT_TEXT, success=False), "upstream_timeout")
        if switches.take("maintenance"):
            return reply(wsp.message_reply(wsp.MAINTENANCE_TEXT, success=False), "maintenance")
        citizen = self._citizen(nuip)
        stats.lookup("wsp", nuip)
        return reply(wsp.citizen_reply(citizen), citizen.estado)

    # ---- Google's reCAPTCHA stand-in ---------------------------------------------------------------

    def recaptcha_js(self) -> None:
        body = (wsp.STATIC / "api.js").read_bytes()
        self._send(HTTPStatus.OK, body, "text/javascript; charset=utf-8")

    def recaptcha_demo_verify(self) -> None:
        """The checkbox of the api.js stand-in: a person ticking it gets a token."""
        form = self._form()
        if form is None:
            return
        sitekey = form.get("k", "")
        if not is_known_sitekey(sitekey, int(self.app.switches.value("sitekey_rotation"))):  # type: ignore[arg-type]
            return self._json({"success": False, "error": "invalid-input-sitekey"})
        if form.get("v") == "3":
            # grecaptcha.execute: Google scores a browser under automation low.
            automated = form.get("automated") == "1"
            self.app.stats.captcha("demo_v3_automated" if automated else "demo_v3")
            score = AUTOMATION_V3_SCORE if automated else PERSON_V3_SCORE
            return self._json({"success": True, "token": self.app.tokens.issue(sitekey, score=score)})
        self.app.stats.captcha("demo")
        self._json({"success": True, "token": self.app.tokens.issue(sitekey)})

    # ---- 2captcha stand-in -------------------------------------------------------------------------

    def _twocaptcha(self, params: dict[str, str], status: int, value: str) -> None:
        if params.get("json") in ("1", "true"):
            self._json({"status": status, "request": value})
        else:
            self._text(f"OK|{value}" if status == 1 and not value.startswith("OK") else value)

    def twocaptcha_in(self) -> None:
        params = self._form() if self.command == "POST" else dict(self.query)
        if params is None:
            return None
        switches, stats = self.app.switches, self.app.stats
        if params.get("key") != switches.value("captcha_key"):
            stats.captcha("wrong_key")
            return self._twocaptcha(params, 0, "ERROR_WRONG_USER_KEY")
        if params.get("method") != "userrecaptcha":
            return self._twocaptcha(params, 0, "ERROR_BAD_PARAMETERS")
        if not params.get("googlekey"):
            return self._twocaptcha(params, 0, "ERROR_GOOGLEKEY")
        if not params.get("pageurl"):
            return self._twocaptcha(params, 0, "ERROR_PAGEURL")
        version = params.get("version", "v2") or "v2"
        if version not in ("v2", "v3"):
            return self._twocaptcha(params, 0, "ERROR_BAD_PARAMETERS")
        score = None
        if version == "v3":
            try:
                asked = float(params.get("min_score") or SOLVER_V3_SCORE)
            except ValueError:
                return self._twocaptcha(params, 0, "ERROR_BAD_PARAMETERS")
            # Workers deliver what was asked for, up to what real solving can reach.
            score = max(SOLVER_V3_SCORE, min(asked, 0.9))
        # The account errors of 2captcha's in.php, on demand (docs/replica.md).
        for switch, error in ACCOUNT_ERRORS:
            if switches.take(switch):
                stats.captcha(error)
                return self._twocaptcha(params, 0, error)
        job_id = self.app.solver.submit(
            sitekey=params["googlekey"],
            delay=float(switches.value("captcha_delay")),  # type: ignore[arg-type]
            fail=switches.take("captcha_fail"),
            score=score,
            lifetime=float(switches.value("token_lifetime")),  # type: ignore[arg-type]
        )
        stats.captcha("submitted" if version == "v2" else "submitted_v3")
        return self._twocaptcha(params, 1, job_id)

    def twocaptcha_res(self) -> None:
        params = self._form() if self.command == "POST" else dict(self.query)
        if params is None:
            return None
        stats = self.app.stats
        if params.get("key") != self.app.switches.value("captcha_key"):
            stats.captcha("wrong_key")
            return self._twocaptcha(params, 0, "ERROR_WRONG_USER_KEY")
        action = params.get("action", "")
        if action == "getbalance":
            if params.get("json") in ("1", "true"):
                return self._json({"status": 1, "request": TWOCAPTCHA_BALANCE})
            return self._text(TWOCAPTCHA_BALANCE)
        if action in ("reportbad", "reportgood"):
            stats.captcha(action)
            if params.get("json") in ("1", "true"):
                return self._json({"status": 1, "request": "OK_REPORT_RECORDED"})
            return self._text("OK_REPORT_RECORDED")
        if action != "get":
            return self._twocaptcha(params, 0, "ERROR_BAD_PARAMETERS")
        state, token, first = self.app.solver.result(params.get("id", ""))
        if state == "unknown":
            return self._twocaptcha(params, 0, "ERROR_WRONG_CAPTCHA_ID")
        if state == "pending":
            stats.captcha("not_ready")
            if params.get("json") in ("1", "true"):
                return self._json({"status": 0, "request": "CAPCHA_NOT_READY"})
            return self._text("CAPCHA_NOT_READY")
        if state == "failed":
            stats.captcha("unsolvable")
            return self._twocaptcha(params, 0, "ERROR_CAPTCHA_UNSOLVABLE")
        if first:
            stats.captcha("solved")
        return self._twocaptcha(params, 1, token)

    # ---- consultacenso.registraduria.gov.co --------------------------------------------------------

    def consultacenso_page(self) -> None:
        page = consultacenso.render_page(self._sitekey(CONSULTACENSO_SITEKEY))
        self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")

    def _consultacenso_down(self) -> bool:
        if not self.app.switches.take("consultacenso_down"):
            return False
        self.app.stats.outcome("consultacenso", "down")
        self._send(HTTPStatus.INTERNAL_SERVER_ERROR, consultacenso.DOWN_BODY, "text/html")
        return True

    def consultacenso_elections(self) -> None:
        if self._consultacenso_down():
            return
        self._send(HTTPStatus.OK, consultacenso.elections_reply(), "application/json; charset=utf-8")

    def consultacenso_lookup(self) -> None:
        """``POST /back/api/consulta``. Check order: down, WAF, body, captcha, documento, elección, census."""
        body = self._body()
        if body is None or self._consultacenso_down():
            return
        app, stats = self.app, self.app.stats
        if app.switches.take("consultacenso_waf"):
            stats.outcome("consultacenso", "waf")
            return self._send(HTTPStatus.OK, wsp.render_waf_page(), "text/html; charset=UTF-8")

        def reply(payload: bytes, outcome: str, status: int = HTTPStatus.OK) -> None:
            stats.outcome("consultacenso", outcome)
            self._send(status, payload, "application/json; charset=utf-8")

        try:
            request = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            request = None
        if not isinstance(request, dict):
            return reply(consultacenso.error_reply(consultacenso.BAD_REQUEST_TEXT), "bad_request", 400)
        captcha_token = request.get("captchaToken")
        if not isinstance(captcha_token, str) or not captcha_token:
            reason = "missing"
        else:
            reason = app.tokens.verify(captcha_token, self._sitekey(CONSULTACENSO_SITEKEY))
        if app.switches.take("consultacenso_captcha_reject"):
            reason = "forced"
        if reason:
            stats.captcha(f"rejected: {reason}")
            return reply(consultacenso.error_reply(consultacenso.CAPTCHA_TEXT), "captcha_rejected")
        stats.captcha("accepted")
        documento = request.get("documento")
        documento = str(documento).strip() if isinstance(documento, str | int) else ""
        if not is_valid_nuip(documento):
            return reply(consultacenso.error_reply(consultacenso.BAD_DOCUMENT_TEXT), "bad_nuip")
        election = request.get("eleccionId", consultacenso.DEFAULT_ELECTION_ID)
        try:
            election_id = int(election) if not isinstance(election, bool) else -1
        except (TypeError, ValueError):
            election_id = -1
        if election_id not in consultacenso.election_ids():
            return reply(consultacenso.error_reply(consultacenso.BAD_ELECTION_TEXT), "bad_eleccion")
        citizen = self._citizen(documento)
        stats.lookup("consultacenso", documento)
        return reply(consultacenso.citizen_reply(citizen), citizen.estado)

    def _citizen(self, nuip: str):
        """The census row of ``nuip``, after the per-cédula switches.

        ``hang_nuip`` never answers that cédula, ``lookup_hold`` holds every census lookup
        that long (both counted as in flight, so overlapping lookups of one cédula show in
        ``stats.concurrent_lookups``) and ``place_text`` replaces a found voting place.
        """
        stats, switches = self.app.stats, self.app.switches
        stats.lookup_started(nuip)
        try:
            if nuip == switches.value("hang_nuip"):
                stats.outcome("replica", "hang_nuip")
                self.app.stopping.wait(HANG_SECONDS)
            hold = float(switches.value("lookup_hold"))  # type: ignore[arg-type]
            if hold > 0:
                self.app.stopping.wait(hold)
            citizen = lookup(self.app.citizens, nuip)
            text = switches.value("place_text")
            if text and citizen.estado == "found":
                citizen = dataclasses.replace(citizen, puesto=text, direccion=text)
            return citizen
        finally:
            stats.lookup_ended(nuip)

    # ---- eleccionescolombia.registraduria.gov.co/identificacion + its API -----------------------------

    def ec_page(self) -> None:
        switches = self.app.switches
        if switches.take("ec_hang", "ec_hang_get"):
            return self._hang("eleccionescolombia")
        if switches.take("ec_get_500"):
            self.app.stats.outcome("eleccionescolombia", "get_500")
            return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"", "text/html; charset=utf-8")
        mode = str(switches.value("ec_captcha"))
        self.app.stats.outcome("eleccionescolombia", f"page_{mode}")
        page = eleccionescolombia.render_page(mode, self._sitekey(ELECCIONESCOLOMBIA_SITEKEY))
        self._send(HTTPStatus.OK, page, "text/html; charset=utf-8", (("Cache-Control", "no-cache"),))

    def ec_preflight(self) -> None:
        """The browser's CORS preflight: on the real site the API lives on another host."""
        self._send(HTTPStatus.NO_CONTENT, b"", "text/plain", eleccionescolombia.CORS_HEADERS)

    def ec_lookup(self) -> None:
        """The API POST. Check order: hang, down, WAF, body, captcha, document, request, faults, census."""
        app, switches, stats = self.app, self.app.switches, self.app.stats
        if switches.take("ec_hang", "ec_hang_post"):
            return self._hang("eleccionescolombia")
        body = self._body()
        if body is None:
            return None
        if switches.take("ec_down"):
            stats.outcome("eleccionescolombia", "down")
            return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, eleccionescolombia.DOWN_BODY, "text/html")
        if switches.take("ec_waf"):
            stats.outcome("eleccionescolombia", "waf")
            return self._send(HTTPStatus.OK, wsp.render_waf_page(), "text/html; charset=UTF-8")

        def reply(payload: bytes, outcome: str, status: int = HTTPStatus.OK) -> None:
            stats.outcome("eleccionescolombia", outcome)
            headers = eleccionescolombia.CORS_HEADERS
            self._send(status, payload, "application/json; charset=utf-8", headers)

        def refuse(status: int, text: str, outcome: str) -> None:
            reply(eleccionescolombia.error_reply(status, text), outcome, status)

        try:
            request = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            request = None
        if not isinstance(request, dict):
            return refuse(HTTPStatus.BAD_REQUEST, eleccionescolombia.BAD_REQUEST_TEXT, "bad_request")
        token = eleccionescolombia.bearer_token(self.headers.get("Authorization", ""))
        v3 = switches.value("ec_captcha") == "v3"
        min_score = eleccionescolombia.V3_MIN_SCORE if v3 else None
        forced = switches.take("ec_captcha_reject")
        reason = (
            app.tokens.verify(token, self._sitekey(ELECCIONESCOLOMBIA_SITEKEY), min_score=min_score)
            if token
            else "missing"
        )
        if forced or reason:
            stats.captcha(f"rejected: {'forced' if forced else reason}")
            return refuse(HTTPStatus.UNAUTHORIZED, eleccionescolombia.CAPTCHA_TEXT, "captcha_rejected")
        stats.captcha("accepted_v3" if v3 else "accepted")
        document = request.get("identification")
        document = (
            str(document).strip()
            if isinstance(document, str | int) and not isinstance(document, bool)
            else ""
        )
        if not is_valid_nuip(document):
            return refuse(HTTPStatus.UNPROCESSABLE_ENTITY, eleccionescolombia.BAD_DOCUMENT_TEXT, "bad_nuip")
        if (
            request.get("identification_type", "CC") != "CC"
            or request.get("election_code") not in eleccionescolombia.ELECTION_CODES
        ):
            return refuse(HTTPStatus.BAD_REQUEST, eleccionescolombia.BAD_REQUEST_TEXT, "bad_request")
        if switches.take("ec_upstream_timeout"):
            text = eleccionescolombia.UPSTREAM_TIMEOUT_TEXT
            return refuse(HTTPStatus.GATEWAY_TIMEOUT, text, "upstream_timeout")
        if switches.take("ec_maintenance"):
            text = eleccionescolombia.MAINTENANCE_TEXT
            return refuse(HTTPStatus.SERVICE_UNAVAILABLE, text, "maintenance")
        citizen = self._citizen(document)
        stats.lookup("eleccionescolombia", document)
        return reply(eleccionescolombia.citizen_reply(citizen), citizen.estado)

    # ---- index and control -----------------------------------------------------------------------

    def index(self) -> None:
        body = (
            "<!DOCTYPE html><html lang='es'><head><meta charset='utf-8'><title>Réplica Registraduría</title>"
            "</head><body><h1>Réplica local de la Registraduría</h1><ul>"
            "<li><a href='/censo/consultar/'>wsp: /censo/consultar/</a></li>"
            "<li><a href='/consultar/'>consultacenso: /consultar/</a> (alias /consultacenso/)</li>"
            "<li><a href='/identificacion'>eleccionescolombia: /identificacion</a></li>"
            "<li><a href='/__control__'>/__control__</a> · <a href='/__control__/stats'>stats</a></li>"
            "</ul></body></html>"
        )
        self._send(HTTPStatus.OK, body.encode("utf-8"), "text/html; charset=utf-8")

    def favicon(self) -> None:
        self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")

    def logo(self) -> None:
        """The pages' header image: a real subresource, so tests can see the client skip images."""
        self._send(HTTPStatus.OK, (wsp.STATIC / "escudo.svg").read_bytes(), "image/svg+xml")

    def _control(self, method: str, path: str) -> None:
        app = self.app
        if method == "GET" and path in (CONTROL_PREFIX, CONTROL_PREFIX + "/"):
            return self._json(app.switches.snapshot())
        if method == "GET" and path == CONTROL_PREFIX + "/stats":
            return self._json({**app.stats.snapshot(), "sessions": len(app.sessions)})
        if method == "GET" and path == CONTROL_PREFIX + "/hits":
            return self._json(app.stats.hits())
        if method == "POST" and path == CONTROL_PREFIX + "/reset":
            if self._body() is None:
                return None
            app.stats.reset()
            return self._json(app.switches.reset())
        if method == "POST" and path in (CONTROL_PREFIX, CONTROL_PREFIX + "/"):
            body = self._body()
            if body is None:
                return None
            try:
                changes = json.loads(body.decode("utf-8") or "{}")
                if not isinstance(changes, dict):
                    raise SwitchError("expected a JSON object of switches")
                return self._json(app.switches.update(changes))
            except (ValueError, SwitchError) as exc:
                return self._json({"error": str(exc)}, HTTPStatus.BAD_REQUEST)
        return self._json({"error": f"no control route {method} {path}"}, HTTPStatus.NOT_FOUND)


def _parse_multipart(content_type: str, body: bytes) -> dict[str, str]:
    """Fields of a multipart/form-data body (what the page's FormData sends)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", errors="replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        fields[str(name)] = payload.decode("utf-8", errors="replace")
    return fields


ROUTES = {
    ("GET", "/"): ReplicaHandler.index,
    ("GET", "/favicon.ico"): ReplicaHandler.favicon,
    ("GET", "/static/escudo.svg"): ReplicaHandler.logo,
    **{("GET", path): ReplicaHandler.wsp_page for path in WSP_PATHS},
    **{("POST", path): ReplicaHandler.wsp_post for path in WSP_PATHS},
    ("GET", "/recaptcha/api.js"): ReplicaHandler.recaptcha_js,
    ("POST", "/recaptcha/api2/demo-verify"): ReplicaHandler.recaptcha_demo_verify,
    ("GET", "/in.php"): ReplicaHandler.twocaptcha_in,
    ("POST", "/in.php"): ReplicaHandler.twocaptcha_in,
    ("GET", "/res.php"): ReplicaHandler.twocaptcha_res,
    ("POST", "/res.php"): ReplicaHandler.twocaptcha_res,
    **{("GET", path): ReplicaHandler.consultacenso_page for path in CONSULTACENSO_PAGES},
    ("GET", "/back/api/elecciones"): ReplicaHandler.consultacenso_elections,
    ("POST", "/back/api/consulta"): ReplicaHandler.consultacenso_lookup,
    **{("GET", path): ReplicaHandler.wsp_script for path in WSP_SCRIPTS},
    **{("GET", path): ReplicaHandler.ec_page for path in eleccionescolombia.PAGE_PATHS},
    ("POST", eleccionescolombia.API_PATH): ReplicaHandler.ec_lookup,
    ("OPTIONS", eleccionescolombia.API_PATH): ReplicaHandler.ec_preflight,
}


def make_server(
    host: str = "127.0.0.1",
    port: int = 8001,
    *,
    switches: dict[str, object] | None = None,
    citizens_file: Path | None = None,
    verbose: bool = False,
) -> ReplicaServer:
    """Build (and bind) a replica server; call ``serve_forever()`` on it, then ``stop_server()``."""
    citizens = load_citizens(citizens_file) if citizens_file else load_citizens()
    app = ReplicaApp(switches=Switchboard(switches), citizens=citizens, verbose=verbose)
    return ReplicaServer((host, port), app)


def stop_server(server: ReplicaServer) -> None:
    """Release hung requests, stop the serve loop and close the socket."""
    server.app.stopping.set()
    server.shutdown()
    server.server_close()
