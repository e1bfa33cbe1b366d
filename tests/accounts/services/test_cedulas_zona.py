"""The zona of a member's voting place: recorded where a source gives it, kept where one does not."""

from dataclasses import replace

import pytest

from accounts.models import CedulaChange, CedulaInfo, CedulaStatus, User
from accounts.services import cedulas
from scrapers.registraduria import LookupResult, LookupStatus

pytestmark = pytest.mark.django_db

FROM_EC = LookupResult(
    status=LookupStatus.FOUND,
    departamento="SUCRE",
    municipio="SINCELEJO",
    puesto="IE SAN JOSE C I P",
    direccion="CL 22 No. 10A-380",
    mesa="13",
    zona="03",
    source="eleccionescolombia",
)
FROM_WSP = replace(FROM_EC, zona="", source="wsp")


def member(cedula: str) -> User:
    return User.objects.create_user(cedula, "clave-segura-123", nombre_completo="Zoe Zona")


def record(user: User, result: LookupResult) -> CedulaInfo:
    if CedulaInfo.objects.get(user=user).status != CedulaStatus.PENDING:
        CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.PENDING)
    token = cedulas.cedula_claim(user_id=user.pk).token
    cedulas.cedula_record_result(user_id=user.pk, token=token, result=result, final_attempt=False)
    return CedulaInfo.objects.get(user=user)


def test_a_source_with_zona_records_it():
    info = record(member("53000001"), FROM_EC)

    assert (info.zona, info.mesa, info.source) == ("03", "13", "eleccionescolombia")


def test_a_source_without_zona_about_the_same_puesto_keeps_it_and_records_no_change():
    user = member("53000002")
    record(user, FROM_EC)

    info = record(user, FROM_WSP)

    assert (info.zona, info.source) == ("03", "wsp")
    assert not CedulaChange.objects.filter(user=user).exists()
    assert info.changed_at is None


def test_the_same_puesto_spelled_with_other_case_or_accents_keeps_the_zona():
    user = member("53000003")
    record(user, FROM_EC)

    info = record(user, replace(FROM_WSP, puesto="IE San José C I P"))

    assert info.zona == "03"


def test_a_new_puesto_from_a_source_without_zona_drops_the_old_zona_and_is_a_change():
    user = member("53000004")
    record(user, FROM_EC)

    info = record(user, replace(FROM_WSP, puesto="COLEGIO NUEVO", mesa="2"))

    assert info.zona == ""
    change = CedulaChange.objects.get(user=user)
    assert (change.old["zona"], change.new["zona"]) == ("03", "")
    assert (change.old["puesto"], change.new["puesto"]) == ("IE SAN JOSE C I P", "COLEGIO NUEVO")


def test_a_new_zona_for_the_same_puesto_is_a_change():
    user = member("53000005")
    record(user, FROM_EC)

    record(user, replace(FROM_EC, zona="04"))

    change = CedulaChange.objects.get(user=user)
    assert (change.old["zona"], change.new["zona"]) == ("03", "04")
    assert change.source == "eleccionescolombia"


def test_a_cancellation_clears_the_zona_with_the_place():
    user = member("53000006")
    record(user, FROM_EC)
    cancelled = LookupResult(
        status=LookupStatus.CANCELLED, deceased=True, novedad="CANCELADA POR MUERTE", source="wsp"
    )

    info = record(user, cancelled)

    assert (info.zona, info.puesto, info.status) == ("", "", CedulaStatus.CANCELLED_DECEASED)
    assert CedulaChange.objects.get(user=user).new["zona"] == ""


def test_a_failed_lookup_keeps_the_zona():
    user = member("53000007")
    record(user, FROM_EC)
    blocked = LookupResult(status=LookupStatus.BLOCKED, source="wsp", error="WAF")

    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.PENDING)
    token = cedulas.cedula_claim(user_id=user.pk).token
    cedulas.cedula_record_result(user_id=user.pk, token=token, result=blocked, final_attempt=True)

    assert CedulaInfo.objects.get(user=user).zona == "03"
