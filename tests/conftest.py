"""Shared fixtures live in tests/fixtures/, one module per concern.

Markers (``make test-fast`` deselects them): ``broker`` talks to the real
RabbitMQ, ``browser`` drives a real Chromium, ``e2e`` runs a real worker process.
Tests get them from the fixtures they use (below) or from a ``pytestmark`` in
modules that reach RabbitMQ or Chromium without such a fixture.
"""

import pytest

# Using any of these fixtures means needing what the marker names.
_FIXTURE_MARKERS = {
    "worker": ("e2e", "broker", "browser"),
    "worker_env": ("e2e", "broker", "browser"),
    "clean_queues": ("broker",),
    "queues": ("broker",),
    "browser": ("browser",),
    "browser_context": ("browser",),
    "browser_page": ("browser",),
}


# Using any of these (or a django_db mark) means the test touches the database: CI's
# second pass, on SQLite, runs only those (`-m database`); the rest ran in the first.
_DATABASE_FIXTURES = {"db", "transactional_db", "live_server"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") or fixtures & _DATABASE_FIXTURES:
            item.add_marker("database")
        for fixture in getattr(item, "fixturenames", ()):
            for marker in _FIXTURE_MARKERS.get(fixture, ()):
                item.add_marker(marker)


pytest_plugins = [
    "tests.fixtures.factories",
    "tests.fixtures.replica",
    "tests.fixtures.browser",
    "tests.fixtures.client",
    "tests.fixtures.worker",
    "tests.fixtures.redis",
]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttles and rate limits live in the cache; no test inherits another's counters."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _broker_not_marked_down(monkeypatch):
    """A test that makes the broker unreachable must not make later tests skip their sends."""
    from accounts.services import cedulas

    monkeypatch.setattr(cedulas, "_broker_down_until", 0.0)


@pytest.fixture(scope="session", autouse=True)
def _delete_test_queues():
    """Drop this run's RabbitMQ queues at the end (their names carry the run's prefix)."""
    yield
    from django.conf import settings

    from tests.fixtures.broker import delete_queues

    if not settings.LOOKUP_QUEUE_PREFIX.startswith("test"):
        return
    try:
        delete_queues()
    except Exception:  # no broker: nothing was created
        return
