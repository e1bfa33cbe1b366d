"""eleccionescolombia.registraduria.gov.co/identificacion: a JS page whose API answers plain JSON.

The page posts ``{"identification", "identification_type", "election_code", "platform", "module"}``
to its API (``…/api/v1/citizen/get-information``) with ``Authorization: Bearer <reCAPTCHA token>``
and renders the reply (docs/registraduria.md). Its captcha is either a v2 checkbox (a
``.g-recaptcha`` widget on the page) or v3 (``api.js?render=<key>`` and ``grecaptcha.execute``);
both are solved through the captcha service, and the token goes where the page looks for it.
"""

from __future__ import annotations

from ..registraduria import (
    _CAPTCHA_MARKERS,
    _SITE_ERROR_MARKERS,
    LookupResult,
    LookupStatus,
    _get,
    _has,
    _is_false,
    _is_true,
    _not_a_cancellation,
    _parse_json_reply,
    _parse_message,
    _scalar_text,
    clean_text,
    find_novedad,
    novedad_status,
)
from ..text import fold
from ..tokens import CaptchaSpec
from .base import (
    EXISTS_JS,
    LookupContext,
    Source,
    body_of,
    click,
    fill,
    load,
    path_endswith,
    server_error,
    set_v2_token,
    submit,
    until,
)

API_PATH = "/api/v1/citizen/get-information"
SUBMIT_BUTTON = "button:has-text('Consultar')"
RENDER_MS = 5000
V3_MIN_SCORE = 0.3  # what solving services can deliver; more is "almost impossible" (2captcha)

# Which captcha the page uses, once it has rendered: a v2 widget wins over a v3 script, since
# a page that shows the checkbox reads the checkbox.
_CAPTCHA_MODE_JS = """() => {
    const box = document.querySelector('.g-recaptcha[data-sitekey]');
    if (box) { return {mode: 'v2', sitekey: box.getAttribute('data-sitekey')}; }
    for (const script of document.querySelectorAll('script[src]')) {
        const url = new URL(script.src, location.href);
        const key = url.searchParams.get('render');
        if (/\\/recaptcha\\/api\\.js$/.test(url.pathname) && key && key !== 'explicit') {
            return {mode: 'v3', sitekey: key};
        }
    }
    return null;
}"""

# v3: the page asks grecaptcha.execute(key, {action}) for a token when the button is clicked.
# We take that call over, so the page waits for the token our solver gets for the very key and
# action the page asked with.
_HOLD_EXECUTE_JS = """() => {
    window.__lookupExecute = null;
    window.grecaptcha.execute = (key, options) => new Promise((resolve) => {
        window.__lookupExecute = {key: String(key || ''), action: (options && options.action) || '', resolve};
    });
}"""
_EXECUTE_CALLED_JS = (
    "() => window.__lookupExecute && {key: window.__lookupExecute.key, action: window.__lookupExecute.action}"
)
_RELEASE_EXECUTE_JS = "(token) => window.__lookupExecute.resolve(token)"
_GRECAPTCHA_READY_JS = "() => !!(window.grecaptcha && window.grecaptcha.execute)"


def _is_api_reply(response) -> bool:
    return response.request.method == "POST" and path_endswith(response.url, API_PATH)


async def lookup(ctx: LookupContext, number: str) -> LookupResult:
    page = ctx.page
    # The real page is a React app: the form appears once its script has run.
    await load(page, ctx.url, "#document", render_ms=RENDER_MS)
    wait = ctx.timeout_ms
    mode = await until(page, _CAPTCHA_MODE_JS, timeout_ms=wait, waiting_for="the captcha")
    await fill(page, "#document", number)
    if mode["mode"] == "v2":
        await until(page, EXISTS_JS, "#g-recaptcha-response", timeout_ms=wait, waiting_for="the widget")
        token = await ctx.token(CaptchaSpec(mode["sitekey"]))
        await set_v2_token(page, token)
        response, body, _ = await submit(page, SUBMIT_BUTTON, _is_api_reply)
    else:
        await until(page, _GRECAPTCHA_READY_JS, timeout_ms=wait, waiting_for="grecaptcha.execute")
        await page.evaluate(_HOLD_EXECUTE_JS)
        async with page.expect_response(_is_api_reply) as reply:
            await click(page, SUBMIT_BUTTON)
            called = await until(page, _EXECUTE_CALLED_JS, timeout_ms=wait, waiting_for="execute()")
            token = await ctx.token(
                CaptchaSpec(
                    called["key"] or mode["sitekey"],
                    version="v3",
                    action=called["action"] or "verify",
                    min_score=V3_MIN_SCORE,
                )
            )
            await page.evaluate(_RELEASE_EXECUTE_JS, token)
        response = await reply.value
        body = await body_of(response)
    if body is None:
        return LookupResult(LookupStatus.SITE_ERROR, error=f"POST {response.status}: body unavailable")
    return server_error(parse_eleccionescolombia(body), response)


# ---- the reply -----------------------------------------------------------------------------------


