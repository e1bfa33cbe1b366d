"""`manage.py breakers [--json] [--close SOURCE ...]`: each source's circuit breaker, fleet-wide.

The state lives on Redis (scrapers/politeness.py); this reads it there, as the metrics do.
``--close`` forgets a breaker's state and its failure window, so the next lookup treats the source
as closed: for an operator who knows the block is over and does not want to wait for the cool-off.
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from redis import Redis
from redis.exceptions import RedisError

from scrapers.politeness import REDIS_TIMEOUT_SECONDS, read_breakers
from scrapers.sources import SOURCES


class Command(BaseCommand):
    help = (
        "Show each Registraduría source's circuit breaker (closed, half_open, open) and the seconds "
        "until an open one probes again; --close SOURCE resets one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")
        parser.add_argument(
            "--close", nargs="+", metavar="SOURCE", default=[], help="reset these sources' breakers to closed"
        )

    def handle(self, *args, json: bool = False, close: list[str], **options):
        unknown = [name for name in close if name not in SOURCES]
        if unknown:
            raise CommandError(f"unknown source(s) {', '.join(unknown)}: expected {', '.join(SOURCES)}")
        prefix = settings.POLITENESS_KEY_PREFIX
        client = Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT_SECONDS * 4, socket_timeout=2
        )
        try:
            for name in close:
                base = f"{prefix}breaker:{name}"
                client.delete(base, f"{base}:attempts", f"{base}:failures")
                self.stderr.write(f"breaker for {name} closed by hand")
            sources = [name.strip() for name in settings.REGISTRADURIA_SOURCES if name.strip()]
            views = read_breakers(client, key_prefix=prefix, sources=sources)
        except (RedisError, OSError) as exc:
            raise CommandError(f"Redis is not reachable ({type(exc).__name__}); check REDIS_URL") from None
        finally:
            client.close()
        rows = [
            {"source": v.source, "state": v.state, "seconds_left": round(v.seconds_left, 1)} for v in views
        ]
        if json:
            self.stdout.write(
                _json_dumps({"breakers": rows, "enabled": settings.REGISTRADURIA_BREAKER_ENABLED})
            )
            return
        if not settings.REGISTRADURIA_BREAKER_ENABLED:
            self.stdout.write("circuit breakers are off (REGISTRADURIA_BREAKER_ENABLED=False)")
        self.stdout.write(f"{'SOURCE':<20} {'STATE':<10} {'PROBES IN':>9}")
        for row in rows:
            left = f"{row['seconds_left']:.0f}s" if row["state"] != "closed" else "-"
            self.stdout.write(f"{row['source']:<20} {row['state']:<10} {left:>9}")


def _json_dumps(value) -> str:
    return json.dumps(value)
