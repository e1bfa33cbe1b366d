"""Settings shared by every environment.

Every value comes from one django-environ ``Env``; environments only switch features
on and off. Production secrets have no default so a missing one fails at boot.
"""

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import environ

from site_config.csp import policy as _csp_policy

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A developer's .env is read when present; real deployments set the environment instead.
env.read_env(str(BASE_DIR / ".env"), overwrite=False)

# ------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
ROOT_URLCONF = "site_config.urls"
WSGI_APPLICATION = "site_config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# ------------------------------------------------------------------------------
# Internationalisation: the portal speaks Colombian Spanish on Bogotá time.
# ------------------------------------------------------------------------------
LANGUAGE_CODE = "es-co"
# Spanish only: otherwise LocaleMiddleware answers an English browser with Django's
# English messages mixed into the Spanish pages.
LANGUAGES = [("es-co", "Español (Colombia)")]
TIME_ZONE = "America/Bogota"
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------
# Database
# ------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, workers and the scheduler write the same file at once: WAL lets readers
    # proceed during a write, the busy timeout waits for the lock instead of failing,
    # and IMMEDIATE transactions take the write lock up front so two writers never
    # deadlock upgrading a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=30000;"
            "PRAGMA foreign_keys=ON;"
        ),
    }

# ------------------------------------------------------------------------------
# Applications
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    # django_dramatiq first: it builds the broker before any actor module is imported.
    "django_dramatiq",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_prometheus",
    "csp",
    "accounts",
    "actors",
]

MIDDLEWARE = [
    # /livez, /healthz and /metrics answer here, before host validation (site_config.health).
    "site_config.health.ProbeMiddleware",
    # First and last: django-prometheus times the whole stack (requests, latency, status).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.DataPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "site_config.csp.PrivacyHeadersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "site_config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ------------------------------------------------------------------------------
# Authentication
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {
        # The portal's subclasses: same rules, messages in "tú" (accounts/password_validation.py).
        "NAME": "accounts.password_validation.UserAttributeSimilarityValidator",
        # The default attributes (username, first_name, ...) do not exist on our user.
        "OPTIONS": {"user_attributes": ("cedula", "nombre_completo", "telefono")},
    },
    {"NAME": "accounts.password_validation.MinimumLengthValidator"},
    {"NAME": "accounts.password_validation.CommonPasswordValidator"},
    {"NAME": "accounts.password_validation.NumericPasswordValidator"},
]
# "Recordarme" keeps the session 14 days; otherwise it ends with the browser.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)
# Failed logins for one cédula from one client: the lock a password guesser meets.
LOGIN_THROTTLE_MAX_FAILURES = env.int("LOGIN_THROTTLE_MAX_FAILURES", default=5)
# For one cédula from any client: softer, so strangers cannot lock a member out by
# guessing, yet a guesser spread over many addresses still meets a ceiling.
LOGIN_THROTTLE_CEDULA_MAX_FAILURES = env.int("LOGIN_THROTTLE_CEDULA_MAX_FAILURES", default=50)
LOGIN_THROTTLE_WINDOW_SECONDS = env.int("LOGIN_THROTTLE_WINDOW_SECONDS", default=15 * 60)
# Per client IP: higher, since members at one office or rally share a public address.
LOGIN_THROTTLE_IP_MAX_FAILURES = env.int("LOGIN_THROTTLE_IP_MAX_FAILURES", default=20)
# Each signup costs a scrape (and a paid captcha): sign-ups per client IP per window.
SIGNUP_THROTTLE_IP_MAX = env.int("SIGNUP_THROTTLE_IP_MAX", default=30)
SIGNUP_THROTTLE_WINDOW_SECONDS = env.int("SIGNUP_THROTTLE_WINDOW_SECONDS", default=3600)
# "This cédula already has an account" answers per client IP per login window: the
# reply says who is a member, so it is throttled like failed logins.
SIGNUP_PROBE_IP_MAX = env.int("SIGNUP_PROBE_IP_MAX", default=20)
# A leader's "evento" link for a rally: sign-ups through it get this per-IP limit per
# window instead (a crowd on one Wi-Fi), the link lives at most EVENT_LINK_MAX_HOURS and
# takes at most EVENT_LINK_MAX_SIGNUPS sign-ups in all (accounts/services/events.py).
SIGNUP_EVENT_IP_MAX = env.int("SIGNUP_EVENT_IP_MAX", default=300)
EVENT_LINK_MAX_HOURS = env.int("EVENT_LINK_MAX_HOURS", default=12)
EVENT_LINK_MAX_SIGNUPS = env.int("EVENT_LINK_MAX_SIGNUPS", default=1000)
# How many reverse proxies / load balancers YOU run in front of Django, each appending
# the address it saw to X-Forwarded-For. 0 (default): the client is REMOTE_ADDR and the
# header is ignored. N: the client is the N-th address from the right of the header
# (REMOTE_ADDR when the header has fewer). Too high a value lets clients pick their own
# address (spoofing the per-IP limits); too low lumps every client behind the proxy together.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# A CSRF failure (expired session, stale tab) gets a Spanish page instead of Django's.
CSRF_FAILURE_VIEW = "site_config.views.csrf_failure"

