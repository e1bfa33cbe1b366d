"""Logging filters that keep personal data out of request logs.

Search and export URLs carry what a leader typed (``?q=52345678``): a cédula
or a name. Request lines are logged without their query string.
"""

import logging


class StripQueryString(logging.Filter):
    """Drop ``?…`` from the request line that ``django.server`` logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple) and isinstance(record.args[0], str):
            line = record.args[0]
            if "?" in line:
                method_path, _, rest = line.partition("?")
                protocol = rest.rsplit(" ", 1)[-1] if " " in rest else ""
                record.args = (f"{method_path} {protocol}".rstrip(), *record.args[1:])
        return True
