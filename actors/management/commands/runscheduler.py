"""Run the scheduler: the nightly refresh and the sweeper, until SIGTERM/SIGINT.

Safe to run on several machines at once; see docs/scheduler.md.
"""

from django.core.management.base import BaseCommand

from actors.scheduler import run_scheduler


class Command(BaseCommand):
    help = "Run the APScheduler process (nightly refresh + sweeper). Several may run at once."

    def handle(self, *args, **options) -> None:
        run_scheduler()