# ------------------------------------------------------------------------------
# Data policy (Ley 1581 de 2012)
# ------------------------------------------------------------------------------
# Bump the version when the policy text changes: every member is asked to accept the
# new one at their next request (accounts.middleware.DataPolicyMiddleware).
DATA_POLICY_VERSION = env("DATA_POLICY_VERSION", default="2026-12-01")
# The controller ("responsable del tratamiento") the policy page names, and where
# members exercise their rights.
DATA_CONTROLLER_NAME = env("DATA_CONTROLLER_NAME", default="La organización que administra PaginaMadre")
DATA_CONTROLLER_CONTACT = env("DATA_CONTROLLER_CONTACT", default="datos@paginamadre.example")

# ------------------------------------------------------------------------------
# Response headers: Content-Security-Policy (django-csp), Permissions-Policy and
# no-store on personal pages (site_config.csp). HTTPS-only headers are in production.
# ------------------------------------------------------------------------------
CONTENT_SECURITY_POLICY = _csp_policy()

# ------------------------------------------------------------------------------
# Cache (login throttling, rate limits). The database cache is shared by every
# process and machine without another service; production may point CACHE_URL
# at Redis or Memcached.
# ------------------------------------------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://django_cache")}

# ------------------------------------------------------------------------------
# Static files: Bootstrap and htmx are vendored, never loaded from a CDN.
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "site_config" / "static"]
# Local and test runs serve straight from the source folders: no collectstatic needed.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}


