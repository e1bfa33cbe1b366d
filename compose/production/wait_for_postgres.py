"""Wait until PostgreSQL at DATABASE_URL accepts a login, for at most --wait seconds.

Exit 0 when it does; 1 with one line on stderr when it still does not (a wrong
password is reported at once: waiting will not fix it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from urllib.parse import unquote, urlsplit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=60.0)
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        return 0  # SQLite or another engine: nothing to wait for
    import psycopg

    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}/{unquote(parts.path[1:])}"
    deadline = time.monotonic() + args.wait
    conninfo = url.replace("pgsql://", "postgresql://", 1)
    while True:
        try:
            psycopg.connect(conninfo, connect_timeout=3).close()
            return 0
        except psycopg.OperationalError as exc:
            reason = (str(exc).strip().splitlines() or ["?"])[-1][:160]
            fatal = "password authentication failed" in reason or "does not exist" in reason
            if fatal or time.monotonic() >= deadline:
                message = f"ERROR: PostgreSQL at {where} is not usable: {reason}. Check DATABASE_URL."
                print(message, file=sys.stderr)
                return 1
        time.sleep(1.0)


if __name__ == "__main__":
    sys.exit(main())
