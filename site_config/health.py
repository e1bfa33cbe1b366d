"""Readiness (``/healthz``) and liveness (``/livez``) probes.

``/healthz`` is what a load balancer and Prometheus' blackbox checks ask: can
this web process serve a signup end to end? It checks the database, the broker
(a real AMQP login plus a passive declare of the lookups queue) and how long
the oldest signup lookup has been waiting. 200 when all pass, 503 naming what
failed. ``/livez`` never touches a dependency: an orchestrator restarts a
process only when the process itself is stuck, not when PostgreSQL is down.

Both are public and carry no personal data: statuses, counts and seconds only,
never an exception text (it may hold a host name or a password from a URL).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok"}


def _check_broker_and_backlog() -> tuple[dict, dict]:
    """One AMQP connection for both the broker check and the backlog age."""
    from actors import monitoring
    from actors.queues import QUEUE_LOOKUPS

    with monitoring.amqp_connection() as amqp:
        depth = next(d for d in monitoring.queue_depths(amqp) if d.queue == QUEUE_LOOKUPS)
        if not depth.exists:
            # A fresh broker has no queues until the first worker or send declares them.
            broker = {"status": "error", "error": "lookups queue does not exist"}
            return broker, {"status": "error", "error": "lookups queue does not exist"}
        broker = {"status": "ok", "consumers": depth.consumers}
        age = monitoring.oldest_ready_age_seconds(amqp, queue=QUEUE_LOOKUPS) or 0.0
    limit = settings.HEALTH_MAX_LOOKUP_AGE_SECONDS
    backlog = {
        "status": "ok" if age <= limit else "error",
        "ready": depth.ready,
        "oldest_ready_seconds": round(age, 1),
        "limit_seconds": limit,
    }
    return broker, backlog


def _run(name: str, check) -> object:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 — a probe reports, it never raises
        # The type only: messages may carry hosts or credentials.
        log.warning("health check %s failed: %s", name, type(exc).__name__)
        return {"status": "error", "error": type(exc).__name__}


@login_not_required
@never_cache
@require_GET
def healthz(request):
    started = time.monotonic()
    checks = {"database": _run("database", _check_database)}
    pair = _run("broker", _check_broker_and_backlog)
    if isinstance(pair, tuple):
        checks["broker"], checks["lookups_backlog"] = pair
    else:
        checks["broker"] = pair
        checks["lookups_backlog"] = {"status": "error", "error": "broker unavailable"}
    failed = sorted(name for name, result in checks.items() if result["status"] != "ok")
    body = {
        "status": "ok" if not failed else "error",
        "failed": failed,
        "checks": checks,
        "duration_ms": round((time.monotonic() - started) * 1000),
    }
    return JsonResponse(body, status=503 if failed else 200)


@login_not_required
@never_cache
@require_GET
def livez(request):
    return JsonResponse({"status": "ok"})


class ProbeMiddleware:
    """Answer the probes and metrics URLs before anything else runs.

    Load balancers, orchestrators and Prometheus address a container by its IP
    (``Host: 172.18.0.5:8000``), which ALLOWED_HOSTS rightly refuses for pages. These
    views build no URL from the Host header, need no session, user or CSRF, and must
    not count as page traffic in the request metrics, so they are served here, first
    in MIDDLEWARE, without host validation. Every other path goes on as usual.
    """

    def __init__(self, get_response) -> None:
        from django_prometheus.exports import ExportToDjangoView

        from site_config.metrics import queue_metrics

        self.get_response = get_response
        self.routes = {
            "/livez": livez,
            "/healthz": healthz,
            "/metrics": ExportToDjangoView,
            "/metrics/queues": queue_metrics,
        }

    def __call__(self, request):
        view = self.routes.get(request.path_info)
        if view is None:
            return self.get_response(request)
        return view(request)
