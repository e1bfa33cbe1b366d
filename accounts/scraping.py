"""Bridge from Django settings to the plain-Python Registraduría client (``scrapers.client``)."""

from __future__ import annotations

from dataclasses import fields

from django.conf import settings

from scrapers.client import ClientConfig


def build_client_config(**overrides) -> ClientConfig:
    """Return a :class:`ClientConfig` from settings; ``overrides`` (ClientConfig field names) win.

    Settings read: REGISTRADURIA_WSP_URL, REGISTRADURIA_CONSULTACENSO_URL, CAPTCHA_SOLVER,
    TWOCAPTCHA_API_KEY, TWOCAPTCHA_SERVER, TWOCAPTCHA_POLLING_INTERVAL, SCRAPER_DEADLINE_SECONDS,
    CHROMIUM_PATH, BROWSER_PAGE_POOL_SIZE, BROWSER_PAGE_MAX_USES.

    :raises TypeError: on an override that is not a ClientConfig field.
    """
    known = {f.name for f in fields(ClientConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown ClientConfig field(s): {', '.join(sorted(unknown))}")
    values = {
        "wsp_url": settings.REGISTRADURIA_WSP_URL,
        "consultacenso_url": settings.REGISTRADURIA_CONSULTACENSO_URL,
        "captcha_solver": settings.CAPTCHA_SOLVER,
        "twocaptcha_api_key": settings.TWOCAPTCHA_API_KEY,
        "twocaptcha_server": settings.TWOCAPTCHA_SERVER,
        "polling_interval": float(settings.TWOCAPTCHA_POLLING_INTERVAL),
        "deadline_seconds": float(settings.SCRAPER_DEADLINE_SECONDS),
        "chromium_path": settings.CHROMIUM_PATH,
        "pool_size": int(settings.BROWSER_PAGE_POOL_SIZE),
        "page_max_uses": int(settings.BROWSER_PAGE_MAX_USES),
    }
    values.update(overrides)
    return ClientConfig(**values)
