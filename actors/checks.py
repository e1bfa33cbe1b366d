"""System checks: a wrong REGISTRADURIA_SOURCES fails ``manage.py check`` (and every process start),
not the first lookup in a worker."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register()
def registraduria_sources(app_configs, **kwargs):
    from actors.registraduria import build_client_config

    try:
        build_client_config()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="actors.E001", hint="see REGISTRADURIA_SOURCES in the README")]
    return []


@checks.register()
def politeness_settings(app_configs, **kwargs):
    from actors.registraduria import build_politeness_config

    try:
        build_politeness_config()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                id="actors.E002",
                hint="see REGISTRADURIA_RATE_LIMITS and REGISTRADURIA_BREAKER_* in the README",
            )
        ]
    return []
