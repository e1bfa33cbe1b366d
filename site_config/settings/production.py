"""Production: secrets required, HTTPS assumed behind a proxy."""

from .base import *  # noqa: F403
from .base import DATABASES, LOGGING, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")  # no default: a missing secret fails at boot
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# A year: browsers then refuse plain HTTP to this host for that long. Subdomains and
# the browsers' preload list are commitments for the whole domain: opt in.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# `check --deploy` must report nothing with the defaults (a test runs it). Its two HSTS
# reminders (W005 subdomains, W021 preload) are decisions for the whole domain that the two
# settings above leave to the operator; once one is on, its reminder is moot anyway.
SILENCED_SYSTEM_CHECKS = [
    *(["security.W005"] if not SECURE_HSTS_INCLUDE_SUBDOMAINS else []),
    *(["security.W021"] if not SECURE_HSTS_PRELOAD else []),
]

# Database metrics (queries, errors, connections) for Prometheus: django-prometheus'
# wrapper of the same backend.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"

# ------------------------------------------------------------------------------
# Logging: one JSON object per line for the log shipper; its clock is the app's
# (TIME_ZONE, America/Bogota, with its offset). Personal data stays masked: the masking happens
# where the code logs, before any formatter.
# ------------------------------------------------------------------------------
LOGGING["formatters"]["json"] = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
    "datefmt": "%Y-%m-%dT%H:%M:%S%z",
}
for _handler in LOGGING["handlers"].values():
    _handler["formatter"] = "json"

# ------------------------------------------------------------------------------
# The real Registraduría and a real captcha service: no replica in production.
# ------------------------------------------------------------------------------
REGISTRADURIA_WSP_URL = env(
    "REGISTRADURIA_WSP_URL", default="https://wsp.registraduria.gov.co/censo/consultar/"
)
REGISTRADURIA_CONSULTACENSO_URL = env(
    "REGISTRADURIA_CONSULTACENSO_URL", default="https://consultacenso.registraduria.gov.co/consultar/"
)
REGISTRADURIA_ELECCIONESCOLOMBIA_URL = env(
    "REGISTRADURIA_ELECCIONESCOLOMBIA_URL",
    default="https://eleccionescolombia.registraduria.gov.co/identificacion",
)
TWOCAPTCHA_SERVER = env("TWOCAPTCHA_SERVER", default="https://2captcha.com")
TWOCAPTCHA_API_KEY = env("TWOCAPTCHA_API_KEY")  # no default: a paid key must be configured
TWOCAPTCHA_POLLING_INTERVAL = env.float("TWOCAPTCHA_POLLING_INTERVAL", default=5.0)
