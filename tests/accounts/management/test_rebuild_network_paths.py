import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_check_reports_stale_paths_and_the_rebuild_fixes_them(capsys):
    a = LeaderFactory()
    b = UserFactory(referred_by=a)
    UserFactory(referred_by=b)
    call_command("rebuild_network_paths", "--check")
    User.objects.filter(pk=b.pk).update(referred_by=None)  # behind the signals' back
    with pytest.raises(CommandError, match="2 network paths are stale"):
        call_command("rebuild_network_paths", "--check")
    call_command("rebuild_network_paths")
    assert "2 rewritten" in capsys.readouterr().out
    call_command("rebuild_network_paths", "--check")
