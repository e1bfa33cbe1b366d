"""Content-Security-Policy, Permissions-Policy and no-store on personal pages; the
favicon; per-IP limits that group IPv6 by /64."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from django.test import RequestFactory

from accounts import throttling
from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db


def csp_of(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_pages_carry_a_strict_content_security_policy(client):
    policy = csp_of(client.get("/ingresar/"))
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]


def test_the_one_inline_script_is_allowed_by_its_hash(client):
    response = client.get("/ingresar/")
    inline = re.findall(r"<script>(.*?)</script>", response.content.decode(), re.S)
    assert inline == ['document.documentElement.classList.add("js");']
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp_of(response)["script-src"]


def test_no_template_uses_inline_styles_or_event_handlers(client, logged_client):
    for response in (client.get("/ingresar/"), client.get("/registro/"), logged_client.get("/")):
        html = response.content.decode()
        assert not re.search(r"\sstyle=|\son[a-z]+=", html)
        assert "<style" not in html


def test_permissions_policy_denies_what_the_portal_does_not_use(client):
    header = client.get("/ingresar/")["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in header


def test_pages_with_personal_data_are_private_and_never_stored(logged_client):
    for url in ("/", "/perfil/", "/referidos/"):
        cache_control = logged_client.get(url)["Cache-Control"]
        assert "private" in cache_control and "no-store" in cache_control, url


def test_the_admin_is_never_stored(admin_client):
    assert "no-store" in admin_client.get("/admin/")["Cache-Control"]


def test_a_public_page_for_anonymous_visitors_may_be_cached(client):
    assert "no-store" not in client.get("/politica-de-datos/").get("Cache-Control", "")


def test_favicon_is_served_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


def request_from(ip: str):
    return RequestFactory().get("/", REMOTE_ADDR=ip)


def test_ipv6_addresses_of_one_slash_64_share_one_bucket():
    a = throttling.ip_bucket(throttling.client_ip(request_from("2001:db8:1:2::1")))
    b = throttling.ip_bucket(throttling.client_ip(request_from("2001:db8:1:2:ffff:ffff:ffff:fffe")))
    c = throttling.ip_bucket(throttling.client_ip(request_from("2001:db8:1:3::1")))
    assert a == b == "2001:db8:1:2::/64"
    assert c != a


def test_ipv4_and_ipv4_mapped_addresses_count_as_the_ipv4_address():
    assert throttling.ip_bucket("203.0.113.7") == "203.0.113.7"
    assert throttling.ip_bucket("::ffff:203.0.113.7") == "203.0.113.7"
    assert throttling.ip_bucket("203.0.113.8") != throttling.ip_bucket("203.0.113.7")
    assert throttling.ip_bucket("") == "unknown"


def test_rotating_through_a_slash_64_does_not_escape_the_login_limit(settings):
    settings.LOGIN_THROTTLE_IP_MAX_FAILURES = 3
    for host in range(1, 4):
        throttling.login_failure_record(cedula="", ip=f"2001:db8:aa:bb::{host:x}")
    assert throttling.login_is_blocked(cedula="", ip="2001:db8:aa:bb:1234:5678:9abc:def0")
    assert not throttling.login_is_blocked(cedula="", ip="2001:db8:aa:bc::1")


def test_rotating_through_a_slash_64_does_not_escape_the_signup_limit(settings):
    settings.SIGNUP_THROTTLE_IP_MAX = 2
    throttling.signup_record(ip="2001:db8:cc::1")
    throttling.signup_record(ip="2001:db8:cc::2")
    assert throttling.signup_is_blocked(ip="2001:db8:cc:0:dead:beef::9")
    assert not throttling.signup_is_blocked(ip="203.0.113.9")


@pytest.mark.browser
def test_pages_run_in_chromium_without_a_single_csp_violation(live_server, browser_page, tmp_path):
    """The real check that CSP breaks nothing: Bootstrap, htmx and forms.js load and run."""
    page = browser_page
    violations: list[str] = []
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    user = UserFactory(password="clave-segura-123")
    for _ in range(3):  # 3 of the default goal of 10: the bar shows 30 %
        UserFactory(referred_by=user)
    page.goto(f"{live_server.url}/ingresar/")
    assert page.evaluate("document.documentElement.classList.contains('js')")
    assert page.evaluate("typeof window.htmx === 'object' && typeof window.bootstrap === 'object'")
    page.fill("input[name=cedula]", user.cedula)
    page.fill("input[name=password]", "clave-segura-123")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(tmp_path / f"home-{width}.png"), full_page=True)
    ratio = page.evaluate(
        "document.querySelector('.progress-bar').getBoundingClientRect().width"
        " / document.querySelector('.progress').getBoundingClientRect().width"
    )
    assert ratio == pytest.approx(0.30, abs=0.01)
    assert violations == []
