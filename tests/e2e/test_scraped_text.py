"""Text the scraper reads from the site is rendered escaped: markup injected through the
replica's ``place_text`` switch reaches the row through a real worker and stays inert."""

import pytest
from django.urls import reverse

from accounts.models import CedulaInfo, CedulaStatus
from tests.fixtures.factories import LeaderFactory, UserFactory
from tests.fixtures.worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = "<script>alert('censo')</script>"


def test_script_in_scraped_text_renders_escaped(worker, replica_clean, clean_queues, client):
    replica_clean.set(place_text=SCRIPT)
    leader = LeaderFactory()
    # A cédula the replica knows as found (docs/replica.md, synthetic citizens).
    member = UserFactory(cedula="1000000001", referred_by=leader)
    info = wait_for(
        lambda: CedulaInfo.objects.filter(user=member, status__in=CedulaStatus.final()).first(),
        timeout=60,
        message="the lookup",
    )
    assert info.status == CedulaStatus.FOUND
    assert info.puesto == SCRIPT  # what the scraper read, stored as text
    client.force_login(member)
    home = client.get(reverse("accounts:home")).content.decode()
    client.force_login(leader)
    referrals = client.get(reverse("accounts:referrals")).content.decode()
    for html in (home, referrals):
        assert SCRIPT not in html
        assert "&lt;script&gt;alert(" in html
