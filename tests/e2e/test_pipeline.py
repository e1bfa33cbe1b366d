"""The lookup pipeline end to end: real RabbitMQ, a real `rundramatiq` worker,
real Chromium and the replica over HTTP."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import CedulaInfo, CedulaStatus, User
from accounts.services.cedulas import QUEUE_LOOKUPS
from actors import deadletters
from actors.lookups import lookup_cedula
from tests.fixtures.broker import queue_counts
from tests.fixtures.processes import Worker
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FINAL = CedulaStatus.final()


def member(cedula: str, **extra) -> User:
    # The post_save signal creates the pending row and sends the message on commit.
    return User.objects.create_user(cedula, "clave-segura-123", nombre_completo="Miembro de Prueba", **extra)


def final_row(user: User, timeout: float = 60) -> CedulaInfo:
    def check():
        info = CedulaInfo.objects.get(user=user)
        return info if info.status in FINAL else None

    return wait_for(check, timeout=timeout, message=f"a final status for user {user.pk}")


def dead_letters_for(user_id) -> list[deadletters.DeadLetter]:
    return [letter for letter in deadletters.deadletters_list(queue="lookups") if letter.user_id == user_id]


@pytest.fixture(autouse=True)
def _isolated(worker, replica, clean_queues):
    replica.reset()
    yield
    replica.reset()


def test_registration_lookup_finds_the_voting_place(worker, client):
    """Through the real registration form: signup → commit → RabbitMQ → worker → Chromium → replica."""
    response = client.post(
        reverse("accounts:register"),
        {
            "nombre_completo": "Lucía Fernández",
            "cedula": "1.000.000.001",
            "telefono": "300 123 4567",
            "password1": "Caracol-Azul-2026",
            "password2": "Caracol-Azul-2026",
            "accepted_data_policy": "on",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(cedula="1000000001")
    info = final_row(user)
    assert info.status == CedulaStatus.FOUND
    assert (info.departamento, info.municipio, info.puesto, info.direccion, info.mesa) == (
        "BOGOTA D.C.",
        "BOGOTA D.C.",
        "COLEGIO USAQUÉN",
        "KR 7 # 120 - 20",
        "5",
    )
    assert info.source == "wsp"
    # The member's home now shows it.
    home = client.get(reverse("accounts:home")).content.decode()
    assert "COLEGIO USAQUÉN" in home
    assert info.fetched_at is not None
    assert info.attempts == 1
    assert worker.alive
    # `manage.py rundramatiq` found the actors module on its own (DRAMATIQ_AUTODISCOVER_MODULES).
    assert "Discovered tasks module: 'actors.lookups'" in worker.log()


@pytest.mark.parametrize(
    ("cedula", "status"),
    [
        ("2000000001", CedulaStatus.NOT_FOUND),
        ("3000000001", CedulaStatus.CANCELLED_DECEASED),
        ("3000000002", CedulaStatus.CANCELLED_OTHER),
        ("4000000001", CedulaStatus.PENDING_REGISTRADURIA),
    ],
)
def test_every_final_census_state(cedula, status):
    info = final_row(member(cedula))
    assert info.status == status
    assert info.message


def test_eleccionescolombia_fallback_stores_the_zona(replica):
    # wsp blocked and consultacenso down: the third source answers, with the zona.
    replica.set(waf=True, consultacenso_down=True)
    info = final_row(member("1000000004"))
    assert (info.status, info.source) == (CedulaStatus.FOUND, "eleccionescolombia")
    assert (info.municipio, info.puesto, info.mesa, info.zona) == (
        "SINCELEJO",
        "IE SAN JOSE C I P",
        "13",
        "03",
    )
    assert info.attempts == 1


def test_transient_failure_then_success(replica):
    # First attempt: wsp answers the upstream timeout and both fallbacks are down.
    replica.set(upstream_timeout=1, consultacenso_down=1, ec_down=1)
    info = final_row(member("1000000002"))
    assert info.status == CedulaStatus.FOUND
    assert info.departamento == "NARIÑO"
    assert info.attempts == 2


def test_exhausted_retries_end_blocked_and_dead_lettered(replica, settings):
    replica.set(waf=True, consultacenso_down=True, ec_down=True)
    user = member("1000000003")
    info = final_row(user, timeout=90)
    # Blocked on wsp, down on both fallbacks: a final failure (which one is unit-tested).
    assert info.status in CedulaStatus.failures()
    assert "Registraduría" in info.message
    assert info.error_detail
    letters = wait_for(lambda: dead_letters_for(user.pk), message="the message in lookups.XQ")
    assert letters[0].message.actor_name == "lookup_cedula"
    assert info.attempts == settings.LOOKUP_MAX_RETRIES + 1


def test_message_for_deleted_user_is_dead_lettered_and_worker_survives(worker):
    lookup_cedula.send(987654321)
    letters = wait_for(lambda: dead_letters_for(987654321), message="dead letter for a deleted user")
    assert letters[0].message.options.get("retries", 0) == 0  # straight there, no retries
    assert worker.alive
    # The worker still does real work afterwards.
    assert final_row(member("2000000001")).status == CedulaStatus.NOT_FOUND


def test_malformed_message_is_dead_lettered_without_retries(worker):
    lookup_cedula.send("no-es-un-id")
    letters = wait_for(lambda: dead_letters_for("no-es-un-id"), message="dead letter for bad args")
    assert letters[0].message.options.get("retries", 0) == 0
    assert worker.alive


def test_duplicate_message_runs_one_lookup(replica):
    user = member("1000000004")
    for _ in range(3):
        lookup_cedula.send(user.pk)
    info = final_row(user)
    assert info.status == CedulaStatus.FOUND
    # Give the duplicates time to be consumed and skipped.
    wait_for(lambda: sum(purge_counts()) == 0, timeout=30, message="queues drained")
    stats = replica.stats()
    assert stats["lookups"].get("1000000004") == 1
    assert CedulaInfo.objects.get(user=user).attempts == 1


def purge_counts():
    ready, delayed, _dead = queue_counts(QUEUE_LOOKUPS)
    return ready, delayed


def test_deadletters_replay_completes_the_lookup(replica, capsys):
    replica.set(waf=True, consultacenso_down=True, ec_down=True)
    user = member("1000000001")
    assert final_row(user, timeout=90).status in CedulaStatus.failures()
    wait_for(lambda: dead_letters_for(user.pk), message="dead letter")

    call_command("deadletters", "list", "--queue", "lookups")
    listing = capsys.readouterr().out
    assert "lookup_cedula" in listing
    assert "1000000001" not in listing  # the cédula is masked
    assert "*******001" in listing

    replica.reset()
    call_command("deadletters", "replay", "--queue", "lookups")
    info = wait_for(
        lambda: CedulaInfo.objects.filter(user=user, status=CedulaStatus.FOUND).first(),
        message="the replayed lookup to succeed",
    )
    assert info.departamento == "BOGOTA D.C."
    assert not dead_letters_for(user.pk)


def test_killed_worker_lookup_is_redelivered_after_the_lease(worker_env, tmp_path, replica, worker):
    """A worker dies mid-lookup; another finishes it once the dead one's lease expires."""
    # Stop the module's worker from consuming while the doomed one takes the message.
    worker.terminate()
    doomed = Worker({**worker_env, "LOOKUP_LEASE_SECONDS": "5"}, tmp_path / "doomed.log")
    try:
        replica.set(hang_post=True)
        doomed.start()
        user = member("1000000002")
        wait_for(
            lambda: CedulaInfo.objects.filter(user=user, status=CedulaStatus.PROCESSING).exists(),
            message="the doomed worker to claim the row",
        )
        doomed.kill()
        replica.reset()
        worker.start()
        info = final_row(user, timeout=90)
        assert info.status == CedulaStatus.FOUND
        assert info.departamento == "NARIÑO"
    finally:
        if doomed.alive:
            doomed.kill()
        if not worker.alive:
            worker.start()


def test_sigterm_finishes_in_flight_work_and_closes_the_browser(worker_env, tmp_path, worker, replica):
    import psutil

    worker.terminate()
    own = Worker(worker_env, tmp_path / "own.log")
    try:
        own.start()
        # Make it launch its browser, then ask it to stop.
        user = member("2000000001")
        assert final_row(user).status == CedulaStatus.NOT_FOUND
        children = psutil.Process(own.process.pid).children(recursive=True)
        assert any("chrom" in (child.name() or "").lower() for child in children)
        # SIGTERM arrives while a lookup is in flight: it is finished, not lost.
        replica.set(latency=2)
        busy = member("1000000003")
        wait_for(
            lambda: CedulaInfo.objects.filter(user=busy, status=CedulaStatus.PROCESSING).exists(),
            message="a lookup in flight",
        )
        assert own.terminate(timeout=60) == 0
        assert CedulaInfo.objects.get(user=busy).status == CedulaStatus.FOUND
        _gone, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, f"left behind: {[p.name() for p in alive]}"
        assert "browser closed for worker shutdown" in own.log()
    finally:
        if own.alive:
            own.kill()
        worker.start()
