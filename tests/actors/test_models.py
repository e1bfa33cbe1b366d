"""SchedulerRun moved from accounts to actors: the migrations keep the table and its rows."""

import pytest
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor

from actors.models import SchedulerRun

BEFORE_THE_MOVE = ("accounts", "0002_cedulainfo_queue")


@pytest.mark.django_db(transaction=True)
def test_scheduler_runs_recorded_before_the_move_are_still_there_after_it():
    executor = MigrationExecutor(connection)
    executor.migrate([("actors", None)])  # back to the layout where accounts owned SchedulerRun
    old_apps = executor.loader.project_state([BEFORE_THE_MOVE]).apps
    OldRun = old_apps.get_model("accounts", "SchedulerRun")
    OldRun.objects.create(job="nightly_refresh", period="2026-11-30T02:30-05:00", claimed_by="old:1", sent=7)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    run = SchedulerRun.objects.get(job="nightly_refresh", period="2026-11-30T02:30-05:00")
    assert (run.claimed_by, run.sent) == ("old:1", 7)
    assert SchedulerRun._meta.app_label == "actors"
    # The unique (job, period) claim still holds on the moved table.
    with pytest.raises(IntegrityError):
        SchedulerRun.objects.create(job="nightly_refresh", period="2026-11-30T02:30-05:00", claimed_by="x")
