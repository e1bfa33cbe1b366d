"""Follow-ups of the portal review: numbers printed the Colombian way (10.000), and the
name rule the same in the browser and on the server."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.forms import ProfileForm, RegistrationForm
from accounts.models import User
from accounts.validators import NOMBRE_HTML_PATTERN, normalize_nombre
from tests.fixtures.factories import UserFactory


# --- Thousands separators -----------------------------------------------------------------
@pytest.mark.django_db
def test_the_goal_limit_reads_10_000_in_help_text_and_error(logged_client):
    response = logged_client.post(
        reverse("accounts:profile"),
        {
            "form": "profile",
            "nombre_completo": "Ana Peña",
            "telefono": "3001234567",
            "referral_goal": "10001",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "menor o igual a 10.000" in body
    assert "de 1 a 10.000" in body
    assert "10000" not in body.replace('max="10000"', "")  # the input's max stays a plain number


def test_the_goal_field_keeps_machine_readable_limits():
    widget_attrs = ProfileForm().fields["referral_goal"].widget.attrs
    assert widget_attrs["max"] == 10000


@pytest.mark.django_db
def test_home_prints_goal_and_count_with_thousands_separators(logged_client, user):
    user.referral_goal = 10_000
    user.save()
    User.objects.bulk_create(UserFactory.build_batch(1_234, referred_by=user))
    body = logged_client.get(reverse("accounts:home")).content.decode()
    assert 'data-testid="referral-count">1.234<' in body
    assert "de 10.000 referidos" in body
    assert "10000" not in body


@pytest.mark.django_db
def test_referrals_page_prints_the_total_with_thousands_separators(logged_client, user):
    User.objects.bulk_create(UserFactory.build_batch(1_001, referred_by=user))
    body = logged_client.get(reverse("accounts:referrals")).content.decode()
    assert 'data-testid="referral-total">1.001<' in body


# --- Name rule: browser pattern == server --------------------------------------------------
def _pattern_as_python(pattern: str) -> re.Pattern:
    # Python's re has no \p{L}; [^\W\d_] inside a class is not possible, so swap the
    # letter class for an explicit Latin range (enough for these cases). \uXXXX escapes
    # mean the same in both engines.
    assert r"\p{L}" in pattern
    return re.compile(pattern.replace(r"\p{L}", "A-Za-zÀ-ÖØ-öø-ÿ"))


NAMES = {
    "María José O'Neill": True,
    "María José O\u2019Neill": True,  # right single quote (phones' keyboards)
    "María José O\u2018Neill": True,  # left single quote
    "María José O\u00b4Neill": True,  # acute accent (Spanish keyboards' dead key)
    "María José O`Neill": True,  # grave accent
    "Ana 2": False,
    "Ana_María": False,
    "Ana-María": False,
    'O"Neill': False,
}


@pytest.mark.parametrize(("name", "valid"), NAMES.items())
def test_server_and_html_pattern_agree_on_names(name, valid):
    try:
        normalize_nombre(name)
        server_ok = True
    except ValidationError:
        server_ok = False
    browser_ok = _pattern_as_python(NOMBRE_HTML_PATTERN).fullmatch(name) is not None
    assert server_ok is valid
    assert browser_ok is valid


@pytest.mark.parametrize("apostrophe", ["\u2019", "\u2018", "\u00b4", "`"])
def test_every_apostrophe_variant_becomes_a_plain_one(apostrophe):
    assert normalize_nombre(f"Sinéad O{apostrophe}Connor") == "Sinéad O'Connor"


def test_the_forms_carry_the_shared_pattern():
    assert RegistrationForm().fields["nombre_completo"].widget.attrs["pattern"] == NOMBRE_HTML_PATTERN
    assert ProfileForm().fields["nombre_completo"].widget.attrs["pattern"] == NOMBRE_HTML_PATTERN
