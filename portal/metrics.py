"""``/metrics``: Prometheus metrics, on the platform host only, for the operator's network only
(``MATMIS_METRICS_ALLOWED_NETWORKS``); anyone else gets the same 404 as a page that does not
exist.

Besides the figures every process keeps (``matmis.metrics``: request latency by route,
Celery task counts and failures), two are read from the database at each scrape:

- ``matmis_outbox_pending_deliveries``: email deliveries waiting to be sent;
- ``matmis_rollup_lag_seconds``: how long the longest-waiting school has been due a
  roll-up refresh (0 when none is).
"""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from matmis.metrics import metrics_reader_allowed, process_registry
from matmis.views import page_not_found
from mis.rollups import rollups_oldest_due_since
from notifications.selectors import deliveries_pending_count


class DatabaseFigures:
    """A collector of the figures read from the database at each scrape."""

    def collect(self):
        yield GaugeMetricFamily(
            "matmis_outbox_pending_deliveries",
            "Email deliveries waiting to be sent (queued, sending or retrying).",
            value=deliveries_pending_count(),
        )
        now = timezone.now()
        due_since = rollups_oldest_due_since(now=now)
        yield GaugeMetricFamily(
            "matmis_rollup_lag_seconds",
            "How long the longest-waiting school has been due a roll-up refresh (0: none).",
            value=(now - due_since).total_seconds() if due_since is not None else 0.0,
        )


def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_reader_allowed(request):
        return page_not_found(request)
    database = CollectorRegistry()
    database.register(DatabaseFigures())
    body = generate_latest(process_registry()) + generate_latest(database)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
