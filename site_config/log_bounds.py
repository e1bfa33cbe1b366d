"""Keep every log record small enough to travel whole.

Dramatiq logs a failed message with its whole body (a 4 MB poison message makes a
4 MB record), and a traceback can be long. In a ``rundramatiq`` worker each record
goes through a pipe to the parent process; a record that large also floods log
shippers. This filter cuts the message and the traceback to a bounded size, keeping
the start and the end (where the exception is), and says how much was cut.
"""

from __future__ import annotations

import logging

DEFAULT_MAX_CHARS = 8000


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = limit * 3 // 4
    tail = limit - head
    return f"{text[:head]} …[{len(text) - limit} characters cut]… {text[-tail:]}"


class BoundRecordSize(logging.Filter):
    """Truncate ``record``'s message and traceback to ``max_chars`` each.

    :param max_chars: the most characters kept of the formatted message, and of
        the formatted traceback.
    """

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        super().__init__()
        self.max_chars = max(200, int(max_chars))
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a bad format string: the handler reports it as usual
            return True
        if len(message) > self.max_chars:
            record.msg, record.args = _cut(message, self.max_chars), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text and len(record.exc_text) > self.max_chars:
            record.exc_text = _cut(record.exc_text, self.max_chars)
            # exc_text is what formatters print; exc_info would be formatted again in full.
            record.exc_info = None
        if record.stack_info and len(record.stack_info) > self.max_chars:
            record.stack_info = _cut(record.stack_info, self.max_chars)
        return True
