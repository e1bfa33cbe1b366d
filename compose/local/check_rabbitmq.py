"""Fail fast, in one clear line, when RabbitMQ is unreachable or refuses our credentials.

Logs in over AMQP (not just a TCP connect), so a wrong user, password or vhost is
caught here instead of as thousands of tracebacks from the worker's reconnect loop.
Used by `make run` / `make test` and by the production worker's start script.

    python compose/local/check_rabbitmq.py [--wait SECONDS]

``--wait`` retries an unreachable broker for up to SECONDS (a container starting
next to RabbitMQ); a refused login is never retried: it will not fix itself.
Exit status 0 when the login worked, 1 otherwise (the reason on stderr).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _from_dotenv(name: str) -> str | None:
    """The value in the project's .env, which the settings read too."""
    dotenv = Path(__file__).resolve().parents[2] / ".env"
    if not dotenv.exists():
        return None
    for line in dotenv.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() == name:
            return value.strip().strip("'\"")
    return None


def _describe(url: str) -> tuple[str, str, str]:
    """(host:port, user, vhost) of an AMQP URL, never the password."""
    parts = urlsplit(url)
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 5672}", unquote(parts.username or "guest"), vhost


def check(url: str, *, timeout: float = 5.0) -> tuple[bool, str]:
    """Log in to ``url``; returns (retryable, error) with error "" on success."""
    import pika
    import pika.exceptions as errors

    address, user, vhost = _describe(url)
    grant = f'rabbitmqctl set_permissions -p {vhost} {user} ".*" ".*" ".*"'
    params = pika.URLParameters(url)
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    params.retry_delay = 0
    try:
        pika.BlockingConnection(params).close()
    except errors.ProbableAuthenticationError:
        return False, (
            f"RabbitMQ at {address} refused the login of user {user!r} (wrong user or password). "
            "Fix RABBITMQ_URL (amqp://USER:PASSWORD@HOST:5672/VHOST) or create the user: "
            f"'rabbitmqctl add_user {user} PASSWORD && {grant}'."
        )
    except errors.ProbableAccessDeniedError:
        return False, (
            f"RabbitMQ at {address} denied user {user!r} access to vhost {vhost!r}. "
            f"Create it or grant it: 'rabbitmqctl add_vhost {vhost}; {grant}', or fix RABBITMQ_URL."
        )
    except errors.AMQPConnectionError as exc:
        reason = str(exc) or type(exc).__name__
        return True, (
            f"RabbitMQ is not reachable at {address} ({reason.splitlines()[0][:120]}). "
            "Start it with 'rabbitmq-server -detached' (or 'sudo systemctl start rabbitmq-server'), "
            "or set RABBITMQ_URL."
        )
    except (OSError, ValueError) as exc:
        return False, f"RabbitMQ URL or connection problem for {address}: {type(exc).__name__}: {exc}"
    return False, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=0.0, help="retry an unreachable broker this long")
    args = parser.parse_args(argv)
    # pika logs every failed connection attempt with a traceback; our one line says it all.
    logging.getLogger("pika").setLevel(logging.CRITICAL + 1)
    url = os.environ.get("RABBITMQ_URL") or _from_dotenv("RABBITMQ_URL") or DEFAULT_URL
    deadline = time.monotonic() + max(0.0, args.wait)
    while True:
        retryable, error = check(url)
        if not error:
            return 0
        if not retryable or time.monotonic() >= deadline:
            print(f"ERROR: {error}", file=sys.stderr)
            return 1
        time.sleep(1.0)


if __name__ == "__main__":
    sys.exit(main())
