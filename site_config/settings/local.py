"""Developer machine: debug on, a throwaway secret, the replica as the Registraduría."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-a-secret")
# Against the local replica the captcha stand-in answers at once; no need to wait 5 s.
TWOCAPTCHA_POLLING_INTERVAL = env.float("TWOCAPTCHA_POLLING_INTERVAL", default=0.2)
