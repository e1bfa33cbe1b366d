"""Recompute every member's materialised network path from referred_by (docs/network.md).

Needed only after writes that skip the model signals (raw SQL, QuerySet.update of
referred_by, bulk imports). ``--check`` changes nothing and exits 1 when a path is stale.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.selectors.network import network_paths_from_tree
from accounts.services.network import network_rebuild_paths


class Command(BaseCommand):
    help = "Recompute User.network_path/network_level from referred_by."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="report stale paths, change nothing")

    def handle(self, *args, check: bool = False, **options):
        if check:
            expected = network_paths_from_tree()
            stored = User.objects.values_list("pk", "network_path", "network_level").iterator()
            stale = sum(1 for pk, path, level in stored if pk in expected and expected[pk] != (path, level))
            if stale:
                raise CommandError(f"{stale} network paths are stale: run rebuild_network_paths")
            self.stdout.write("network paths: all up to date")
            return
        changed = network_rebuild_paths()
        self.stdout.write(f"network paths: {changed} rewritten")