def parse_eleccionescolombia(body: object) -> LookupResult:
    """Turn the body of eleccionescolombia's ``get-information`` POST into a :class:`LookupResult`.

    Pure and total like ``parse_response``; ``source`` is ``"eleccionescolombia"``. The reply is
    ``{status, status_code, message?, data: {voter, polling_place: {stand, stand_code, table,
    place_address: {state, town, address, zone}}, novelty: [{name, resolution, date, …}],
    is_in_census}}``. In order:

    - ``status`` false or ``status_code`` ≥ 400: captcha texts → ``CAPTCHA_REJECTED``, error or
      maintenance texts and 5xx codes → ``SITE_ERROR``, anything else → ``UNKNOWN``;
    - a novelty that cancels or is pending (``novedad_status`` on its ``name``) → that state;
    - a ``polling_place`` with a table → ``FOUND``: puesto ← stand, mesa ← table, departamento /
      municipio / dirección / zona ← place_address state / town / address / zone;
    - a novelty that cancels nothing (plain "Vigente") → ``UNKNOWN`` with the novedad kept;
    - ``is_in_census`` false → ``NOT_FOUND``; anything else → ``UNKNOWN``.
    """
    return _parse_json_reply(body, "eleccionescolombia", _decide)


def _status_code(data: dict) -> int:
    code = _get(data, "status_code", "statuscode", "code")
    try:
        return int(code) if not isinstance(code, bool) else 0
    except (TypeError, ValueError):
        return 0


def _message(data: dict, payload: object) -> str:
    message = _get(data, "message", "mensaje", "error")
    if message is None and isinstance(payload, dict):
        message = _get(payload, "message", "mensaje")
    return clean_text(message, 2000) if isinstance(message, str) else ""


def _novelty_status(entry: dict) -> LookupStatus:
    return novedad_status(_scalar_text(_get(entry, "name", "nombre")))[0]


def _first_novelty(payload: dict) -> dict[str, str]:
    novelties = _get(payload, "novelty", "novelties", "novedad")
    if isinstance(novelties, dict):
        novelties = [novelties]
    if not isinstance(novelties, list):
        return {}
    entries = [entry for entry in novelties if isinstance(entry, dict)]
    # A cancellation or a pending procedure outranks a plain "Vigente" line listed beside it.
    entries.sort(
        key=lambda entry: (
            novedad_status(_scalar_text(_get(entry, "name", "nombre")))[0] is LookupStatus.UNKNOWN
        )
    )
    for entry in entries:
        name = _scalar_text(_get(entry, "name", "nombre", "description_line_1"))
        if name:
            return {
                "novedad": name,
                "resolucion": _scalar_text(_get(entry, "resolution", "resolucion")),
                "fecha_novedad": _scalar_text(_get(entry, "date", "fecha")),
            }
    return {}


def _place(payload: dict) -> dict[str, str]:
    place = _get(payload, "polling_place", "pollingplace")
    if not isinstance(place, dict):
        return {}
    address = _get(place, "place_address", "address")
    address = address if isinstance(address, dict) else {}
    return {
        "departamento": _scalar_text(_get(address, "state", "department")),
        "municipio": _scalar_text(_get(address, "town", "municipality", "city")),
        "puesto": _scalar_text(_get(place, "stand", "name")),
        "direccion": _scalar_text(_get(address, "address")),
        "mesa": _scalar_text(_get(place, "table", "mesa")),
        "zona": _scalar_text(_get(address, "zone", "zona")),
    }


def _refused(status: object) -> bool:
    return _is_false(status) or (isinstance(status, str) and fold(status) in ("error", "fail", "failed"))


def _decide(data: dict, raw: str, source: str) -> LookupResult:
    payload = _get(data, "data")
    code = _status_code(data)
    message = _message(data, payload)
    common = {"raw": raw, "source": source, "message": message}
    if _refused(_get(data, "status")) or code >= 400 or not isinstance(payload, dict):
        text = fold(message)
        if _has(text, (*_CAPTCHA_MARKERS, "recaptcha")) or code in (401, 403):
            return LookupResult(LookupStatus.CAPTCHA_REJECTED, **common)
        if _has(text, (*_SITE_ERROR_MARKERS, "no disponible")) or code >= 500:
            return LookupResult(
                LookupStatus.SITE_ERROR, error=f"site error reply ({code or 'no code'})", **common
            )
        return LookupResult(LookupStatus.UNKNOWN, error=f"refused ({code or 'no code'})", **common)

    novelty = _first_novelty(payload)
    status, deceased = novedad_status(novelty.get("novedad", ""))
    if novelty and status is not LookupStatus.UNKNOWN:
        return LookupResult(status, deceased=deceased, **novelty, **common)
    place = _place(payload)
    if place.get("mesa"):
        return LookupResult(LookupStatus.FOUND, **place, **common)
    if novelty:
        return _not_a_cancellation(novelty, common)
    if _is_false(_get(payload, "is_in_census")):
        return LookupResult(LookupStatus.NOT_FOUND, **common)
    # No novelty list, no census flag: the message alone may name the state, in the ANI's words.
    # Read like the other pages' HTML: entities decoded, markup dropped.
    named = find_novedad(_parse_message(message).text, folded=True)
    if named is not None and named.status is not LookupStatus.UNKNOWN:
        return LookupResult(named.status, deceased=named.deceased, novedad=named.phrase, **common)
    if _is_true(_get(payload, "is_in_census")):
        return LookupResult(LookupStatus.UNKNOWN, error="in census but no polling place", **common)
    return LookupResult(LookupStatus.UNKNOWN, error="unrecognised reply", **common)


SOURCE = Source(
    name="eleccionescolombia",
    url_setting="REGISTRADURIA_ELECCIONESCOLOMBIA_URL",
    replica_path="/identificacion",
    lookup=lookup,
    parse=parse_eleccionescolombia,
    captcha="6Lc9DmgrAAAAAJAjWVhjDy1KSgqzqJikY5z7I9SV",
)
