"""Shared fixtures live in tests/fixtures/, one module per concern."""

pytest_plugins = [
    "tests.fixtures.factories",
    "tests.fixtures.replica",
    "tests.fixtures.browser",
]
