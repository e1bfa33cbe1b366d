"""Referidos, Territorio, Tu red, printable lists and exports through the real views.

Permissions first (nobody sees outside their own network, a plain member never sees
the territory, sub-leader ids outside the network are 404 like unknown ones), then
every number on the territory page is followed to the Referidos page it links to
and counted there, and the exports are parsed back.
"""

import csv
import io
import re
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import CedulaInfo, CedulaStatus, User
from accounts.selectors.network import Outcome
from accounts.services.cedulas import QUEUE_REFRESH
from tests.fixtures.factories import LeaderFactory, UserFactory
from tests.fixtures.network import (
    HAS_ZONA,
    brute_descendants,
    brute_place,
    brute_rows,
    build_network,
    rows_for_a_module,
)

pytestmark = pytest.mark.django_db

REFERRALS = reverse("accounts:referrals")
TERRITORY = reverse("accounts:territory")
LEADER_ONLY = ["territory", "territory_list", "territory_csv", "territory_xlsx", "network"]


@pytest.fixture(scope="module")
def network(django_db_setup, django_db_blocker):
    # Built once for the module (rolled back at its end); each test's changes are undone.
    with rows_for_a_module(django_db_blocker):
        yield build_network(size=60, depth=6, seed=3)


@pytest.fixture
def leader_client(network):
    client = Client()
    client.force_login(network.root)
    return client


def _read_csv(response):
    raw = b"".join(response.streaming_content).decode("utf-8")
    assert raw.startswith("\ufeff")
    return list(csv.reader(io.StringIO(raw[1:]), delimiter=";"))


def _read_xlsx(response):
    body = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


# --- Who sees what ------------------------------------------------------------------------
@pytest.mark.parametrize("name", LEADER_ONLY)
def test_a_plain_member_never_sees_the_territory(network, name):
    member = next(m for m in network.members if m.role == "USER")
    client = Client()
    client.force_login(member)
    response = client.get(reverse(f"accounts:{name}"), {"puesto": "COLISEO"})
    assert response.status_code == 403
    assert "Referidos" in response.content.decode()


@pytest.mark.parametrize("name", LEADER_ONLY)
def test_leader_pages_require_login(client, name):
    url = reverse(f"accounts:{name}")
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_a_plain_member_sees_only_direct_referrals_without_census_data(network):
    rows = brute_rows()
    member = max(
        (m for m in network.members if m.role == "USER"), key=lambda m: len(brute_descendants(rows, m.pk))
    )
    grandchild = UserFactory(referred_by=UserFactory(referred_by=member), nombre_completo="Nieta Lejana")
    client = Client()
    client.force_login(member)
    response = client.get(REFERRALS, {"resultado": "puede_votar", "municipio": "MEDELLÍN"})
    shown = {m.pk for m in response.context["page"].object_list}
    assert shown == {pk for pk, row in brute_rows().items() if row["referred_by_id"] == member.pk}
    body = response.content.decode()
    assert grandchild.nombre_completo not in body
    assert "Estado y puesto" not in body and "data-status" not in body


def test_a_leader_sees_the_whole_network_and_nobody_else(network, leader_client):
    outsider = UserFactory(referred_by=LeaderFactory(), nombre_completo="Persona Ajena")
    response = leader_client.get(REFERRALS, {"page": 1})
    assert response.context["page"].paginator.count == 60
    assert outsider.nombre_completo not in response.content.decode()
    all_ids = set()
    for number in (1, 2):
        all_ids |= {m.pk for m in leader_client.get(REFERRALS, {"page": number}).context["page"].object_list}
    assert all_ids == set(brute_descendants(brute_rows(), network.root.pk))


def test_a_leader_refreshes_someone_deep_in_the_network_but_not_outside_it(network, leader_client):
    rows = brute_rows()
    deep = next(pk for pk, d in brute_descendants(rows, network.root.pk).items() if d == 5)
    CedulaInfo.objects.filter(user_id=deep).update(status=CedulaStatus.FOUND, requested_at=None)
    response = leader_client.post(reverse("cedula:refresh-referral", args=[deep]))
    assert response.status_code == 302
    assert CedulaInfo.objects.get(user_id=deep).status == CedulaStatus.PENDING
    outsider = UserFactory(referred_by=LeaderFactory())
    assert (
        leader_client.post(reverse("cedula:refresh-referral", args=[outsider.pk])).status_code == 404
    )  # like an unknown id (issue 10)


