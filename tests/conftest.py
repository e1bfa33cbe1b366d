"""Shared fixtures live in tests/fixtures/, one module per concern."""

import pytest

pytest_plugins = [
    "tests.fixtures.factories",
    "tests.fixtures.replica",
    "tests.fixtures.browser",
]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttles and rate limits live in the cache; no test inherits another's counters."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
