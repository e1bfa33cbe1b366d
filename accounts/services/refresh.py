"""Row writes of the nightly refresh and the sweeper (the jobs live in ``actors.refresh``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from accounts.models import CedulaInfo, CedulaStatus
from accounts.selectors.refresh import cedula_infos_for_update, sweep_queue_for
from accounts.services.cedulas import pending_fields


@transaction.atomic
def refresh_mark_pending(*, user_ids: list[int], condition: Q, queue: str) -> list[int]:
    """Mark the rows of ``user_ids`` still matching ``condition`` pending on ``queue``; return their ids.

    ``queue`` is recorded on the row so the sweeper resends a lost message to the
    queue it was sent to, and judges its backlog by that queue.
    """
    marked = list(
        cedula_infos_for_update(user_ids=user_ids, condition=condition).values_list("user_id", flat=True)
    )
    if marked:
        CedulaInfo.objects.filter(user_id__in=marked).update(**pending_fields(queue=queue))
    return marked


@dataclass(frozen=True)
class SweepMarked:
    by_queue: dict[str, list[int]]
    marked: int
    reset_processing: int


@transaction.atomic
def refresh_sweep_mark(*, user_ids: list[int], condition: Q, queues: Iterable[str]) -> SweepMarked:
    """Mark the stuck rows of ``user_ids`` pending again, each on the queue it belongs to.

    Returns the ids per queue to send, how many rows were marked and how many of
    them were ``processing`` past their lease (a worker died).
    """
    queues = tuple(queues)
    by_queue: dict[str, list[int]] = {queue: [] for queue in queues}
    rows = list(
        cedula_infos_for_update(user_ids=user_ids, condition=condition).values_list(
            "user_id", "status", "fetched_at", "queue"
        )
    )
    for user_id, _, fetched_at, queue in rows:
        by_queue[sweep_queue_for(queue=queue, fetched_at=fetched_at, queues=queues)].append(user_id)
    for queue, ids in by_queue.items():
        if ids:  # the row's queue is filled in for rows from before the column
            CedulaInfo.objects.filter(user_id__in=ids).update(**pending_fields(queue=queue))
    return SweepMarked(
        by_queue=by_queue,
        marked=len(rows),
        reset_processing=sum(1 for _, status, _, _ in rows if status == CedulaStatus.PROCESSING),
    )
