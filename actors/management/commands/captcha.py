"""`manage.py captcha [--hours N] [--json]`: the fleet's captcha budget, pause and what it bought."""

import json as json_module

import redis.exceptions
from django.core.management.base import BaseCommand, CommandError

from actors import captcha_budget


class Command(BaseCommand):
    help = (
        "Show the fleet's captcha solves per clock hour (UTC) against CAPTCHA_HOURLY_BUDGET, the "
        "pause in force after an account error or a spent budget, and what the solves bought: "
        "answers, solves per answer, tokens reused and wasted (by reason)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=3, help="clock hours to show (default 3)")
        parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")

    def handle(self, *args, hours: int = 3, json: bool = False, **options):
        try:
            status = captcha_budget.fleet_status(max(1, min(hours, 48)))
        except (redis.exceptions.RedisError, OSError) as exc:
            raise CommandError(f"Redis is not reachable ({type(exc).__name__}); check REDIS_URL") from None
        if json:
            self.stdout.write(json_module.dumps(status, indent=2))
            return
        budget = status["hourly_budget"] or "no limit"
        pause = status["pause"]
        self.stdout.write(f"hourly budget: {budget}")
        self.stdout.write(
            f"pause: {pause['code']} for {pause['seconds_left']:.0f}s more" if pause else "pause: none"
        )
        header = (
            f"{'hour (UTC)':<18} {'reserved':>8} {'solves':>7} {'answers':>7} {'per answer':>10} "
            f"{'reused':>6}  wasted"
        )
        self.stdout.write(header)
        for row in status["hours"]:
            ratio = f"{row['solves_per_answer']:.3f}" if row["solves_per_answer"] is not None else "-"
            wasted = ", ".join(f"{k} {v}" for k, v in sorted(row["wasted"].items())) or "-"
            extra = [f"{k} {v}" for k, v in sorted(row["unavailable"].items())]
            extra += [f"skipped {k} {v}" for k, v in sorted(row["skipped"].items())]
            tail = f"  ({'; '.join(extra)})" if extra else ""
            self.stdout.write(
                f"{row['hour']:<18} {row['reserved']:>8} {row['solves']:>7} {row['answers']:>7} "
                f"{ratio:>10} {row['reused']:>6}  {wasted}{tail}"
            )
