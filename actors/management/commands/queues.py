"""`manage.py queues [--json] [--declare]`: ready, delayed and dead messages per lookup queue."""

import json

import pika.exceptions
from django.core.management.base import BaseCommand, CommandError

from actors import monitoring


class Command(BaseCommand):
    help = (
        "Show ready, delayed (.DQ) and dead (.XQ) messages, consumers and the oldest ready "
        "message's age for each lookup queue. --declare creates missing queues (the release step does)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")
        parser.add_argument(
            "--declare", action="store_true", help="declare the lookup queues (and .DQ/.XQ) first"
        )

    def handle(self, *args, json: bool = False, declare: bool = False, **options):
        as_json = json
        try:
            if declare:
                self._declare()
            with monitoring.amqp_connection() as amqp:
                depths = monitoring.queue_depths(amqp)
                ages = {d.queue: monitoring.oldest_ready_age_seconds(amqp, queue=d.queue) for d in depths}
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise CommandError(
                f"RabbitMQ is not reachable ({type(exc).__name__}); check RABBITMQ_URL"
            ) from None
        rows = [
            {
                "queue": d.short_name,
                "ready": d.ready,
                "delayed": d.delayed,
                "dead": d.dead,
                "consumers": d.consumers,
                "oldest_ready_seconds": None if ages[d.queue] is None else round(ages[d.queue], 1),
            }
            for d in depths
        ]
        if as_json:
            self.stdout.write(_json_dumps({"queues": rows}))
            return
        header = f"{'QUEUE':10} {'READY':>7} {'DELAYED':>8} {'DEAD':>6} {'CONSUMERS':>9} {'OLDEST':>8}"
        self.stdout.write(header)
        for row in rows:
            if row["ready"] is None:
                self.stdout.write(f"{row['queue']:10} (missing: no worker, send or release has declared it)")
                continue
            self.stdout.write(
                f"{row['queue']:10} {row['ready']:>7} {_dash(row['delayed']):>8} {_dash(row['dead']):>6} "
                f"{row['consumers']:>9} {row['oldest_ready_seconds']:>7.0f}s"
            )

    def _declare(self) -> None:
        from actors.broker import declare_lookup_queue
        from actors.queues import QUEUES

        for queue in QUEUES:
            declare_lookup_queue(queue)
        self.stderr.write(f"declared {len(QUEUES)} lookup queues with their .DQ and .XQ")


def _dash(value) -> str:
    return "-" if value is None else str(value)


def _json_dumps(data) -> str:
    return json.dumps(data, sort_keys=True)
