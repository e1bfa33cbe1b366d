"""Fail fast, in one clear line, when RabbitMQ is not reachable."""

import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse


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


raw = os.environ.get("RABBITMQ_URL") or _from_dotenv("RABBITMQ_URL") or "amqp://guest:guest@127.0.0.1:5672/"
url = urlparse(raw)
host, port = url.hostname or "127.0.0.1", url.port or 5672
try:
    socket.create_connection((host, port), timeout=3).close()
except OSError as exc:
    sys.exit(
        f"RabbitMQ is not reachable at {host}:{port} ({exc.strerror or exc}). "
        "Start it with 'rabbitmq-server -detached' (or 'sudo systemctl start rabbitmq-server'), "
        "or set RABBITMQ_URL."
    )
