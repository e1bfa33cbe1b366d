"""`make run`'s process manager: honcho, made to stop gracefully.

    python compose/local/run.py [--procfile compose/local/Procfile]

Plain ``honcho start`` fights a graceful stop three ways, all fixed here while
keeping honcho's Procfile, output and colours:

* it SIGTERMs each process's whole group, so the worker's own processes, its
  Playwright driver and Chromium get the signal twice or directly: Dramatiq
  treats a second SIGTERM as "kill now" and the browser dies under running
  lookups. Here only the process itself is signalled (the worker forwards to its
  children once, and closes the browser when its lookups are done);
* it SIGKILLs whatever still runs after 5 s, well inside the worker's shutdown
  timeout. Here the wait is ``RUN_STOP_TIMEOUT`` seconds (default: the worker's
  ``DRAMATIQ_SHUTDOWN_TIMEOUT_MS`` plus 10 s); only then is a group killed;
* it stops the local replica with the rest, failing the lookups the worker is
  finishing; here it is stopped last;
* it exits 130/143 after Ctrl-C or SIGTERM, so ``make`` prints "Error 130". A stop
  we were asked for, in which every process ended by itself, exits 0.

Its line prefixes use the app's clock (``TIME_ZONE``, America/Bogota), the same
as the log lines they prefix.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

import honcho.manager
from honcho.compat import ProcessManager
from honcho.environ import expand_processes, parse_procfile

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SHUTDOWN_TIMEOUT_MS = 150_000


class LeaderOnly(ProcessManager):
    """Graceful stops reach the process honcho started, not its whole group."""

    def terminate(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


class GracefulManager(honcho.manager.Manager):
    """Stops the ``STOP_LAST`` processes only once every other process has ended.

    The local replica stands in for the Registraduría, which does not go away when we
    stop: stopped together with the worker, it would fail the very lookups the worker
    is finishing.
    """

    STOP_LAST = ("replica",)

    def _killall(self, force: bool = False) -> None:
        if force:
            super()._killall(force=True)
            return
        late = {name for name in self._processes if name.rsplit(".", 1)[0] in self.STOP_LAST}
        self._terminate_each([name for name in self._processes if name not in late])
        threading.Thread(target=self._terminate_when_others_stopped, args=(late,), daemon=True).start()

    def _terminate_each(self, names) -> None:
        for name in names:
            process = self._processes[name]
            if "returncode" not in process and process.get("pid"):
                self._system_print(f"sending SIGTERM to {name} (pid {process['pid']})\n")
                self._procmgr.terminate(process["pid"])

    def _terminate_when_others_stopped(self, late: set[str]) -> None:
        while any("returncode" not in p for name, p in self._processes.items() if name not in late):
            time.sleep(0.2)
        self._terminate_each(sorted(late))


def stop_timeout() -> float:
    if os.environ.get("RUN_STOP_TIMEOUT"):
        return float(os.environ["RUN_STOP_TIMEOUT"])
    shutdown_ms = int(os.environ.get("DRAMATIQ_SHUTDOWN_TIMEOUT_MS", DEFAULT_SHUTDOWN_TIMEOUT_MS))
    return shutdown_ms / 1000 + 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start the Procfile's processes; stop them gracefully.")
    parser.add_argument("--procfile", default=str(ROOT / "compose" / "local" / "Procfile"))
    args = parser.parse_args(argv)

    os.environ.setdefault("TZ", os.environ.get("TIME_ZONE", "America/Bogota"))
    time.tzset()
    honcho.manager.KILL_WAIT = stop_timeout()

    procfile = parse_procfile(Path(args.procfile).read_text())
    manager = GracefulManager()
    manager._procmgr = LeaderOnly()
    for process in expand_processes(procfile.processes, env=dict(os.environ)):
        manager.add_process(process.name, process.cmd, quiet=process.quiet, env=process.env, cwd=str(ROOT))

    killed = []
    original_kill = manager.kill

    def kill() -> None:
        killed.append(True)
        original_kill()

    manager.kill = kill
    manager.loop()

    asked_to_stop = manager.returncode in (130, 143)
    codes = {name: info.get("returncode") for name, info in manager._processes.items()}
    clean = all(code in (0, -signal.SIGTERM, 128 + signal.SIGTERM) for code in codes.values())
    if killed:
        print(f"run: killed processes still running after {honcho.manager.KILL_WAIT:.0f}s", file=sys.stderr)
        return 1
    if asked_to_stop and clean:
        return 0
    return manager.returncode or (0 if clean else 1)


if __name__ == "__main__":
    sys.exit(main())
