"""`manage.py deadletters list|replay|purge [--queue lookups|refresh|all]`."""

from django.core.management.base import BaseCommand, CommandError

from actors import deadletters


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


class Command(BaseCommand):
    help = "List, replay or purge the lookup dead-letter queues (lookups.XQ, refresh.XQ)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "replay", "purge"])
        parser.add_argument("--queue", default="all", help="lookups, refresh or all (default)")
        parser.add_argument(
            "--id", dest="ids", action="append", default=[], help="replay only this message id"
        )
        parser.add_argument("--yes", action="store_true", help="purge without asking")

    def handle(self, *args, action, queue, ids, yes, **options):
        try:
            deadletters.queue_names(queue)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if action == "list":
            letters = deadletters.deadletters_list(queue=queue)
            if not letters:
                self.stdout.write("No dead letters.")
                return
            self.stdout.write(f"{'ID':36}  {'QUEUE':8}  {'ACTOR':15}  {'CEDULA':12}  {'AGE':>6}  FAILURE")
            for letter in letters:
                self.stdout.write(
                    f"{letter.message_id:36}  {letter.queue:8}  {letter.message.actor_name:15}  "
                    f"{letter.masked_cedula:12}  {_age(letter.age_seconds):>6}  {letter.failure}"
                )
            self.stdout.write(f"{len(letters)} dead letter(s).")
        elif action == "replay":
            count = deadletters.deadletters_replay(queue=queue, message_ids=set(ids) or None)
            self.stdout.write(self.style.SUCCESS(f"Replayed {count} message(s)."))
        else:
            if not yes:
                if not self.stdin_is_interactive():
                    raise CommandError("Refusing to purge without confirmation; pass --yes.")
                answer = input(f"Delete every dead letter of {queue}? Type 'yes' to confirm: ")
                if answer.strip().lower() != "yes":
                    self.stdout.write("Purge cancelled.")
                    return
            count = deadletters.deadletters_purge(queue=queue)
            self.stdout.write(self.style.SUCCESS(f"Purged {count} message(s)."))

    @staticmethod
    def stdin_is_interactive() -> bool:
        import sys

        return sys.stdin is not None and sys.stdin.isatty()