# ------------------------------------------------------------------------------
# Dramatiq on RabbitMQ
# ------------------------------------------------------------------------------
def _amqp_with_timeouts(url: str) -> str:
    """Bound every wait on the broker unless the URL already says otherwise.

    pika waits forever on a connection RabbitMQ has blocked (memory or disk alarm):
    a signup would hang with it. Timed out, the send fails, the row stays pending
    and the sweeper sends it later.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for key, value in {
        "blocked_connection_timeout": "30",
        "socket_timeout": "5",
        "stack_timeout": "10",
    }.items():
        query.setdefault(key, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


# Redis: short-lived state the whole fleet shares (the hourly captcha budget, per-source rate
# limits and circuit breakers). Nothing in it must survive a restart (docs/operations.md#redis).
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

# Every connection (Dramatiq's, bulk publishing, dead-letter tools) uses this URL.
RABBITMQ_URL = _amqp_with_timeouts(env("RABBITMQ_URL", default="amqp://guest:guest@127.0.0.1:5672/"))
DRAMATIQ_BROKER = {
    "BROKER": "dramatiq.brokers.rabbitmq.RabbitmqBroker",
    "OPTIONS": {
        "url": RABBITMQ_URL,
        # Publisher confirms: a send() returns only once RabbitMQ has the message.
        "confirm_delivery": True,
    },
    # Listed in full: passing MIDDLEWARE replaces dramatiq's defaults, and
    # django-dramatiq 0.15's own default names a Prometheus path that no longer exists.
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Pipelines",
        "dramatiq.middleware.Retries",
        "dramatiq.middleware.ShutdownNotifications",
        "dramatiq.middleware.CurrentMessage",
        "dramatiq.middleware.AsyncIO",
        # After AsyncIO: "after" hooks run in reverse order, so the browser is closed
        # once in-flight lookups are done but while the event loop still runs.
        "actors.registraduria.BrowserLifecycle",
        "django_dramatiq.middleware.DbConnectionsMiddleware",
    ],
}
# Worker metrics on dramatiq_prom_port (9191), see actors/metrics.py for the
# environment they need. Off only where no worker should open a port.
WORKER_METRICS = env.bool("WORKER_METRICS", default=True)
if WORKER_METRICS:
    DRAMATIQ_BROKER["MIDDLEWARE"] += [
        "dramatiq.middleware.prometheus.Prometheus",
        "actors.metrics.MetricsGuard",
    ]
DRAMATIQ_AUTODISCOVER_MODULES = ["lookups", "contact_imports"]
DRAMATIQ_TASKS_DATABASE = "default"

# ------------------------------------------------------------------------------
# Lookup pipeline
# ------------------------------------------------------------------------------
# The scraper gives up on its own well before the actor's time limit fires, so a
# lookup normally ends with a typed result rather than an async exception.
SCRAPER_DEADLINE_SECONDS = env.float("SCRAPER_DEADLINE_SECONDS", default=60.0)
LOOKUP_TIME_LIMIT_MS = env.int("LOOKUP_TIME_LIMIT_MS", default=120_000)
LOOKUP_MAX_RETRIES = env.int("LOOKUP_MAX_RETRIES", default=5)
LOOKUP_MIN_BACKOFF_MS = env.int("LOOKUP_MIN_BACKOFF_MS", default=15_000)
# Far under RabbitMQ's 30-minute consumer_timeout: retried messages are held unacked.
LOOKUP_MAX_BACKOFF_MS = env.int("LOOKUP_MAX_BACKOFF_MS", default=5 * 60_000)
# A claimed row whose worker vanished becomes claimable again after the lease.
LOOKUP_LEASE_SECONDS = env.int("LOOKUP_LEASE_SECONDS", default=180)
# Database connections one worker process holds at most, however many lookups are in flight:
# a lookup holds one only to claim its row and to write its result, never across the captcha
# wait (actors/lookups.py). Keep DRAMATIQ_PROCESSES times this far below max_connections.
LOOKUP_DB_CONNECTIONS = env.int("LOOKUP_DB_CONNECTIONS", default=8)
LOOKUP_REFRESH_COOLDOWN_SECONDS = env.int("LOOKUP_REFRESH_COOLDOWN_SECONDS", default=30)
LOOKUP_BULK_REFRESH_LIMIT = env.int("LOOKUP_BULK_REFRESH_LIMIT", default=10)
# Prepended to the queue names (lookups, refresh and their .DQ/.XQ): lets test runs
# and several deployments share one RabbitMQ vhost without eating each other's messages.
LOOKUP_QUEUE_PREFIX = env("LOOKUP_QUEUE_PREFIX", default="")
# Scrapes started by hand cost money (captcha) and load the site: a budget per requester.
LOOKUP_REFRESH_RATE_LIMIT = env.int("LOOKUP_REFRESH_RATE_LIMIT", default=60)
LOOKUP_REFRESH_RATE_WINDOW_SECONDS = env.int("LOOKUP_REFRESH_RATE_WINDOW_SECONDS", default=3600)
# Territorio exports hand out many members' data and cost seconds of CPU each (docs/network.md).
NETWORK_EXPORT_RATE_LIMIT = env.int("NETWORK_EXPORT_RATE_LIMIT", default=30)
NETWORK_EXPORT_RATE_WINDOW_SECONDS = env.int("NETWORK_EXPORT_RATE_WINDOW_SECONDS", default=3600)
# Importar (issue 14, docs/import.md): a leader's spreadsheet of contacts.
IMPORT_MAX_FILE_BYTES = env.int("IMPORT_MAX_FILE_BYTES", default=5 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=20_000)
# What an XLSX (a zip) may unpack to: a few MB of file cannot become gigabytes in memory.
IMPORT_MAX_UNZIPPED_BYTES = env.int("IMPORT_MAX_UNZIPPED_BYTES", default=100 * 1024 * 1024)
IMPORT_MAX_IN_FLIGHT = env.int("IMPORT_MAX_IN_FLIGHT", default=1)
IMPORT_DAILY_LOOKUP_BUDGET = env.int("IMPORT_DAILY_LOOKUP_BUDGET", default=20_000)
IMPORT_UPLOADS_PER_HOUR = env.int("IMPORT_UPLOADS_PER_HOUR", default=30)
IMPORT_BATCH_SIZE = env.int("IMPORT_BATCH_SIZE", default=1000)

# /healthz fails when the oldest signup lookup has waited longer than this.
HEALTH_MAX_LOOKUP_AGE_SECONDS = env.int("HEALTH_MAX_LOOKUP_AGE_SECONDS", default=120)

# ------------------------------------------------------------------------------
# Registraduría client (scrapers/). Defaults point at the local replica.
# ------------------------------------------------------------------------------
REPLICA_HOST = env("REPLICA_HOST", default="127.0.0.1")
REPLICA_PORT = env.int("REPLICA_PORT", default=8001)
REGISTRADURIA_WSP_URL = env(
    "REGISTRADURIA_WSP_URL", default=f"http://{REPLICA_HOST}:{REPLICA_PORT}/censo/consultar/"
)
REGISTRADURIA_CONSULTACENSO_URL = env(
    "REGISTRADURIA_CONSULTACENSO_URL", default=f"http://{REPLICA_HOST}:{REPLICA_PORT}/consultar/"
)
REGISTRADURIA_ELECCIONESCOLOMBIA_URL = env(
    "REGISTRADURIA_ELECCIONESCOLOMBIA_URL", default=f"http://{REPLICA_HOST}:{REPLICA_PORT}/identificacion"
)
# Which pages to ask, in order; the next one only when the previous is blocked or failing.
# Names are those of scrapers.sources.SOURCES; each has a REGISTRADURIA_<NAME>_URL above.
REGISTRADURIA_SOURCES = env.list(
    "REGISTRADURIA_SOURCES", default=["wsp", "consultacenso", "eleccionescolombia"]
)
CAPTCHA_SOLVER = env("CAPTCHA_SOLVER", default="2captcha")
TWOCAPTCHA_API_KEY = env("TWOCAPTCHA_API_KEY", default="replica-key")
TWOCAPTCHA_SERVER = env("TWOCAPTCHA_SERVER", default=f"http://{REPLICA_HOST}:{REPLICA_PORT}")
# 2captcha recommends polling every 5 s; the replica answers at once, so locally shorter.
TWOCAPTCHA_POLLING_INTERVAL = env.float("TWOCAPTCHA_POLLING_INTERVAL", default=5.0)
# Exported as a metric so an alert fires before the captcha account runs dry (0: no alert).
CAPTCHA_DAILY_BUDGET = env.int("CAPTCHA_DAILY_BUDGET", default=0)
# Token first, page last (docs/pipeline.md): the captcha is solved before a page is taken, so a
# page is held well under a second. False restores the old order (page held through the solve),
# kept for the benchmark's comparison (tests/bench/realistic_throughput.py).
CAPTCHA_TOKEN_FIRST = env.bool("CAPTCHA_TOKEN_FIRST", default=True)
# reCAPTCHA v2 tokens expire 120 s after the solve: one older than this is never submitted.
CAPTCHA_TOKEN_MAX_AGE_SECONDS = env.float("CAPTCHA_TOKEN_MAX_AGE_SECONDS", default=110.0)
# The sitekey each source's page shows, to solve the first token of a process before any page is
# loaded: "wsp=KEY,consultacenso=KEY,eleccionescolombia=v3:KEY:ACTION". Empty: the keys in
# scrapers/sources/ (the real site's, docs/registraduria.md); a page's own key is always learned.
CAPTCHA_SITEKEYS = env.dict("CAPTCHA_SITEKEYS", default={})
# Solves the whole fleet may buy per clock hour (UTC), counted on Redis (0: no limit). When it is
# spent, lookups are delayed until the next hour, never failed (docs/operations.md).
CAPTCHA_HOURLY_BUDGET = env.int("CAPTCHA_HOURLY_BUDGET", default=0)
# Back-off after 2captcha's ERROR_NO_SLOT_AVAILABLE, and after a balance or key error.
CAPTCHA_NO_SLOT_BACKOFF_SECONDS = env.float("CAPTCHA_NO_SLOT_BACKOFF_SECONDS", default=15.0)
CAPTCHA_ACCOUNT_BACKOFF_SECONDS = env.float("CAPTCHA_ACCOUNT_BACKOFF_SECONDS", default=300.0)
# The pacer (scrapers/pacing.py) buys only as many solves at once as the pages can serve: it
# assumes this solve time until one is measured (2captcha's reCAPTCHA: 20-40 s). A lookup that
# cannot enter within LOOKUP_PACER_MAX_WAIT_SECONDS is delayed, not failed; 0 turns it off.
CAPTCHA_EXPECTED_SOLVE_SECONDS = env.float("CAPTCHA_EXPECTED_SOLVE_SECONDS", default=20.0)
LOOKUP_PACER_MAX_WAIT_SECONDS = env.float("LOOKUP_PACER_MAX_WAIT_SECONDS", default=30.0)
CHROMIUM_PATH = env("CHROMIUM_PATH", default="")
# Pages per worker process. With the token-first order a page is held ~0.8 s per lookup, so the
# pages bound a process at ~pages / 0.8 lookups/s until the CPU does: on 2 cores 5 pages ran
# 5.5-7.1/s, 4 ran 4.5-5.2/s and 6 were CPU-bound (docs/benchmarks.md, session 5).
BROWSER_PAGE_POOL_SIZE = env.int("BROWSER_PAGE_POOL_SIZE", default=5)
# A pooled page's renderer grows ~2.3 MB per lookup (V8 collects lazily): retired after 25
# lookups it stays under ~140 MB, and a new page costs a fraction of a second per 25 lookups.
BROWSER_PAGE_MAX_USES = env.int("BROWSER_PAGE_MAX_USES", default=25)
# V8's heap limit per page's renderer (MB), 0 keeps V8's default. 32 kept pages at ~85-130 MB but
# crashed a renderer once in the tests (scrapers/browser.py JS_HEAP_MB): off unless you need it.
BROWSER_JS_HEAP_MB = env.int("BROWSER_JS_HEAP_MB", default=0)

# ------------------------------------------------------------------------------
# Politeness towards the Registraduría, shared by the whole fleet on Redis
# (scrapers/politeness.py, docs/pipeline.md#politeness). Redis unreachable: fail open.
# ------------------------------------------------------------------------------
# Every key starts with it, so deployments or test runs may share one Redis database.
POLITENESS_KEY_PREFIX = env("POLITENESS_KEY_PREFIX", default="paginamadre:")
# Lookup attempts per period on each source, fleet-wide, e.g. "wsp=3/second,consultacenso=1/second"
# (any rate `limits` reads: "100/minute", "1 per 2 seconds"). A source left out has no limit.
REGISTRADURIA_RATE_LIMITS = env.dict("REGISTRADURIA_RATE_LIMITS", default={})
# The circuit breaker per source: opens when, within the window, at least MIN_FAILURES attempts
# were blocked or failed and they were at least FAILURE_RATIO of the attempts; stays open for
# COOLOFF seconds, then lets one probe through (half-open).
REGISTRADURIA_BREAKER_ENABLED = env.bool("REGISTRADURIA_BREAKER_ENABLED", default=True)
REGISTRADURIA_BREAKER_WINDOW_SECONDS = env.float("REGISTRADURIA_BREAKER_WINDOW_SECONDS", default=60.0)
REGISTRADURIA_BREAKER_MIN_FAILURES = env.int("REGISTRADURIA_BREAKER_MIN_FAILURES", default=5)
REGISTRADURIA_BREAKER_FAILURE_RATIO = env.float("REGISTRADURIA_BREAKER_FAILURE_RATIO", default=0.5)
REGISTRADURIA_BREAKER_COOLOFF_SECONDS = env.float("REGISTRADURIA_BREAKER_COOLOFF_SECONDS", default=120.0)

# ------------------------------------------------------------------------------
# Scheduler
# ------------------------------------------------------------------------------
REFRESH_CRON = env("REFRESH_CRON", default="30 2 * * *")
REFRESH_MAX_AGE_DAYS = env.int("REFRESH_MAX_AGE_DAYS", default=30)
REFRESH_ERROR_AGE_HOURS = env.int("REFRESH_ERROR_AGE_HOURS", default=24)
REFRESH_BATCH_SIZE = env.int("REFRESH_BATCH_SIZE", default=1000)
# Sends are spread over this window so the fleet finishes before morning.
REFRESH_WINDOW_SECONDS = env.int("REFRESH_WINDOW_SECONDS", default=4 * 3600)
# Off only for tests and benchmarks: sends everything as fast as RabbitMQ takes it.
REFRESH_PACING = env.bool("REFRESH_PACING", default=True)
SWEEPER_INTERVAL_MINUTES = env.int("SWEEPER_INTERVAL_MINUTES", default=5)
# Rows whose message never reached the broker (an outage at signup) are resent this
# often: after the broker is back, a member waits at most this long to be queued.
UNSENT_RESEND_SECONDS = env.int("UNSENT_RESEND_SECONDS", default=30)
SCHEDULER_MISFIRE_GRACE_SECONDS = env.int("SCHEDULER_MISFIRE_GRACE_SECONDS", default=6 * 3600)
# A claimed run still unfinished after this long is taken to be dead (SIGKILL, lost
# machine): another scheduler may take its period over. Longer than any live run.
SCHEDULER_RUN_LEASE_SECONDS = env.int("SCHEDULER_RUN_LEASE_SECONDS", default=REFRESH_WINDOW_SECONDS + 3600)

# ------------------------------------------------------------------------------
# Logging: to stderr; personal data is masked by the code that logs it.
# ------------------------------------------------------------------------------
LOG_RECORD_MAX_CHARS = env.int("LOG_RECORD_MAX_CHARS", default=8000)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"},
    },
    "filters": {
        "strip_query": {"()": "site_config.log_filters.StripQueryString"},
        # Dramatiq logs whole message bodies; a record must never be megabytes.
        "bounded": {"()": "site_config.log_bounds.BoundRecordSize", "max_chars": LOG_RECORD_MAX_CHARS},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["bounded"]},
        "requests": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["strip_query", "bounded"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "pika": {"level": "WARNING"},
        # A passive declare of a missing queue (monitoring, /healthz) is an expected 404 that
        # pika logs as a WARNING; channel errors that matter reach our code as exceptions.
        "pika.channel": {"level": "ERROR"},
        # Our actor logs the one WARNING line of a retry; dramatiq's "Retrying message" would be a second.
        "dramatiq.middleware.retries.Retries": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
        # Request lines without query strings: searches carry cédulas and names.
        "django.server": {"handlers": ["requests"], "level": "INFO", "propagate": False},
    },
}
