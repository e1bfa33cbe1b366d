"""consultacenso.registraduria.gov.co/consultar/: a page whose JS posts JSON to ``/back/api/consulta``."""

from __future__ import annotations

from ..registraduria import LookupResult, LookupStatus, parse_consultacenso
from ..tokens import CaptchaSpec
from .base import (
    LookupContext,
    Source,
    fill,
    load,
    path_endswith,
    read_form,
    server_error,
    set_v2_token,
    submit,
    until,
)

_HAS_ELECTIONS_JS = "() => document.querySelectorAll('#eleccion option').length > 0"
_ELECTIONS_OR_MESSAGE_JS = """() => document.querySelectorAll('#eleccion option').length > 0
    || (document.querySelector('#mensaje') || {}).textContent"""


def _is_api_reply(response) -> bool:
    return response.request.method == "POST" and path_endswith(response.url, "/back/api/consulta")


async def lookup(ctx: LookupContext, number: str) -> LookupResult:
    page = ctx.page
    await load(page, ctx.url, "#documento")
    sitekey, _ = await read_form(page, timeout_ms=ctx.timeout_ms)
    # The page fills its election list from /back/api/elecciones; it says so when that fails.
    await until(page, _ELECTIONS_OR_MESSAGE_JS, timeout_ms=ctx.timeout_ms, waiting_for="#eleccion")
    if not await page.evaluate(_HAS_ELECTIONS_JS):
        message = (await page.text_content("#mensaje") or "").strip()
        return LookupResult(LookupStatus.SITE_ERROR, message=message, error="elections did not load")
    token = await ctx.token(CaptchaSpec(sitekey))
    await fill(page, "#documento", number)
    await set_v2_token(page, token)
    response, body, _ = await submit(
        page,
        "#consultar",
        lambda r: r.request.method == "POST" and path_endswith(r.url, "/back/api/consulta"),
    )
    if body is None:
        return LookupResult(LookupStatus.SITE_ERROR, error=f"POST {response.status}: body unavailable")
    return server_error(parse_consultacenso(body), response)


SOURCE = Source(
    name="consultacenso",
    url_setting="REGISTRADURIA_CONSULTACENSO_URL",
    replica_path="/consultar/",
    lookup=lookup,
    parse=parse_consultacenso,
    captcha="6LeLRw0tAAAAAOfUZZ34vi2KKHjukhLhQ5lfzuLM",
)
