"""Import limits under concurrent confirmations: the in-flight cap and the daily lookup budget
hold when a leader's confirmations arrive at once (double clicks, several tabs).

The real RabbitMQ takes each import's message and no worker runs, so every import that
starts stays in flight with its lookups reserved. With the broker down an import fails
at once and hands its reservation back, and a later confirmation may rightly start.
"""

import pytest
from django.db import connection

from accounts.models import ContactImport
from accounts.services.imports import ImportRefused, import_confirm, import_stage
from tests.fixtures.broker import purge_queues
from tests.fixtures.factories import LeaderFactory
from tests.fixtures.threads import run_at_once

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

COLUMNS = {"cedula": 0, "nombre": 1, "telefono": None}


@pytest.fixture(autouse=True)
def _empty_queues():
    purge_queues()
    yield
    purge_queues()


def _drafts(leader, count: int, rows_each: int, start: int):
    drafts = []
    for n in range(count):
        lines = ["cedula;nombre"] + [
            f"{start + n * rows_each + i};Persona Importada" for i in range(rows_each)
        ]
        drafts.append(
            import_stage(leader=leader, file_name=f"lista{n}.csv", data="\n".join(lines).encode())[0]
        )
    return drafts


def _confirm_at_once(leader, drafts):
    refused, errors = [], []

    def confirm(draft):
        try:
            import_confirm(
                leader=leader,
                draft=draft,
                columns=COLUMNS,
                header=["cedula", "nombre"],
                ip=None,
                consented=True,
            )
        except ImportRefused as exc:
            refused.append(str(exc))
        except Exception as exc:  # a SQLite lock timeout is a refusal too, never a second import
            errors.append(exc)

    run_at_once(confirm, drafts)
    return refused, errors


def test_simultaneous_confirmations_start_one_import_when_one_may_be_in_flight(settings):
    settings.IMPORT_MAX_IN_FLIGHT = 1
    settings.IMPORT_UPLOADS_PER_HOUR = 50
    leader = LeaderFactory()
    drafts = _drafts(leader, count=4, rows_each=3, start=53_300_000)

    refused, errors = _confirm_at_once(leader, drafts)

    imports = ContactImport.objects.filter(leader=leader)
    assert imports.count() == 1
    assert imports.get().status == ContactImport.Status.QUEUED
    if connection.vendor != "sqlite":
        assert not errors
    assert all("en curso" in reason for reason in refused)
    assert len(refused) + len(errors) == 3


def test_simultaneous_confirmations_never_spend_more_than_the_daily_lookup_budget(settings):
    settings.IMPORT_MAX_IN_FLIGHT = 10
    settings.IMPORT_UPLOADS_PER_HOUR = 50
    settings.IMPORT_DAILY_LOOKUP_BUDGET = 10
    leader = LeaderFactory()
    # Four files of 4 new cédulas each: 16 lookups asked, 10 allowed, so two imports at most.
    drafts = _drafts(leader, count=4, rows_each=4, start=53_400_000)

    _confirm_at_once(leader, drafts)

    imports = ContactImport.objects.filter(leader=leader)
    assert 1 <= imports.count() <= 2
    assert all(i.status == ContactImport.Status.QUEUED for i in imports)
    assert sum(i.lookups_reserved for i in imports) <= 10
