"""RabbitMQ stops for 20 s in the middle of a stream of 100 signups through gunicorn.

No request fails, no signup is lost, and every lookup reaches a final state within
the designed bound: the outage, plus UNSENT_RESEND_SECONDS for the rows whose
message never reached the broker, plus the lookups themselves. The logs of every
process (web, worker, scheduler) are searched for the members' cédulas and phones.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse

from accounts.models import CedulaInfo, CedulaStatus, User
from tests.fixtures.http import Browser
from tests.fixtures.processes import Scheduler, Web, Worker

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.broker, pytest.mark.browser]
pytestmark.append(pytest.mark.django_db(transaction=True))

SIGNUPS = 100
OUTAGE_SECONDS = 20
UNSENT_RESEND_SECONDS = 30  # the production default
# Designed bound after the broker is back: one resend interval, plus the lookups of
# the backlog (100 lookups at a few per second on one worker), plus margin.
BOUND_AFTER_RETURN = UNSENT_RESEND_SECONDS + 60


def test_a_broker_stop_during_a_signup_stream_loses_nothing_and_recovers_in_bound(
    fault_env, rabbit_node, replica_clean, tmp_path
):
    env = {
        **fault_env,
        "SIGNUP_THROTTLE_IP_MAX": "1000",
        "UNSENT_RESEND_SECONDS": str(UNSENT_RESEND_SECONDS),
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
    }
    web = Web(env, tmp_path / "web.log").start()
    worker = Worker(env, tmp_path / "worker.log", threads=8).start()
    scheduler = Scheduler(env, tmp_path / "scheduler.log").start()
    people = [(str(73_100_000 + i), f"300{5_000_000 + i:07d}") for i in range(SIGNUPS)]
    statuses: list[int] = []
    outage: dict[str, float] = {}
    try:
        register = reverse("accounts:register")

        def signup(i: int) -> int:
            cedula, telefono = people[i]
            browser = Browser(web.url)
            data = {
                "nombre_completo": "Miembro Resistente",
                "cedula": cedula,
                "telefono": telefono,
                "password1": "clave-segura-987",
                "password2": "clave-segura-987",
                "accepted_data_policy": "on",
            }
            return browser.post(register, data, browser.token(register))

        def break_broker() -> None:
            time.sleep(8)
            outage["stopped"] = time.monotonic()
            rabbit_node.stop_app()
            time.sleep(OUTAGE_SECONDS)
            rabbit_node.start_app()
            outage["back"] = time.monotonic()

        breaker = threading.Thread(target=break_broker)
        started = time.monotonic()
        breaker.start()
        with ThreadPoolExecutor(max_workers=4) as pool:
            for i in range(SIGNUPS):
                statuses.append(pool.submit(signup, i))
                time.sleep(0.35)  # a stream over ~35 s, the outage in its middle
            statuses = [future.result() for future in statuses]
        breaker.join(timeout=120)
        stream_seconds = time.monotonic() - started

        cedulas = [cedula for cedula, _ in people]
        deadline = outage["back"] + BOUND_AFTER_RETURN
        final = 0
        while time.monotonic() < deadline:
            final = CedulaInfo.objects.filter(
                user__cedula__in=cedulas, status__in=CedulaStatus.final()
            ).count()
            if final == SIGNUPS:
                break
            time.sleep(1)
        drained_after_return = time.monotonic() - outage["back"]
        unsent_seen = "resent" in scheduler.log()
        print(
            f"broker outage: signups={len(statuses)} 5xx={sum(s >= 500 for s in statuses)} "
            f"created={User.objects.filter(cedula__in=cedulas).count()} final={final}/{SIGNUPS} "
            f"stream_s={stream_seconds:.1f} outage_s={outage['back'] - outage['stopped']:.1f} "
            f"final_after_return_s={drained_after_return:.1f} bound_s={BOUND_AFTER_RETURN} "
            f"scheduler_resent={unsent_seen}"
        )
        assert not [s for s in statuses if s >= 500], statuses
        assert User.objects.filter(cedula__in=cedulas).count() == SIGNUPS
        assert final == SIGNUPS, (
            f"{SIGNUPS - final} lookups not final {BOUND_AFTER_RETURN}s after the broker returned"
        )

        # Privacy: no full cédula or phone number in any process's log.
        logs = {"web": web.log(), "worker": worker.log(), "scheduler": scheduler.log()}
        leaks = [
            (name, value)
            for name, text in logs.items()
            for person in people
            for value in person
            if value in text
        ]
        print(f"log lines checked: { {name: text.count(chr(10)) for name, text in logs.items()} }")
        assert not leaks, leaks[:5]
    finally:
        scheduler.stop()
        worker.terminate()
        web.stop()
