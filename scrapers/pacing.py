"""How many lookups may be between "wants a token" and "done with its page" at once.

Token first, page last (``scrapers.tokens``) lets one process have hundreds of lookups waiting on
captcha solves while a handful of pages exist. Without a bound, every waiting lookup buys its
solve at once: the tokens then arrive together, queue for the pages, and the last ones wait past
their deadline (a timeout, a retry, a token that ages out unused: money spent for nothing). On
the 2-core bench machine that collapse took a worker from ~5 to under 2 lookups/s and to ~2
solves per answer (docs/benchmarks.md#lookups-at-the-real-sites-pace-20-s-captchas-token-first-issue-9).

:class:`TokenPacer` admits a lookup only while fewer than ``limit()`` are past its door. The limit
is what keeps the pages busy and no more (Little's law): the pages' rate (``pages`` ÷ the recent
mean page hold) times the time a lookup spends before its page is free again (the recent mean
solve, plus ``slack`` seconds of queue in front of the pages). It follows the machine: on a
loaded host pages are held longer, the rate falls and fewer solves are bought. A lookup that
cannot get in within ``max_wait`` is deferred (the worker delays its message, nothing is sent).

Everything runs on the client's one event loop; nothing here is thread-safe, nothing needs to be.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable


class TokenPacer:
    """An adaptive admission limit in front of the token-first pipeline (see the module docstring).

    :param pages: the pool's size.
    :param page_hold: returns the recent mean seconds a lookup holds a page (0: not known yet).
    :param expected_solve: returns the recent mean solve seconds (0: not known yet).
    :param seed_solve: solve seconds assumed until one was measured (a real reCAPTCHA: 20-40 s).
    :param seed_hold: page-hold seconds assumed until one was measured.
    :param slack: seconds of page work allowed to queue in front of the pages.
    :param min_per_page: the limit never falls below ``pages`` times this.
    """

    def __init__(
        self,
        *,
        pages: int,
        page_hold: Callable[[], float],
        expected_solve: Callable[[], float],
        seed_solve: float = 20.0,
        seed_hold: float = 1.0,
        slack: float = 4.0,
        min_per_page: int = 2,
    ) -> None:
        self.pages = max(1, pages)
        self._page_hold = page_hold
        self._expected_solve = expected_solve
        self.seed_solve = seed_solve
        self.seed_hold = seed_hold
        self.slack = slack
        self.min_per_page = max(1, min_per_page)
        self.active = 0  # lookups past the door now
        self.active_max = 0
        self.waiting = 0
        self.deferred = 0  # lookups that gave up waiting (tests, benches, the log)
        self._changed = asyncio.Condition()

    def pages_per_second(self) -> float:
        return self.pages / max(0.05, self._page_hold() or self.seed_hold)

    def limit(self) -> int:
        solve = self._expected_solve() or self.seed_solve
        return max(self.pages * self.min_per_page, math.ceil(self.pages_per_second() * (solve + self.slack)))

    def estimated_wait(self) -> float:
        """Seconds until a lookup arriving now would get in (for a deferred lookup's card)."""
        return (self.waiting + 1) / self.pages_per_second() + (self._expected_solve() or self.seed_solve)

    async def acquire(self, max_wait: float) -> bool:
        """Wait for room; False if there was none within ``max_wait`` seconds."""
        async with self._changed:
            self.waiting += 1
            try:
                async with asyncio.timeout(max(0.0, max_wait)):
                    await self._changed.wait_for(lambda: self.active < self.limit())
            except TimeoutError:
                self.deferred += 1
                return False
            finally:
                self.waiting -= 1
            self.active += 1
            self.active_max = max(self.active_max, self.active)
            return True

    async def release(self) -> None:
        async with self._changed:
            self.active -= 1
            # The limit moves with the measurements: wake as many as may now go in.
            self._changed.notify(max(1, self.limit() - self.active))
