"""Broker-side metrics, read fresh from RabbitMQ on every scrape (``/metrics/queues``).

Web request metrics come from django-prometheus (``/metrics``); worker metrics
from each worker's exposition port (``actors.metrics``). Queue depths belong to
neither: they are the broker's, so any web process answers them, from its own
registry, without multiprocess files. The circuit breakers' state is served here for
the same reason: it is Redis's, fleet-wide (``actors.metrics.BreakerCollector``).

The metrics URLs are for Prometheus on the internal network: the reverse proxy
refuses them from outside (compose/production/nginx/default.conf).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)


class QueueCollector:
    """``paginamadre_queue_messages{queue, state}``, consumers, oldest ready age, broker up."""

    def collect(self):
        from actors import monitoring

        up = GaugeMetricFamily("paginamadre_broker_up", "1 when RabbitMQ answered this scrape.")
        messages = GaugeMetricFamily(
            "paginamadre_queue_messages",
            "Messages per lookup queue: ready, delayed (.DQ, retries and deferrals) and dead (.XQ).",
            labels=["queue", "state"],
        )
        consumers = GaugeMetricFamily(
            "paginamadre_queue_consumers", "Consumers (worker processes) on the queue.", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "paginamadre_queue_oldest_ready_seconds",
            "How long the message at the head of the queue has waited (0 when empty).",
            labels=["queue"],
        )
        budget = GaugeMetricFamily(
            "paginamadre_captcha_budget_solves_per_day",
            "CAPTCHA_DAILY_BUDGET: captcha solves the account may spend per day (0: no budget set).",
        )
        budget.add_metric([], settings.CAPTCHA_DAILY_BUDGET)
        try:
            with monitoring.amqp_connection() as amqp:
                for depth in monitoring.queue_depths(amqp):
                    if not depth.exists:
                        continue
                    name = depth.short_name
                    for state in ("ready", "delayed", "dead"):
                        value = getattr(depth, state)
                        if value is not None:
                            messages.add_metric([name, state], value)
                    consumers.add_metric([name], depth.consumers or 0)
                    age = monitoring.oldest_ready_age_seconds(amqp, queue=depth.queue)
                    oldest.add_metric([name], age or 0.0)
            up.add_metric([], 1)
        except Exception as exc:  # noqa: BLE001 — a scrape reports the broker down, it never fails
            log.warning("queue metrics: broker unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
        yield from (up, messages, consumers, oldest, budget)


@login_not_required
@never_cache
@require_GET
def queue_metrics(request):
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector())
    from actors.metrics import BreakerCollector

    registry.register(BreakerCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