# --- Sub-leaders --------------------------------------------------------------------------
def test_a_leader_names_and_removes_a_sub_leader_with_a_post(network, leader_client):
    rows = brute_rows()
    target = next(
        pk
        for pk, d in brute_descendants(rows, network.root.pk).items()
        if d == 3 and rows[pk]["role"] == "USER"
    )
    url = reverse("accounts:sub_leader", args=[target])
    response = leader_client.post(url, {"accion": "nombrar", "next": f"{REFERRALS}?nivel=3"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{REFERRALS}?nivel=3"
    assert "ahora es sublíder" in response.content.decode()
    assert User.objects.get(pk=target).is_leader
    leader_client.post(url, {"accion": "quitar"})
    assert not User.objects.get(pk=target).is_leader


def test_sub_leader_ids_outside_the_network_answer_like_unknown_ones(network, leader_client):
    outsider = UserFactory(referred_by=LeaderFactory())
    answers = []
    for member_id in (outsider.pk, 987_654_321, network.root.pk):
        response = leader_client.post(reverse("accounts:sub_leader", args=[member_id]), {"accion": "nombrar"})
        # The page differs only by its per-response CSRF token.
        body = re.sub(r"[A-Za-z0-9]{64}", "TOKEN", response.content.decode())
        answers.append((response.status_code, body))
    assert {status for status, _ in answers} == {404}
    assert len({body for _, body in answers}) == 1  # nothing tells the cases apart
    assert not User.objects.get(pk=outsider.pk).is_leader


def test_sub_leader_changes_need_post_and_csrf(network):
    target = network.members[0]
    url = reverse("accounts:sub_leader", args=[target.pk])
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(network.root)
    assert strict.post(url, {"accion": "nombrar"}).status_code == 403
    assert strict.get(url).status_code == 405
    User.objects.filter(pk=target.pk).update(role="USER")
    assert not User.objects.get(pk=target.pk).is_leader


def test_an_unknown_action_is_explained(network, leader_client):
    response = leader_client.post(
        reverse("accounts:sub_leader", args=[network.members[0].pk]), {"accion": "x"}, follow=True
    )
    assert "No entendimos qué querías hacer" in response.content.decode()


def test_tu_red_shows_each_sub_leader_with_their_totals(network, leader_client):
    body = leader_client.get(reverse("accounts:network")).content.decode()
    rows = brute_rows()
    for pk in brute_descendants(rows, network.root.pk):
        if rows[pk]["role"] == "LEADER":
            assert f'data-sub-leader="{pk}"' in body
    assert "En tu red hay <strong>60</strong> personas" in body


# --- Territorio: every number leads to exactly those people ------------------------------
def test_every_territory_number_links_to_that_many_people(network, leader_client):
    followed = 0
    pages = [TERRITORY]
    seen = set()
    while pages:
        url = pages.pop()
        if url in seen:
            continue
        seen.add(url)
        response = leader_client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        for href, text in re.findall(
            r'href="(/referidos/\?[^"]+)" data-outcome="[^"]+">(?:<strong>)?([\d.]+)', body
        ):
            href = href.replace("&amp;", "&")
            listed = leader_client.get(href).context["page"].paginator.count
            assert listed == int(text.replace(".", "")), href
            followed += 1
        pages += [
            TERRITORY + h.replace("&amp;", "&")
            for h in re.findall(r'<th scope="row" class="fw-normal"><a href="(\?[^"]+)"', body)
        ]
    assert followed > 40


def test_territory_rows_sort_by_any_column(network, leader_client):
    for sort in ("-total", "total", "nombre", "-puede_votar", "sin_consultar"):
        rows = leader_client.get(TERRITORY, {"orden": sort}).context["table"]
        key = sort.lstrip("-")
        if key == "nombre":
            values = [(r["row"].value == "", r["row"].value.casefold()) for r in rows]
        elif key == "total":
            values = [r["row"].total for r in rows]
        else:
            values = [r["row"].counts[key] for r in rows]
        assert values == sorted(values, reverse=sort.startswith("-")), sort


def test_territory_counts_the_chosen_group_only(network, leader_client):
    response = leader_client.get(TERRITORY, {"departamento": "ANTIOQUIA", "municipio": "MEDELLÍN"})
    assert response.context["level"] == ("zona" if HAS_ZONA else "puesto")
    rows = brute_rows()
    expected = sum(
        1
        for pk in brute_descendants(rows, network.root.pk)
        if brute_place(rows[pk], "municipio") == "MEDELLÍN"
        and brute_place(rows[pk], "departamento") == "ANTIOQUIA"
    )
    assert response.context["grand_total"] == expected > 0
    body = response.content.decode()
    assert "Municipio: MEDELLÍN" in body  # the breadcrumb back up
    assert 'id="chart-split"' in body and "<rect" in body


def test_territory_past_the_last_level_shows_the_list(network, leader_client):
    params = {
        "departamento": "ANTIOQUIA",
        "municipio": "MEDELLÍN",
        "zona": "02",
        "puesto": "COLISEO",
        "mesa": "1",
    }
    response = leader_client.get(TERRITORY, params)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:territory_list"))


# --- Printable list ---------------------------------------------------------------------------
def test_the_printable_list_of_a_puesto_has_name_cedula_phone_and_mesa(network, leader_client):
    rows = brute_rows()
    below = brute_descendants(rows, network.root.pk)
    expected = [pk for pk in below if brute_place(rows[pk], "puesto") == "COLISEO"]
    response = leader_client.get(reverse("accounts:territory_list"), {"puesto": "COLISEO"})
    members = list(response.context["members"])
    assert sorted(m.pk for m in members) == sorted(expected)
    mesas = [m.cedula_info.mesa for m in members]
    assert mesas == sorted(mesas, key=lambda mesa: (len(mesa), mesa))
    body = response.content.decode()
    first = members[0]
    assert first.nombre_completo in body
    assert f"{int(first.cedula):,}".replace(",", ".") in body
    assert "print-list" in body and "data-print" in body and "js/print.js" in body


def test_the_printable_list_needs_a_puesto(leader_client):
    response = leader_client.get(reverse("accounts:territory_list"), {"municipio": "MEDELLÍN"}, follow=True)
    assert "Elige un puesto en el territorio para imprimir su lista." in response.content.decode()


# --- Exports --------------------------------------------------------------------------------
def _expected_group(network, **places):
    rows = brute_rows()
    return {
        rows[pk]["cedula"]
        for pk in brute_descendants(rows, network.root.pk)
        if all(brute_place(rows[pk], k) == v for k, v in places.items())
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_of_a_group_parse_back_to_exactly_its_members(network, leader_client, fmt):
    response = leader_client.get(reverse(f"accounts:territory_{fmt}"), {"municipio": "MEDELLÍN"})
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith('attachment; filename="territorio-medell')
    rows = _read_csv(response) if fmt == "csv" else _read_xlsx(response)
    places = ["Departamento", "Municipio", *(["Zona"] if HAS_ZONA else []), "Puesto", "Mesa", "Dirección"]
    assert rows[0] == ["Nombre completo", "Cédula", "Teléfono", "Nivel", "Estado", *places]
    assert {row[1] for row in rows[1:]} == _expected_group(network, municipio="MEDELLÍN")
    assert {row[6] for row in rows[1:]} == {"MEDELLÍN"}
    assert {row[4] for row in rows[1:]} <= set(Outcome.LABELS.values())


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_of_the_whole_network_and_the_sin_dato_group(network, leader_client, fmt):
    rows = (
        _read_csv(leader_client.get(reverse(f"accounts:territory_{fmt}")))
        if fmt == "csv"
        else _read_xlsx(leader_client.get(reverse(f"accounts:territory_{fmt}")))
    )
    assert len(rows) == 61
    url = reverse(f"accounts:territory_{fmt}") + "?" + urlencode({"departamento": "-"})
    response = leader_client.get(url)
    group = _read_csv(response) if fmt == "csv" else _read_xlsx(response)
    assert {row[1] for row in group[1:]} == _expected_group(network, departamento="")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_neutralise_spreadsheet_formulas(network, leader_client, fmt):
    member = network.members[0]
    User.objects.filter(pk=member.pk).update(nombre_completo='=HYPERLINK("http://x","clic")')
    CedulaInfo.objects.filter(user=member).update(municipio="MEDELLÍN", puesto="+SUM(A1)")
    response = leader_client.get(reverse(f"accounts:territory_{fmt}"), {"municipio": "MEDELLÍN"})
    rows = _read_csv(response) if fmt == "csv" else _read_xlsx(response)
    row = next(r for r in rows if r[1] == member.cedula)
    assert row[0] == '\'=HYPERLINK("http://x","clic")'
    assert row[rows[0].index("Puesto")] == "'+SUM(A1)"


def test_the_xlsx_cells_are_text_never_formulas(network, leader_client):
    User.objects.filter(pk=network.members[0].pk).update(nombre_completo="=1+1")
    body = b"".join(leader_client.get(reverse("accounts:territory_xlsx")).streaming_content)
    sheet = load_workbook(io.BytesIO(body)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_the_referidos_csv_follows_the_filters(network, leader_client):
    rows = _read_csv(leader_client.get(reverse("accounts:referrals_csv"), {"nivel": 2}))
    expected = {
        brute_rows()[pk]["cedula"]
        for pk, d in brute_descendants(brute_rows(), network.root.pk).items()
        if d == 2
    }
    assert {row[1] for row in rows[1:]} == expected


# --- Referidos: filters in the URL, htmx, pagination -----------------------------------------
def test_referidos_answers_htmx_with_the_results_only(network, leader_client):
    response = leader_client.get(REFERRALS, {"resultado": "puede_votar"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="referrals-filters"' in body
    assert "con estos filtros" in body
    full = leader_client.get(REFERRALS, {"resultado": "puede_votar"}).content.decode()
    assert "<html" in full


def test_referidos_history_restore_gets_the_full_page(network, leader_client):
    response = leader_client.get(REFERRALS, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_links_keep_the_filters(network, leader_client):
    body = leader_client.get(
        REFERRALS, {"nivel": 3, "resultado": "puede_votar", "orden": "nombre"}
    ).content.decode()
    sort_links = re.findall(
        r'href="\?([^"]*)" hx-get="[^"]*" hx-target="#referrals-results" '
        r'hx-push-url="true" data-sort="cedula"',
        body,
    )
    assert sort_links
    query = parse_qs(sort_links[0].replace("&amp;", "&"))
    assert query == {"nivel": ["3"], "resultado": ["puede_votar"], "orden": ["cedula"]}
    csv_href = re.search(r'id="referrals-csv" href="([^"]+)"', body).group(1).replace("&amp;", "&")
    assert parse_qs(urlparse(csv_href).query)["nivel"] == ["3"]


def test_numbered_pagination(leader):
    for _ in range(3 * 50 + 1):
        UserFactory(referred_by=leader)
    client = Client()
    client.force_login(leader)
    body = client.get(REFERRALS, {"page": 2}).content.decode()
    assert 'aria-current="page"><span class="page-link">2</span>' in body
    for number in (1, 3, 4):
        assert f'aria-label="Página {number}"' in body
    last = client.get(REFERRALS, {"page": 4})
    assert len(last.context["page"].object_list) == 1
    beyond = client.get(REFERRALS, {"page": 99})
    assert beyond.context["page"].number == 4


def test_puesto_choices_follow_the_chosen_municipio(network, leader_client):
    response = leader_client.get(REFERRALS, {"municipio": "MEDELLÍN"})
    assert response.context["place_options"]["puesto"] == ["COLISEO", "IE SAN JOSÉ"]
    assert "MEDELLÍN" in response.context["place_options"]["municipio"]


def test_junk_filters_never_fail(network, leader_client):
    for params in (
        {"nivel": "abc"},
        {"nivel": "-3"},
        {"resultado": "<script>"},
        {"orden": "password"},
        {"puesto": "x" * 5000},
    ):
        assert leader_client.get(REFERRALS, params).status_code == 200
        assert leader_client.get(TERRITORY, params).status_code == 200


# --- Refresh everything in a filter -------------------------------------------------------------
def test_refresh_everything_in_the_filter_reports_in_a_sentence_and_keeps_the_filter(network, leader_client):
    CedulaInfo.objects.filter(user__in=network.members).update(status=CedulaStatus.FOUND, requested_at=None)
    response = leader_client.post(reverse("accounts:referrals_refresh_filtered"), {"nivel": "4"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{REFERRALS}?nivel=4"
    level4 = [pk for pk, d in brute_descendants(brute_rows(), network.root.pk).items() if d == 4]
    n = len(level4)
    assert (
        f"Enviamos {n} consulta{'s' if n != 1 else ''} a la cola de actualización: "
        f"las {n} personas del filtro." in (response.content.decode())
    )
    assert set(CedulaInfo.objects.filter(user_id__in=level4).values_list("queue", flat=True)) == {
        QUEUE_REFRESH
    }


def test_refresh_by_filter_is_for_leaders(network):
    member = next(m for m in network.members if m.role == "USER")
    client = Client()
    client.force_login(member)
    assert client.post(reverse("accounts:referrals_refresh_filtered")).status_code == 403


# --- Sharing the link ---------------------------------------------------------------------------
def test_home_offers_whatsapp_and_a_qr_code_of_the_referral_link(logged_client, user):
    body = logged_client.get(reverse("accounts:home")).content.decode()
    share = re.search(r'id="whatsapp-share"[^>]*href="([^"]+)"|href="([^"]+)"[^>]*id="whatsapp-share"', body)
    href = (share.group(1) or share.group(2)).replace("&amp;", "&")
    assert href.startswith("https://wa.me/?text=")
    assert f"ref%3D{user.referral_code}" in href
    assert "<svg" in body and "Código QR de tu enlace" in body


def test_phones_get_a_whatsapp_click_to_chat_link(leader):
    UserFactory(referred_by=leader, telefono="3001234567")
    UserFactory(referred_by=leader, telefono="6012345678")  # a landline: no WhatsApp
    client = Client()
    client.force_login(leader)
    body = client.get(REFERRALS).content.decode()
    assert 'href="https://wa.me/573001234567"' in body
    assert "wa.me/576012345678" not in body


def test_a_referidos_page_costs_the_same_few_queries_whatever_its_rows(
    network, leader_client, django_assert_max_num_queries
):
    CedulaInfo.objects.filter(user__in=network.members).update(changed_at=None)
    leader_client.get(REFERRALS)  # session baseline and cached totals
    # session, user, the page with its total; no query per row (deferred fields would add 50).
    with django_assert_max_num_queries(4):
        response = leader_client.get(REFERRALS, {"orden": "puesto"})
    assert len(response.context["page"].object_list) == 50


def test_exports_have_a_budget_per_leader(network, leader_client, settings):
    settings.NETWORK_EXPORT_RATE_LIMIT = 2
    url = reverse("accounts:territory_xlsx")
    assert leader_client.get(url).status_code == 200
    assert leader_client.get(reverse("accounts:territory_csv")).status_code == 200
    refused = leader_client.get(url, {"municipio": "MEDELLÍN"}, follow=True)
    assert refused.redirect_chain[-1][0].startswith(TERRITORY)
    assert "Ya descargaste 2 archivos en la última hora" in refused.content.decode()


def test_a_new_sub_leader_shows_on_tu_red_at_once(network, leader_client):
    target = next(m for m in network.members if m.role == "USER")
    assert (
        f'data-sub-leader="{target.pk}"'
        not in leader_client.get(reverse("accounts:network")).content.decode()
    )
    leader_client.post(reverse("accounts:sub_leader", args=[target.pk]), {"accion": "nombrar"})
    assert f'data-sub-leader="{target.pk}"' in leader_client.get(reverse("accounts:network")).content.decode()


def test_no_inline_styles_or_event_handlers_under_the_csp(network, leader_client):
    for url in (
        REFERRALS,
        TERRITORY,
        f"{TERRITORY}?departamento=ANTIOQUIA",
        reverse("accounts:network"),
        f"{reverse('accounts:territory_list')}?puesto=COLISEO",
        reverse("accounts:home"),
    ):
        html = leader_client.get(url).content.decode()
        assert not re.search(r"\sstyle=|\son[a-z]+=", html), url
        assert "<style" not in html, url
