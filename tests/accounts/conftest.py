import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    # Login throttling counts failures in the cache (LocMemCache in tests): isolate tests.
    cache.clear()
    yield
    cache.clear()
