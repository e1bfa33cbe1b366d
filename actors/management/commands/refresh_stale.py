"""Show or run the nightly refresh now.

``--dry-run`` prints what the next run would send (counts per reason and the
first rows, cédulas masked). Without it the run happens now under its own claim
``manual-<timestamp>``, so it never takes the nightly period; rows already in
flight are skipped either way, so running it next to a scheduler is safe.
"""

from __future__ import annotations

import argparse
import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.selectors.refresh import refresh_due_sample, refresh_plan
from actors.refresh import JOB_NIGHTLY, refresh_run_nightly
from scrapers.masking import mask_cedula


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


class Command(BaseCommand):
    help = "Show (--dry-run) or run now the nightly refresh of stale census lookups."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only show what would be sent")
        parser.add_argument(
            "--show", type=_positive_int, default=10, help="rows to list with --dry-run (default 10)"
        )
        parser.add_argument(
            "--pace", action="store_true", help="spread the sends over REFRESH_WINDOW_SECONDS (default: no)"
        )
        parser.add_argument(
            "--batch-size", type=_positive_int, default=None, help="ids per batch (default: settings)"
        )

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        if options["dry_run"]:
            self._dry_run(now=now, show=options["show"])
            return

        stop_event = threading.Event()

        def on_signal(signum, frame) -> None:
            self.stderr.write(f"{signal.Signals(signum).name} received: stopping after the current batch")
            stop_event.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        period = f"manual-{timezone.localtime(now):%Y%m%dT%H%M%S.%f}"
        try:
            summary = refresh_run_nightly(
                period=period,
                job=JOB_NIGHTLY,
                pace=options["pace"],
                batch_size=options["batch_size"],
                stop_event=stop_event,
            )
        except Exception as exc:
            raise CommandError(
                f"refresh failed: {type(exc).__name__}: {exc}. Rows already marked are resent by the sweeper."
            ) from exc
        self.stdout.write(summary.log_line())
        if summary.interrupted:
            raise CommandError("interrupted: the rows not sent yet are still due")

    def _dry_run(self, *, now, show: int) -> None:
        plan = refresh_plan(now=now)
        local = timezone.localtime(now)
        self.stdout.write(f"Refresh plan at {local:%Y-%m-%d %H:%M %Z}")
        self.stdout.write(f"  stale results:      {plan.stale}")
        self.stdout.write(f"  old failures:       {plan.failure}")
        self.stdout.write(f"  never fetched:      {plan.never}")
        self.stdout.write(f"  would send:         {plan.due}")
        self.stdout.write(f"  skipped in flight:  {plan.in_flight}")
        sample = refresh_due_sample(now=now, limit=show)
        if sample:
            self.stdout.write(f"First {len(sample)}:")
            for user_id, cedula, reason in sample:
                self.stdout.write(f"  user_id={user_id} cedula={mask_cedula(cedula)} reason={reason}")
