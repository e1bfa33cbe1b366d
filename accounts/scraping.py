"""Bridge from Django settings to the plain-Python Registraduría client (``scrapers.client``)."""

from __future__ import annotations

from dataclasses import fields

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from scrapers.client import ClientConfig
from scrapers.sources import SOURCES


def build_client_config(**overrides) -> ClientConfig:
    """Return a :class:`ClientConfig` from settings; ``overrides`` (ClientConfig field names) win.

    Settings read: REGISTRADURIA_SOURCES (names and order), each source's URL setting
    (REGISTRADURIA_WSP_URL, REGISTRADURIA_CONSULTACENSO_URL, REGISTRADURIA_ELECCIONESCOLOMBIA_URL,
    named by ``scrapers.sources.SOURCES[name].url_setting``), CAPTCHA_SOLVER,
    TWOCAPTCHA_API_KEY, TWOCAPTCHA_SERVER, TWOCAPTCHA_POLLING_INTERVAL, SCRAPER_DEADLINE_SECONDS,
    CHROMIUM_PATH, BROWSER_PAGE_POOL_SIZE, BROWSER_PAGE_MAX_USES.

    :raises TypeError: on an override that is not a ClientConfig field.
    :raises ImproperlyConfigured: on an unknown or repeated source name, or an enabled source
        without a URL.
    """
    known = {f.name for f in fields(ClientConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown ClientConfig field(s): {', '.join(sorted(unknown))}")
    sources = tuple(name.strip() for name in settings.REGISTRADURIA_SOURCES if name.strip())
    unknown_sources = [name for name in sources if name not in SOURCES]
    if unknown_sources or not sources or len(set(sources)) != len(sources):
        raise ImproperlyConfigured(
            f"REGISTRADURIA_SOURCES={','.join(sources)!r}: expected distinct names among {', '.join(SOURCES)}"
        )
    urls = {name: getattr(settings, source.url_setting, "") for name, source in SOURCES.items()}
    missing = [SOURCES[name].url_setting for name in sources if not urls[name]]
    if missing:
        raise ImproperlyConfigured(f"no URL for enabled source(s): {', '.join(missing)}")
    values = {
        "sources": sources,
        # Sources with a ClientConfig field of their own get their URL there (overridable by
        # name, as the lookup_cedula command does); later ones through source_urls.
        "source_urls": {name: url for name, url in urls.items() if f"{name}_url" not in known},
        "wsp_url": settings.REGISTRADURIA_WSP_URL,
        "consultacenso_url": settings.REGISTRADURIA_CONSULTACENSO_URL,
        "eleccionescolombia_url": settings.REGISTRADURIA_ELECCIONESCOLOMBIA_URL,
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
