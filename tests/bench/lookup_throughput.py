"""Lookup throughput of the Registraduría client against the local replica (not a pytest test).

Run from the repository root:

    .venv/bin/python tests/bench/lookup_throughput.py [--lookups 200] [--baseline-lookups 30]

It starts its own replica on a free port and measures, in one process:

(a) our client (one browser, warm page pool) with the replica's captcha solved at once;
(b) the baseline "fresh browser per lookup" pattern (driver + Chromium launched, one lookup, all closed;
    sequential), same page flow;
(c) our client with a 5 s captcha solve and 16 lookups in flight (pool_size 16; the 16 workers start
    0.31 s apart, as queue deliveries spread out in a running worker), sampling the PSS of
    this process tree (Python + Playwright's node driver + Chromium; the replica excluded).

Every answer is checked against the replica's citizens; the last line is machine-readable:
RESULT per_process_lookups_per_s=.. baseline_lookups_per_s=.. ratio=.. captcha5s_lookups_per_s=..
pss_mb_16_in_flight=.. (one line)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import threading
import time

import psutil

from scrapers.client import ClientConfig, RegistraduriaClient, lookup_sync
from scrapers.registraduria import LookupStatus
from tests.fixtures.processes import Replica, start_replica

# cédula -> expected status (replica's synthetic citizens, docs/replica.md).
EXPECTED = {
    "1000000001": LookupStatus.FOUND,
    "1000000002": LookupStatus.FOUND,
    "1000000003": LookupStatus.FOUND,
    "1000000004": LookupStatus.FOUND,
    "2000000001": LookupStatus.NOT_FOUND,
    "3000000001": LookupStatus.CANCELLED,
    "3000000002": LookupStatus.CANCELLED,
    "4000000001": LookupStatus.PENDING,
}
CEDULAS = list(EXPECTED)
SOURCE = "wsp"  # the page every lookup drives (--source); wsp is the primary, the hot path


def config_for(replica: Replica, **overrides) -> ClientConfig:
    values = {
        "wsp_url": replica.base_url + "/censo/consultar/",
        "consultacenso_url": replica.base_url + "/consultar/",
        "eleccionescolombia_url": replica.base_url + "/identificacion",
        "twocaptcha_server": replica.base_url,
        "twocaptcha_api_key": "replica-key",  # the replica's default key
        "polling_interval": 0.02,
        "deadline_seconds": 60.0,
    }
    values.update(overrides)
    return ClientConfig(**values)


def check(results: list, cedulas: list[str]) -> int:
    return sum(
        1 for result, cedula in zip(results, cedulas, strict=True) if result.status != EXPECTED[cedula]
    )


async def run_pool(
    config: ClientConfig, count: int, in_flight: int, on_start=None, stagger: float = 0.0
) -> tuple[float, int]:
    """``count`` lookups, ``in_flight`` at a time, on one client; returns (lookups/s, wrong answers).

    ``stagger`` delays worker ``i`` by ``i * stagger`` seconds, as queue deliveries spread out in a
    running worker; without it all workers hit the CPU-heavy page load at the same instant, then all
    sit idle through the captcha wait, wave after wave.
    """
    cedulas = [CEDULAS[i % len(CEDULAS)] for i in range(count)]
    results: list = [None] * count
    queue = iter(range(count))
    async with RegistraduriaClient(config) as client:
        if on_start:
            on_start()
        started = time.monotonic()

        async def worker(position: int) -> None:
            await asyncio.sleep(position * stagger)
            for index in queue:
                results[index] = await client.lookup(cedulas[index], source=SOURCE)

        await asyncio.gather(*(worker(i) for i in range(in_flight)))
        elapsed = time.monotonic() - started
        launches = client.pool.stats.browser_launches
    print(f"  {count} lookups in {elapsed:.1f}s, browser launches {launches}", flush=True)
    return count / elapsed, check(results, cedulas)


def run_baseline(config: ClientConfig, count: int) -> tuple[float, int]:
    cedulas = [CEDULAS[i % len(CEDULAS)] for i in range(count)]
    started = time.monotonic()
    results = [lookup_sync(cedula, config, source=SOURCE) for cedula in cedulas]
    elapsed = time.monotonic() - started
    print(f"  {count} lookups in {elapsed:.1f}s", flush=True)
    return count / elapsed, check(results, cedulas)


class PssSampler:
    """Peak PSS of this process and its descendants, minus the replica's subtree."""

    def __init__(self, exclude_pid: int) -> None:
        self.exclude_pid = exclude_pid
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> float:
        me = psutil.Process()
        excluded = {self.exclude_pid}
        with contextlib.suppress(psutil.Error):
            excluded |= {p.pid for p in psutil.Process(self.exclude_pid).children(recursive=True)}
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            if proc.pid in excluded:
                continue
            with contextlib.suppress(psutil.Error):
                total += proc.memory_full_info().pss
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_mb = max(self.peak_mb, self._sample())

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(10)
        return self.peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lookups", type=int, default=200, help="lookups for (a)")
    parser.add_argument("--pool-size", type=int, default=8, help="pages (= lookups in flight) for (a)")
    parser.add_argument("--baseline-lookups", type=int, default=30, help="lookups for (b)")
    parser.add_argument("--captcha-lookups", type=int, default=128, help="lookups for (c)")
    parser.add_argument(
        "--captcha-polling", type=float, default=0.25, help="res.php polling interval for (c)"
    )
    parser.add_argument(
        "--source",
        default="wsp",
        choices=["wsp", "consultacenso", "eleccionescolombia"],
        help="page to drive (default wsp, the primary)",
    )
    args = parser.parse_args()
    global SOURCE
    SOURCE = args.source

    print(f"cpus {os.cpu_count()}, load average at start {os.getloadavg()}, source {SOURCE}", flush=True)
    replica = start_replica()[0]
    try:
        replica.set(captcha_delay=0)
        print(f"(a) our client, pool_size {args.pool_size}, captcha 0 s", flush=True)
        a, wrong_a = asyncio.run(
            run_pool(config_for(replica, pool_size=args.pool_size), args.lookups, args.pool_size)
        )
        print("(b) fresh browser per lookup, sequential, captcha 0 s", flush=True)
        b, wrong_b = run_baseline(config_for(replica, pool_size=1), args.baseline_lookups)
        print(
            "(c) our client, pool_size 16, 16 in flight (starts staggered over 5 s), captcha 5 s", flush=True
        )
        replica.set(captcha_delay=5)
        sampler = PssSampler(exclude_pid=replica.process.pid)
        config_c = config_for(replica, pool_size=16, polling_interval=args.captcha_polling)
        c, wrong_c = asyncio.run(
            run_pool(config_c, args.captcha_lookups, 16, on_start=sampler.start, stagger=5.0 / 16)
        )
        m = sampler.stop()
    finally:
        replica.stop()
    print(
        f"wrong answers: a={wrong_a} b={wrong_b} c={wrong_c}; load average at end {os.getloadavg()}",
        flush=True,
    )
    print(
        f"RESULT per_process_lookups_per_s={a:.2f} baseline_lookups_per_s={b:.2f} ratio={a / b:.1f} "
        f"captcha5s_lookups_per_s={c:.2f} pss_mb_16_in_flight={m:.0f}",
        flush=True,
    )
    if wrong_a or wrong_b or wrong_c:
        sys.exit(1)


if __name__ == "__main__":
    main()
