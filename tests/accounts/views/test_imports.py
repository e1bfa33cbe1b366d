"""Importar (issue 14) through the views: upload, preview with reasons, nothing written
before the confirmation, the consent record, limits, ownership, and the report."""

import csv
import io

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import AuditEntry, CedulaInfo, CedulaStatus, Contact, ContactImport, ImportRow, User
from accounts.services.imports import CONSENT_STATEMENT, contact_import_run
from actors import sending
from actors.queues import QUEUE_REFRESH
from tests.fixtures.factories import LeaderFactory, UserFactory
from tests.fixtures.spreadsheets import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

HEADER = ["Cédula", "Nombre", "Celular"]


@pytest.fixture
def published(monkeypatch):
    """What the import publishes, instead of RabbitMQ (tests/e2e/test_import_browser.py uses the real one)."""
    calls = {"imports": [], "lookups": []}
    monkeypatch.setattr(sending, "send_import", lambda **kw: calls["imports"].append(kw))
    monkeypatch.setattr(
        sending,
        "send_lookups",
        lambda *, user_ids, queue, batch_size=500: (
            calls["lookups"].append((list(user_ids), queue)) or len(user_ids)
        ),
    )
    monkeypatch.setattr(sending, "send_lookup", lambda **kw: None)
    return calls


@pytest.fixture
def leader_client(client):
    leader = LeaderFactory()
    client.force_login(leader)
    client.leader = leader
    return client


def _upload(client, data: bytes, name: str = "lista.csv"):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(reverse("accounts:imports"), {"archivo": upload})


def _people(client):
    other_network = LeaderFactory()
    UserFactory(cedula="53000010", referred_by=other_network)
    UserFactory(cedula="53000011", referred_by=client.leader)
    rows = [
        HEADER,
        ["53.000.001", "José Núñez", "300 123 4567"],
        ["53000002", "María Peña", ""],
        ["53000001", "José Repetido", ""],
        ["12a", "Mal Cédula", ""],
        ["53000010", "De Otra Red", ""],
        ["53000011", "Ya En Red", ""],
        [client.leader.cedula, "Yo Mismo", ""],
        ["53000003", "=HYPERLINK(1)", ""],
    ]
    return rows


def test_members_cannot_open_importar(client):
    client.force_login(UserFactory())
    assert client.get(reverse("accounts:imports")).status_code == 403


