"""Exceptions that steer a lookup message's fate: a leaf module both apps import.

The services raise them; the actors list the permanent ones in ``throws`` so
Dramatiq dead-letters those messages without retrying.
"""

from dramatiq import Retry


class LookupPermanentError(Exception):
    """The message can never succeed (deleted user, malformed arguments): dead-letter it now."""


class LookupTransientError(Retry):
    """The lookup failed for a reason that may pass: let Dramatiq retry with backoff.

    A ``dramatiq.Retry``: the worker retries it like any exception but does not log
    it as an error with a traceback (the actor logs one WARNING line instead).
    """


class LookupRetriesExhausted(Exception):
    """The last allowed attempt failed: the row got its final error status; dead-letter the message."""


class LookupDeferred(Exception):
    """The lookup cannot run now for a reason that is not the member's nor the site's (no captcha
    may be bought: budget spent, account refused). The row is handed back untouched and the
    message sent again after ``delay_seconds``; no retry is used up, nothing is failed."""

    def __init__(self, reason: str, delay_seconds: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_seconds = delay_seconds
