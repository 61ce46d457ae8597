"""Reads of the outbox for the apps that queue emails: how their deliveries stand, by topic.
Every read takes the site."""

from collections import Counter
from collections.abc import Iterable

from django.db.models import Count

from institutions.models import Institution

from .models import DeliveryStatus, EmailDelivery


def delivery_counts_by_topic(
    *, site: Institution, topics: Iterable[str]
) -> dict[str, Counter[tuple[str, str]]]:
    """``{topic: Counter({(kind, status): deliveries})}`` for the site's deliveries about
    ``topics`` (a topic with none is absent). One query."""
    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return {}
    rows = (
        EmailDelivery.objects.filter(site=site, topic__in=wanted)
        .values_list("topic", "kind", "status")
        .annotate(deliveries=Count("pk"))
        .order_by()
    )
    counts: dict[str, Counter[tuple[str, str]]] = {}
    for topic, kind, status, deliveries in rows:
        counts.setdefault(topic, Counter())[(kind, status)] = deliveries
    return counts


def deliveries_pending_count() -> int:
    """How many email deliveries wait to be sent (queued, sending or retrying): the
    outbox's depth, for the metrics."""
    return EmailDelivery.objects.exclude(
        status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED]
    ).count()
