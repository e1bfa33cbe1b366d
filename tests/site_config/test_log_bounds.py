"""Log records stay bounded: a 4 MB message body or a huge traceback is cut, not shipped."""

import logging

from site_config.log_bounds import BoundRecordSize


def _record(msg, args=None, exc_info=None):
    return logging.LogRecord("dramatiq.worker", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_a_huge_message_is_cut_keeping_its_start_and_end():
    bounded = BoundRecordSize(max_chars=1000)
    record = _record("Failed to process message %s with unhandled exception.", ("x" * 4_000_000 + "END",))
    assert bounded.filter(record)
    text = record.getMessage()
    assert len(text) < 1100
    assert text.startswith("Failed to process message xxx")
    assert text.endswith("END with unhandled exception.")
    assert "characters cut" in text


def test_a_huge_traceback_is_cut_and_still_formats():
    bounded = BoundRecordSize(max_chars=1000)
    try:
        raise ValueError("y" * 100_000)
    except ValueError:
        import sys

        record = _record("boom", exc_info=sys.exc_info())
    bounded.filter(record)
    line = logging.Formatter().format(record)
    assert len(line) < 2200
    assert "Traceback" in line


def test_small_records_are_left_alone():
    record = _record("lookup recorded user_id=%s", (7,))
    BoundRecordSize().filter(record)
    assert record.getMessage() == "lookup recorded user_id=7"
    assert record.args == (7,)


def test_the_production_json_formatter_keeps_the_cut_traceback():
    import json
    import sys

    from pythonjsonlogger.json import JsonFormatter

    try:
        raise ValueError("z" * 100_000)
    except ValueError:
        record = _record("boom", exc_info=sys.exc_info())
    BoundRecordSize(max_chars=1000).filter(record)
    line = JsonFormatter("%(levelname)s %(message)s").format(record)
    payload = json.loads(line)
    assert len(line) < 3000
    assert "Traceback" in payload["exc_info"]
    assert "ValueError" in payload["exc_info"]
