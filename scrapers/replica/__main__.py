"""``python -m scrapers.replica``: run the replica until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .server import make_server, stop_server
from .state import SwitchError, coerce_switch


def _fault(text: str) -> tuple[str, object]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    try:
        return name, coerce_switch(name, value)
    except SwitchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scrapers.replica",
        description="Local replica of the Registraduría lookup (wsp + consultacenso + 2captcha stand-in).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port (default 8001; 0 = any free port)")
    parser.add_argument("--captcha-delay", type=float, help="seconds the 2captcha stand-in takes to solve")
    parser.add_argument(
        "--token-lifetime", type=float, help="seconds a solved reCAPTCHA token stays valid (default 120)"
    )
    parser.add_argument("--latency", type=float, help="seconds added to every site reply")
    parser.add_argument(
        "--no-waf-headless", action="store_true", help="let HeadlessChrome user agents through the WAF"
    )
    parser.add_argument("--captcha-key", help="API key the 2captcha stand-in accepts (default replica-key)")
    parser.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        metavar="NAME=VALUE",
        help="start with a switch set, e.g. --fault get_500=1 --fault waf=true (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    switches: dict[str, object] = dict(args.fault)
    if args.captcha_delay is not None:
        switches["captcha_delay"] = args.captcha_delay
    if args.token_lifetime is not None:
        switches["token_lifetime"] = args.token_lifetime
    if args.latency is not None:
        switches["latency"] = args.latency
    if args.no_waf_headless:
        switches["waf_headless"] = False
    if args.captcha_key:
        switches["captcha_key"] = args.captcha_key
    try:
        server = make_server(args.host, args.port, switches=switches, verbose=args.verbose)
    except (SwitchError, OSError) as exc:
        print(f"replica: cannot start: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    loop = threading.Thread(target=server.serve_forever, name="replica-serve", daemon=True)
    loop.start()
    host, port = server.server_address[:2]
    print(f"replica listening on http://{host}:{port}", flush=True)
    while not stop.wait(1.0):
        pass
    stop_server(server)
    print("replica stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
