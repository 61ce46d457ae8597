"""The one writer of the audit trail: ``audit.record`` and ``audit.record_many``."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction, AuditEvent
from tests.factories import InstitutionFactory, TrustFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(trust):
    hop_from = TrustFactory()
    user = UserFactory(email="ada@oak.test")
    return Actor(user=user, site=trust, ip_address="192.0.2.7", acting_from=hop_from)


def test_record_writes_one_event_at_the_actors_site_unless_told(actor, trust):
    school = InstitutionFactory()
    here = audit.record(actor=actor, action=AuditAction.SIGN_IN, detail={"a": 1})
    there = audit.record(
        actor=actor, action=AuditAction.CLUSTER_CHANGED, target="x" * 300, site=school
    )
    rows = {event.pk: event for event in AuditEvent.objects.all()}
    assert set(rows) == {here.pk, there.pk}
    assert (rows[here.pk].site, rows[here.pk].detail, rows[here.pk].target) == (
        trust,
        {"a": 1},
        "",
    )
    assert (rows[there.pk].site, rows[there.pk].target) == (school, "x" * 255)
    for event in rows.values():
        assert (event.actor, event.actor_email, event.ip_address, event.acting_from) == (
            actor.user,
            "ada@oak.test",
            "192.0.2.7",
            actor.acting_from,
        )


def test_record_many_writes_every_event_in_one_query(actor, trust):
    schools = [InstitutionFactory() for _ in range(5)]
    events = [
        audit.Entry(school.pk, f"{school.name}: L1", {"n": n}) for n, school in enumerate(schools)
    ]
    events.append((None, "the group itself", {"n": 5}))  # a plain tuple; None: the actor's site
    with CaptureQueriesContext(connection) as queries:
        written = audit.record_many(actor=actor, action=AuditAction.REQUEST_SENT, events=events)
    assert len(queries) == 1
    assert queries[0]["sql"].startswith('INSERT INTO "accounts_auditevent"')
    assert len(written) == 6
    rows = AuditEvent.objects.order_by("pk")
    assert [(e.site_id, e.target, e.detail) for e in rows] == [
        *((school.pk, f"{school.name}: L1", {"n": n}) for n, school in enumerate(schools)),
        (trust.pk, "the group itself", {"n": 5}),
    ]
    assert {
        (e.action, e.actor_id, e.actor_email, e.ip_address, e.acting_from_id) for e in rows
    } == {
        (AuditAction.REQUEST_SENT, actor.user.pk, "ada@oak.test", "192.0.2.7", actor.acting_from.pk)
    }


def test_record_many_of_nothing_runs_no_query(actor):
    with CaptureQueriesContext(connection) as queries:
        assert audit.record_many(actor=actor, action=AuditAction.REQUEST_SENT, events=[]) == []
    assert len(queries) == 0
