"""wsp.registraduria.gov.co/censo/consultar/: the jQuery form whose POST answers JSON with an HTML message."""

from __future__ import annotations

import contextlib
import logging

from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from ..registraduria import LookupResult, LookupStatus, parse_response
from ..tokens import CaptchaSpec
from .base import (
    LookupContext,
    Source,
    choose,
    fill,
    load,
    read_form,
    same_path,
    server_error,
    set_v2_token,
    submit,
)

logger = logging.getLogger("scrapers.client")

# select#tipo: -1 is "the current voting place"; the other values name one election.
CURRENT_PLACE = "-1"


async def lookup(ctx: LookupContext, number: str) -> LookupResult:
    page, url = ctx.page, ctx.url
    while True:
        await load(page, url, "#nuip")
        # Re-read on every attempt: the nonce is per page load, and the site may rotate its key.
        sitekey, nonce = await read_form(page, timeout_ms=ctx.timeout_ms)
        if not nonce:
            return LookupResult(LookupStatus.SITE_ERROR, error="page without a nonce (#token)")
        # A session-expiry retry needs a fresh token too (a token verifies once): in the
        # token-first order that is a NeedToken, and this runs again on a new page with
        # ctx.state remembering the retry.
        token = await ctx.token(CaptchaSpec(sitekey))
        await fill(page, "#nuip", number)
        await choose(page, "#tipo", CURRENT_PLACE)
        await set_v2_token(page, token)
        response, body, navigated = await submit(
            page, "#enviar", lambda r: r.request.method == "POST" and same_path(r.url, url)
        )
        if body is None and navigated:
            result = LookupResult(LookupStatus.SESSION_EXPIRED, error="page reloaded itself after the POST")
        elif body is None:
            result = LookupResult(LookupStatus.SITE_ERROR, error=f"POST {response.status}: body unavailable")
        else:
            result = parse_response(body)
        result = server_error(result, response)
        if result.status == LookupStatus.SESSION_EXPIRED and not ctx.state.get("session_retried"):
            ctx.state["session_retried"] = True
            # The page's JS reloads itself on this reply. Let that reload land first: arriving
            # after our own load, it would wipe the filled form and replace the nonce under us.
            if not navigated:
                await _own_reload(page)
            logger.info("session expired; reloading once")
            continue
        return result


async def _own_reload(page: Page) -> None:
    with contextlib.suppress(PlaywrightTimeoutError):
        await page.wait_for_event("framenavigated", lambda frame: frame == page.main_frame, timeout=2000)


SOURCE = Source(
    name="wsp",
    url_setting="REGISTRADURIA_WSP_URL",
    replica_path="/censo/consultar/",
    lookup=lookup,
    parse=parse_response,
    captcha="6LcthjAgAAAAAFIQLxy52074zanHv47cIvmIHglH",
)
