"""Production: secrets required, HTTPS assumed behind a proxy."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")  # no default: a missing secret fails at boot
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60)
SECURE_CONTENT_TYPE_NOSNIFF = True

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