def test_upload_shows_a_preview_and_each_rejected_row_with_its_reason_and_writes_nothing(leader_client):
    people = _people(leader_client)
    users_before = User.objects.count()
    response = _upload(leader_client, csv_bytes(people, encoding="cp1252"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:import_review")
    page = leader_client.get(reverse("accounts:import_review")).content.decode()
    assert "José Núñez" in page  # Latin-1 read right
    assert 'data-testid="accepted">2<' in page
    assert 'data-testid="rejected">6<' in page
    for reason in (
        "Cédula repetida en el archivo (ya está en la fila 2).",
        "Cédula no válida: solo puede tener números",
        "Es miembro de otra red.",
        "Ya está en tu red.",
        "Es tu propia cédula.",
        "Nombre no válido",
    ):
        assert reason in page, reason
    assert CONSENT_STATEMENT in page
    assert User.objects.count() == users_before
    assert not Contact.objects.exists() and not ContactImport.objects.exists()


def test_the_leader_can_choose_other_columns(leader_client):
    _upload(leader_client, csv_bytes([["a", "b", "c"], ["Ana Uno", "x", "53000001"]]))
    page = leader_client.get(reverse("accounts:import_review")).content.decode()
    assert "No reconocimos las columnas" in page
    response = leader_client.post(
        reverse("accounts:import_review"),
        {"columna_cedula": "2", "columna_nombre": "0", "columna_telefono": "-"},
    )
    assert 'data-testid="accepted">1<' in response.content.decode()


def test_confirming_without_the_authorisation_writes_nothing(leader_client, published):
    _upload(leader_client, csv_bytes(_people(leader_client)))
    response = leader_client.post(
        reverse("accounts:import_review"),
        {"columna_cedula": "0", "columna_nombre": "1", "columna_telefono": "2", "confirmar": "1"},
    )
    assert response.status_code == 400
    assert "Ley 1581 de 2012" in response.content.decode()
    assert not ContactImport.objects.exists() and not Contact.objects.exists()
    assert published["imports"] == []


def _confirm(client, columns=("0", "1", "2")):
    return client.post(
        reverse("accounts:import_review"),
        {
            "columna_cedula": columns[0],
            "columna_nombre": columns[1],
            "columna_telefono": columns[2],
            "confirmar": "1",
            "autorizacion": "on",
        },
        REMOTE_ADDR="190.24.8.77",
    )


def test_confirming_records_the_consent_and_queues_one_import_message(
    leader_client, published, django_capture_on_commit_callbacks
):
    data = csv_bytes(_people(leader_client))
    _upload(leader_client, data, "simpatizantes.csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = _confirm(leader_client)
    imp = ContactImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "accounts:import_detail", args=[imp.pk]
    )
    import hashlib

    assert (imp.leader, imp.file_name, imp.file_sha256, imp.file_rows) == (
        leader_client.leader,
        "simpatizantes.csv",
        hashlib.sha256(data).hexdigest(),
        8,
    )
    assert imp.consent_statement == CONSENT_STATEMENT and imp.consented_at and imp.consent_ip == "190.24.8.77"
    assert imp.status == ContactImport.Status.QUEUED and imp.lookups_reserved == 2
    assert published["imports"] == [
        {"import_id": imp.pk, "queue": QUEUE_REFRESH, "actor_name": "import_contacts"}
    ]
    audit = AuditEntry.objects.get(action=AuditEntry.Action.CONTACT_IMPORT)
    assert audit.actor == leader_client.leader and audit.target == f"contactimport:{imp.pk}"
    assert not Contact.objects.exists()  # the actor creates them

    contact_import_run(import_id=imp.pk)

    imp.refresh_from_db()
    assert (imp.status, imp.rows_done, imp.created, imp.rejected, imp.lookups_sent) == ("done", 8, 2, 6, 2)
    assert set(Contact.objects.values_list("person__cedula", flat=True)) == {"53000001", "53000002"}
    ((ids, queue),) = published["lookups"]
    assert queue == QUEUE_REFRESH and sorted(ids) == sorted(
        User.objects.filter(cedula__in=["53000001", "53000002"]).values_list("pk", flat=True)
    )
    assert ImportRow.objects.filter(contact_import=imp).count() == 8


def _done_import(client, published, django_capture_on_commit_callbacks):
    _upload(client, xlsx_bytes(_people(client), literal_text=True), "lista.xlsx")
    with django_capture_on_commit_callbacks(execute=True):
        _confirm(client)
    imp = ContactImport.objects.get(leader=client.leader)
    contact_import_run(import_id=imp.pk)
    CedulaInfo.objects.filter(user__cedula="53000001").update(
        status=CedulaStatus.FOUND, municipio="PASTO", puesto="IE LICEO", mesa="4", direccion="=CALLE 1"
    )
    return imp


def test_the_report_has_the_files_rows_with_status_and_voting_place_and_no_live_formulas(
    leader_client, published, django_capture_on_commit_callbacks
):
    imp = _done_import(leader_client, published, django_capture_on_commit_callbacks)
    response = leader_client.get(reverse("accounts:import_report_xlsx", args=[imp.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == HEADER and rows[0][3:6] == ["Resultado", "Motivo", "Estado censo"]
    assert rows[1][:9] == [
        "53.000.001",
        "José Núñez",
        "300 123 4567",
        "Contacto creado",
        None,
        "Puesto encontrado",
        None,
        "PASTO",
        "IE LICEO",
    ]
    assert rows[1][9] == "'=CALLE 1"  # neutralised in the report
    assert rows[8][1] == "'=HYPERLINK(1)" and rows[8][3] == "Rechazada"
    csv_response = leader_client.get(reverse("accounts:import_report_csv", args=[imp.pk]))
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert parsed[3][4] == "Cédula repetida en el archivo (ya está en la fila 2)."
    assert parsed[8][1] == "'=HYPERLINK(1)"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT_REPORT).count() == 2


def test_someone_elses_import_answers_404_everywhere(
    leader_client, published, django_capture_on_commit_callbacks
):
    imp = _done_import(leader_client, published, django_capture_on_commit_callbacks)
    other = Client()
    other.force_login(LeaderFactory())
    for name in (
        "accounts:import_detail",
        "accounts:import_progress",
        "accounts:import_report_xlsx",
        "accounts:import_report_csv",
    ):
        assert other.get(reverse(name, args=[imp.pk])).status_code == 404, name
        assert other.get(reverse(name, args=[987654])).status_code == 404, name
        assert leader_client.get(reverse(name, args=[imp.pk])).status_code == 200, name


def test_progress_page_shows_rows_and_lookups_by_outcome(
    leader_client, published, django_capture_on_commit_callbacks
):
    imp = _done_import(leader_client, published, django_capture_on_commit_callbacks)
    page = leader_client.get(reverse("accounts:import_progress", args=[imp.pk])).content.decode()
    assert "8 de 8 (100 %)" in page
    assert "1 de 2 (50 %)" in page
    assert 'hx-trigger="every 2s"' in page  # still polling: one lookup left
    CedulaInfo.objects.filter(user__cedula="53000002").update(status=CedulaStatus.NOT_FOUND)
    page = leader_client.get(reverse("accounts:import_progress", args=[imp.pk])).content.decode()
    assert 'data-done="1"' in page and "hx-trigger" not in page
    listing = leader_client.get(reverse("accounts:imports")).content.decode()
    assert "lista.xlsx" in listing and "Terminada" in listing


def test_imported_contacts_appear_in_referidos_marked_as_contacts(
    leader_client, published, django_capture_on_commit_callbacks
):
    _done_import(leader_client, published, django_capture_on_commit_callbacks)
    page = leader_client.get(reverse("accounts:referrals")).content.decode()
    assert "José Núñez" in page and "María Peña" in page
    assert page.count(">Contacto</span>") == 2


@override_settings(IMPORT_MAX_FILE_BYTES=1000)
def test_a_file_over_the_size_limit_is_refused_in_spanish(leader_client):
    response = _upload(leader_client, b"cedula;nombre\r\n" + b"53000001;Ana Uno\r\n" * 100)
    assert response.status_code == 400
    assert "pesa más de 0 MB" in response.content.decode() or "pesa más de" in response.content.decode()


@override_settings(IMPORT_MAX_ROWS=3)
def test_a_file_over_the_row_limit_is_refused_in_spanish(leader_client):
    rows = [HEADER] + [[str(53_000_000 + i), "Ana Uno", ""] for i in range(4)]
    response = _upload(leader_client, csv_bytes(rows))
    assert response.status_code == 400 and "más de 3 filas" in response.content.decode()


def test_a_malformed_file_gives_a_message_and_no_500(leader_client):
    response = _upload(leader_client, b"PK\x03\x04 not really", "lista.xlsx")
    assert response.status_code == 400 and "dañado" in response.content.decode()


def test_a_second_import_in_flight_is_refused(leader_client, published, django_capture_on_commit_callbacks):
    _upload(leader_client, csv_bytes([HEADER, ["53000001", "Ana Uno", ""]]))
    with django_capture_on_commit_callbacks(execute=True):
        _confirm(leader_client)
    _upload(leader_client, csv_bytes([HEADER, ["53000002", "Beto Dos", ""]]))
    response = _confirm(leader_client)
    assert response.status_code == 400 and "Ya tienes una importación en curso" in response.content.decode()
    assert ContactImport.objects.count() == 1


@override_settings(IMPORT_DAILY_LOOKUP_BUDGET=2)
def test_the_daily_lookup_budget_refuses_a_file_that_needs_more(leader_client, published):
    rows = [HEADER] + [[str(53_000_000 + i), "Ana Uno", ""] for i in range(1, 4)]
    _upload(leader_client, csv_bytes(rows))
    response = _confirm(leader_client)
    assert response.status_code == 400
    assert "necesita 3 consultas nuevas y tu límite es de 2 consultas al día" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_a_shared_cedula_costs_no_budget_and_no_second_lookup(published, django_capture_on_commit_callbacks):
    first, second = Client(), Client()
    ana, beto = LeaderFactory(), LeaderFactory()
    first.force_login(ana)
    second.force_login(beto)
    for client in (first, second):
        _upload(client, csv_bytes([HEADER, ["53000001", "Rosa Elena", ""]]))
        with django_capture_on_commit_callbacks(execute=True):
            _confirm(client)
        contact_import_run(import_id=ContactImport.objects.filter(leader__in=[ana, beto]).latest("pk").pk)
    assert [imp.lookups_reserved for imp in ContactImport.objects.order_by("pk")] == [1, 0]
    assert len(published["lookups"]) == 1
    assert Contact.objects.count() == 2 and User.objects.filter(cedula="53000001").count() == 1


def test_uploads_are_rate_limited_per_leader(leader_client, settings):
    settings.IMPORT_UPLOADS_PER_HOUR = 2
    data = csv_bytes([HEADER, ["53000001", "Ana Uno", ""]])
    assert _upload(leader_client, data).status_code == 302
    assert _upload(leader_client, data).status_code == 302
    response = _upload(leader_client, data)
    assert (
        response.status_code == 400 and "Ya subiste 2 archivos en la última hora" in response.content.decode()
    )


def test_the_data_policy_gate_stops_importar_until_accepted(leader_client):
    User.objects.filter(pk=leader_client.leader.pk).update(data_policy_version="old")
    response = leader_client.get(reverse("accounts:imports"))
    assert response.status_code == 302 and reverse("accounts:accept_policy") in response["Location"]


def test_operators_read_the_consent_record_in_the_admin_and_the_view_is_audited(
    leader_client, published, django_capture_on_commit_callbacks
):
    imp = _done_import(leader_client, published, django_capture_on_commit_callbacks)
    staff = Client()
    operator = LeaderFactory(is_staff=True, is_superuser=True)
    staff.force_login(operator)
    page = staff.get(reverse("admin:accounts_contactimport_change", args=[imp.pk])).content.decode()
    assert imp.file_sha256 in page and "Ley 1581 de 2012" in page
    assert staff.get(reverse("admin:accounts_contactimport_changelist")).status_code == 200
    assert AuditEntry.objects.filter(actor=operator, target=f"contactimport:{imp.pk}").exists()
    assert staff.post(reverse("admin:accounts_contactimport_delete", args=[imp.pk])).status_code == 403


def test_an_import_whose_message_cannot_be_published_fails_at_once_and_frees_the_leader(
    leader_client, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(sending, "send_import", broker_down)
    _upload(leader_client, csv_bytes([HEADER, ["53000001", "Ana Uno", ""]]))
    with django_capture_on_commit_callbacks(execute=True):
        _confirm(leader_client)
    imp = ContactImport.objects.get()
    assert imp.status == ContactImport.Status.FAILED and imp.error == "broker unavailable"
    from accounts.counters import counter_value

    assert counter_value(f"import-lookup-budget:{leader_client.leader.pk}") == 0  # given back
    page = leader_client.get(reverse("accounts:import_detail", args=[imp.pk])).content.decode()
    assert "No pudimos terminar esta importación" in page
    _upload(leader_client, csv_bytes([HEADER, ["53000002", "Beto Dos", ""]]))
    monkeypatch.setattr(sending, "send_import", lambda **kw: None)
    assert _confirm(leader_client).status_code == 302  # not "in flight" any more


def test_the_last_failed_attempt_of_the_actor_ends_the_import(
    leader_client, published, django_capture_on_commit_callbacks
):
    from accounts.services.imports import contact_import_fail

    _upload(leader_client, csv_bytes([HEADER, ["53000001", "Ana Uno", ""]]))
    with django_capture_on_commit_callbacks(execute=True):
        _confirm(leader_client)
    imp = ContactImport.objects.get()
    contact_import_fail(import_id=imp.pk, detail="OperationalError")
    imp.refresh_from_db()
    assert imp.status == ContactImport.Status.FAILED and imp.finished_at is not None
    contact_import_run(import_id=imp.pk)  # a late redelivery does nothing
    assert not Contact.objects.exists()
