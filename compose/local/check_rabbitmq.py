"""Fail fast, in one clear line, when RabbitMQ is not reachable."""

import os
import socket
import sys
from urllib.parse import urlparse

url = urlparse(os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"))
host, port = url.hostname or "127.0.0.1", url.port or 5672
try:
    socket.create_connection((host, port), timeout=3).close()
except OSError as exc:
    sys.exit(
        f"RabbitMQ is not reachable at {host}:{port} ({exc.strerror or exc}). "
        "Start it with 'rabbitmq-server -detached' (or 'sudo systemctl start rabbitmq-server'), "
        "or set RABBITMQ_URL."
    )
