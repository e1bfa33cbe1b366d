"""REGISTRADURIA_SOURCES is checked when a process starts, not at the first lookup."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from actors.registraduria import build_client_config


def test_the_default_order_is_all_three_sources_with_their_urls(settings):
    config = build_client_config()

    assert config.sources == ("wsp", "consultacenso", "eleccionescolombia")
    assert config.url_for("eleccionescolombia") == settings.REGISTRADURIA_ELECCIONESCOLOMBIA_URL
    assert config.url_for("consultacenso").endswith("/consultar/")


def test_the_order_and_the_enabled_set_come_from_the_setting(settings):
    settings.REGISTRADURIA_SOURCES = ["eleccionescolombia", "wsp"]

    assert build_client_config().sources == ("eleccionescolombia", "wsp")


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (["wsp", "registraduria_vieja"], "REGISTRADURIA_SOURCES"),
        (["wsp", "wsp"], "REGISTRADURIA_SOURCES"),
        ([], "REGISTRADURIA_SOURCES"),
    ],
)
def test_a_bad_source_list_fails_the_system_check(settings, sources, message):
    settings.REGISTRADURIA_SOURCES = sources

    with pytest.raises(SystemCheckError, match=message):
        call_command("check")


def test_an_enabled_source_without_url_fails_the_system_check(settings):
    settings.REGISTRADURIA_ELECCIONESCOLOMBIA_URL = ""

    with pytest.raises(SystemCheckError, match="REGISTRADURIA_ELECCIONESCOLOMBIA_URL"):
        call_command("check")


def test_a_disabled_source_needs_no_url(settings):
    settings.REGISTRADURIA_SOURCES = ["wsp"]
    settings.REGISTRADURIA_ELECCIONESCOLOMBIA_URL = ""

    call_command("check")
