"""Request logs never carry the query string (a leader's search holds a cédula)."""

import logging

from site_config.log_filters import StripQueryString


def record(*args):
    return logging.LogRecord("django.server", logging.INFO, __file__, 1, '"%s" %s %s', args, None)


def test_query_string_is_dropped_from_the_request_line():
    rec = record("GET /referidos/?q=52345678&page=2 HTTP/1.1", "200", "512")
    StripQueryString().filter(rec)
    assert rec.getMessage() == '"GET /referidos/ HTTP/1.1" 200 512'


def test_request_line_without_query_is_untouched():
    rec = record("POST /registro/ HTTP/1.1", "302", "0")
    StripQueryString().filter(rec)
    assert rec.getMessage() == '"POST /registro/ HTTP/1.1" 302 0'


def test_the_filter_is_wired_to_django_server():
    logger = logging.getLogger("django.server")
    assert any(isinstance(f, StripQueryString) for handler in logger.handlers for f in handler.filters)
