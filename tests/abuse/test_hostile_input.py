"""Hostile bodies never give a 500: property-based registration and profile payloads,
odd content types and charsets; text with markup renders escaped."""

from __future__ import annotations

import json
import random

import pytest
from django.test import Client
from django.test.client import MULTIPART_CONTENT
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import CedulaInfo, CedulaStatus
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db

HOSTILE_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=50).map(
        lambda t: t * 2000
    ),  # ~100 KB
    st.sampled_from(
        [
            "\x00",
            "52\x00345678",
            "1.234.567",
            "1 234 567",
            "1,234,567",
            "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # full-width digits
            "١٢٣٤٥٦٧",  # Arabic-Indic digits
            "' OR 1=1 --",
            "'; DROP TABLE accounts_user; --",
            "<script>alert(1)</script>",
            "{{ 7*7 }}{% debug %}",
            '=HYPERLINK("http://x")',
            "\u202e\u200b\ufeff",
            "𝕁𝕠𝕤é Ñúñez",
            "9" * 400,
            "-1",
            "1e309",
            "NaN",
            "",
            " ",
        ]
    ),
)
REGISTRATION_FIELDS = (
    "nombre_completo",
    "cedula",
    "telefono",
    "password1",
    "password2",
    "accepted_data_policy",
    "ref",
)
PROFILE_FIELDS = ("form", "nombre_completo", "telefono", "referral_goal", "old_password", "new_password1")
ENCODINGS = st.sampled_from(["urlencoded", "multipart", "json", "urlencoded-duplicated"])
COUNTS = {"registration": 0, "profile": 0}


def _payload(fields):
    """Some of ``fields`` (missing ones are missing), each a hostile value or a list of them."""
    return st.dictionaries(
        st.sampled_from(fields), st.one_of(HOSTILE_TEXT, st.lists(HOSTILE_TEXT, min_size=2, max_size=3))
    )


def _post(client: Client, url: str, data: dict, encoding: str, **extra):
    if encoding == "json":
        return client.post(url, json.dumps(data), content_type="application/json", **extra)
    if encoding == "multipart":
        return client.post(url, data, content_type=MULTIPART_CONTENT, **extra)
    from urllib.parse import urlencode

    pairs = []
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        repeats = 2 if encoding == "urlencoded-duplicated" else 1
        pairs.extend((key, v) for v in values for _ in range(repeats))
    body = urlencode(pairs)
    return client.post(url, body, content_type="application/x-www-form-urlencoded", **extra)


@pytest.fixture
def no_signup_budget(settings):
    settings.SIGNUP_THROTTLE_IP_MAX = 10**6
    settings.SIGNUP_PROBE_IP_MAX = 10**6


@pytest.mark.slow
@settings(max_examples=260, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_payload(REGISTRATION_FIELDS), encoding=ENCODINGS)
def test_hostile_registration_payloads_never_give_a_500(no_signup_budget, data, encoding):
    client = Client(raise_request_exception=False)
    response = _post(client, reverse("accounts:register"), data, encoding, REMOTE_ADDR="10.50.0.1")
    COUNTS["registration"] += 1
    assert response.status_code in (200, 302, 400, 429), response.status_code


@pytest.mark.slow
@settings(max_examples=260, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_payload(PROFILE_FIELDS), encoding=ENCODINGS)
def test_hostile_profile_payloads_never_give_a_500(data, encoding):
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())
    response = _post(client, reverse("accounts:profile"), data, encoding)
    COUNTS["profile"] += 1
    assert response.status_code in (200, 302, 400), response.status_code


def test_enough_hostile_payloads_were_tried():
    """Runs after the two properties above (file order): 500+ payloads in all."""
    print(f"hostile payloads: {COUNTS}")
    if COUNTS["registration"] and COUNTS["profile"]:
        assert sum(COUNTS.values()) >= 500


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/x-www-form-urlencoded; charset=utf-32",
        "application/x-www-form-urlencoded; charset=no-such-codec",
        "multipart/form-data; charset=utf-16",  # no boundary
        "multipart/form-data; boundary=x",  # a body that is not multipart
        "text/plain",
    ],
)
@pytest.mark.parametrize("url_name", ["accounts:register", "accounts:login", "accounts:profile"])
def test_odd_content_types_and_charsets_get_a_4xx_not_a_500(content_type, url_name):
    client = Client(raise_request_exception=False, enforce_csrf_checks=True)
    client.force_login(UserFactory()) if url_name == "accounts:profile" else None
    client.get(reverse(url_name))
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else "x"
    body = f"csrfmiddlewaretoken={token}&cedula=1234567&password=x".encode("utf-16")
    response = client.generic("POST", reverse(url_name), body, content_type=content_type)
    assert response.status_code < 500, f"{content_type}: {response.status_code}"


def test_a_random_binary_body_gets_a_4xx_not_a_500():
    client = Client(raise_request_exception=False)
    body = random.Random(7).randbytes(20_000)
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=----x"):
        response = client.generic("POST", reverse("accounts:register"), body, content_type=content_type)
        assert response.status_code < 500


# ------------------------------------------------------------------------------
# Markup renders escaped
# ------------------------------------------------------------------------------
SCRIPT = "<script>alert('x')</script>"


def test_script_in_names_and_scraped_text_renders_escaped(client):
    leader = LeaderFactory(nombre_completo=f"Líder {SCRIPT}")
    referral = UserFactory(referred_by=leader, nombre_completo=f"Ref {SCRIPT}")
    scraped = {f: f"{SCRIPT}{f}" for f in ("departamento", "municipio", "puesto", "direccion", "novedad")}
    CedulaInfo.objects.filter(user__in=[leader, referral]).update(
        status=CedulaStatus.FOUND, mesa="<b>1</b>", message=SCRIPT, **scraped
    )
    client.force_login(leader)
    pages = [
        client.get(reverse("accounts:home")),
        client.get(reverse("accounts:referrals")),
        client.get(reverse("accounts:profile")),
        client.get(reverse("cedula:card")),
        client.get(reverse("cedula:referral-status", args=[referral.pk])),
    ]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert "<script>alert(" not in html, response.request["PATH_INFO"]
        assert "<b>1</b>" not in html
    assert "&lt;script&gt;alert(" in pages[1].content.decode()


def test_csv_export_neutralises_formulas_from_names_and_scraped_text(client):
    leader = LeaderFactory()
    referral = UserFactory(referred_by=leader, nombre_completo='=HYPERLINK("http://x","y")')
    CedulaInfo.objects.filter(user=referral).update(
        status=CedulaStatus.FOUND, puesto="+SUM(A1:A9)", direccion="@cmd", municipio="-2+3"
    )
    client.force_login(leader)
    response = client.get(reverse("accounts:referrals_csv"))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    cells = [cell.strip('"') for line in body.splitlines()[1:] for cell in line.split(";")]
    assert cells, body
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")], cells
