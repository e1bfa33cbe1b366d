"""A source fallback never records a change the member cannot see.

Every synthetic citizen of the replica (scrapers/replica/citizens.json) is answered by
each source's replica module, read by that source's real parser, and recorded for one
member in every order of two sources: the second answer must never create a
CedulaChange, and what the card shows must stay the same.
"""

import itertools

import pytest

from accounts.models import CedulaChange, CedulaInfo, CedulaStatus, User
from accounts.services import cedulas
from scrapers.registraduria import LookupResult, LookupStatus
from scrapers.replica import consultacenso, eleccionescolombia, wsp
from scrapers.replica.citizens import load_citizens
from scrapers.sources import SOURCES

pytestmark = pytest.mark.django_db

REPLICAS = {"wsp": wsp, "consultacenso": consultacenso, "eleccionescolombia": eleccionescolombia}
CITIZENS = load_citizens()
VISIBLE = ("status", "departamento", "municipio", "puesto", "direccion", "mesa", "zona", "novedad")


def answer(source: str, nuip: str) -> LookupResult:
    body = REPLICAS[source].citizen_reply(CITIZENS[nuip])
    return SOURCES[source].parse(body.decode())


def record(user: User, result: LookupResult) -> CedulaInfo:
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.PENDING)
    token = cedulas.cedula_claim(user_id=user.pk).token
    cedulas.cedula_record_result(user_id=user.pk, token=token, result=result, final_attempt=True)
    return CedulaInfo.objects.get(user=user)


def test_the_replica_has_every_source_we_fall_back_between():
    assert set(REPLICAS) == set(SOURCES)
    assert len(CITIZENS) >= 30


@pytest.mark.parametrize("nuip", sorted(CITIZENS))
def test_no_false_change_when_another_source_answers_for_the_same_citizen(nuip):
    user = User.objects.create_user(
        f"5{nuip[-8:]}", "clave-segura-123", nombre_completo="Ciudadana Sintetica"
    )
    for first, second in itertools.permutations(SOURCES, 2):
        CedulaInfo.objects.filter(user=user).update(result_status="", zona="", novedad="", changed_at=None)
        one = record(user, answer(first, nuip))
        shown = {field: getattr(one, field) for field in VISIBLE}
        two = record(user, answer(second, nuip))
        assert not CedulaChange.objects.filter(user=user).exists(), (nuip, first, second)
        assert two.changed_at is None
        # What the card shows only gains: a zona or a novedad one source lacks is kept.
        for field in VISIBLE:
            assert getattr(two, field) == shown[field] or not shown[field], (nuip, first, second, field)


def test_a_real_move_is_still_a_change():
    user = User.objects.create_user("53999001", "clave-segura-123", nombre_completo="Ciudadana Sintetica")
    record(user, answer("wsp", "1000000001"))
    moved = answer("consultacenso", "1000000002")
    record(user, moved)
    change = CedulaChange.objects.get(user=user)
    assert change.new["puesto"] == "IE MUNICIPAL CIUDAD DE PASTO"


def test_a_change_of_only_case_or_accents_is_not_a_change():
    user = User.objects.create_user("53999002", "clave-segura-123", nombre_completo="Ciudadana Sintetica")
    first = answer("wsp", "1000000001")
    record(user, first)
    from dataclasses import replace

    record(user, replace(first, puesto="Colegio  Usaquen", source="consultacenso"))
    assert not CedulaChange.objects.exists()


def test_an_unreadable_answer_is_not_a_failure_that_promises_a_retry(caplog):
    user = User.objects.create_user("53999003", "clave-segura-123", nombre_completo="Ciudadana Sintetica")
    result = answer("wsp", "6000000001")
    assert result.status == LookupStatus.UNKNOWN
    with caplog.at_level("WARNING", logger="accounts.services.cedulas"):
        info = record(user, result)
    assert info.status == CedulaStatus.UNREADABLE
    assert "no pudimos interpretar" in info.message and "avisamos al equipo" in info.message
    assert "intentaremos" not in info.message.lower()
    assert "lookup unreadable" in caplog.text and "53999003" not in caplog.text
