"""Test run: fast hashing, short retry policy, real broker and database."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env

SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TWOCAPTCHA_POLLING_INTERVAL = 0.1
SCRAPER_DEADLINE_SECONDS = env.float("SCRAPER_DEADLINE_SECONDS", default=20.0)
LOOKUP_TIME_LIMIT_MS = env.int("LOOKUP_TIME_LIMIT_MS", default=40_000)
LOOKUP_MAX_RETRIES = env.int("LOOKUP_MAX_RETRIES", default=2)
LOOKUP_MIN_BACKOFF_MS = env.int("LOOKUP_MIN_BACKOFF_MS", default=200)
LOOKUP_MAX_BACKOFF_MS = env.int("LOOKUP_MAX_BACKOFF_MS", default=1000)
LOOKUP_LEASE_SECONDS = env.int("LOOKUP_LEASE_SECONDS", default=60)
# Each pytest run gets its own queues (worker subprocesses get the prefix in their
# environment), so a `make run` worker on the same broker never takes test messages.
LOOKUP_QUEUE_PREFIX = env("LOOKUP_QUEUE_PREFIX", default=f"test{os.getpid()}.")
# Each pytest run keeps its politeness keys apart (worker subprocesses get the prefix too), and
# the breaker is off unless a test turns it on: tests that force WAF blocks must not open it
# for the tests after them.
POLITENESS_KEY_PREFIX = env("POLITENESS_KEY_PREFIX", default=f"test{os.getpid()}:")
REGISTRADURIA_BREAKER_ENABLED = env.bool("REGISTRADURIA_BREAKER_ENABLED", default=False)
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so worker subprocesses started by end-to-end tests see
    # the same test database (they get its path in DATABASE_URL); one per pytest
    # process so parallel runs never share it. pytest-django deletes it at the end.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
