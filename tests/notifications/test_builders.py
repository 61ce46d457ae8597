"""The outbox is generic: any app queues emails naming a registered message builder, which
makes them when they are sent; a delivery whose email cannot be built fails, saying why,
instead of looping; and an app finds its deliveries by topic."""

from smtplib import SMTPException

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.builders import (
    EmailContent,
    UnknownBuilder,
    builder_for,
    register_builder,
)
from notifications.models import DeliveryStatus, EmailDelivery
from notifications.selectors import delivery_counts_by_topic
from notifications.services import OutgoingEmail, deliveries_enqueue, deliveries_send
from tests.factories import TrustFactory

pytestmark = pytest.mark.django_db

NOTE = "tests.note"
BROKEN = "tests.broken"


@register_builder(NOTE)
def note_emails(deliveries):
    """A builder of another app: a note per delivery; it makes none for a note 'gone'."""
    return {
        d.pk: EmailContent(subject=f"Note {d.params['n']}", text=f"Note number {d.params['n']}.")
        for d in deliveries
        if d.params.get("n") != "gone"
    }


@register_builder(BROKEN)
def broken_emails(deliveries):
    raise RuntimeError("a bug in the builder")


def note(site, n, *, topic="notes:1", builder=NOTE, address=None) -> OutgoingEmail:
    return OutgoingEmail(
        site_id=site.pk,
        address=f"reader{n}@example.test" if address is None else address,
        kind="note",
        dedupe_key=f"note:{site.pk}:{n}",
        builder=builder,
        params={"n": n},
        topic=topic,
    )


def queued(site, n, *, builder=NOTE) -> EmailDelivery:
    """A delivery as it might be in the table: its builder's name as it was then."""
    return EmailDelivery.objects.create(
        site=site,
        address=f"reader{n}@example.test",
        kind="note",
        topic="notes:1",
        dedupe_key=f"note:{site.pk}:{n}",
        builder=builder,
        params={"n": n},
    )


@pytest.fixture
def site():
    return TrustFactory()


def test_any_app_queues_and_sends_through_its_builder(
    site, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as published:
        deliveries_enqueue(messages=[note(site, 1), note(site, 2)])
    assert len(published) == 1  # one task for the topic
    assert sorted((m.to[0], m.subject, m.body) for m in mailoutbox) == [
        ("reader1@example.test", "Note 1", "Note number 1."),
        ("reader2@example.test", "Note 2", "Note number 2."),
    ]
    assert all(m.alternatives == [] for m in mailoutbox)  # no HTML made, none sent
    deliveries = EmailDelivery.objects.order_by("pk")
    assert [(d.status, d.attempts, d.topic, d.kind) for d in deliveries] == [
        (DeliveryStatus.SENT, 1, "notes:1", "note")
    ] * 2
    for delivery, message in zip(deliveries, sorted(mailoutbox, key=lambda m: m.to), strict=True):
        assert message.extra_headers["Message-ID"] == f"<matmis.delivery.{delivery.pk}@localhost>"
        assert message.extra_headers["Auto-Submitted"] == "auto-generated"


def test_one_insert_and_a_task_per_site_and_topic(
    site, django_capture_on_commit_callbacks, django_assert_num_queries
):
    other = TrustFactory()
    messages = [
        note(site, 1),
        note(site, 2, topic="notes:2"),
        note(site, 3),
        note(other, 1),
        note(site, 1),  # the same key twice: one delivery
    ]
    with (
        django_capture_on_commit_callbacks() as published,
        django_assert_num_queries(1),
    ):
        deliveries_enqueue(messages=messages)
    assert EmailDelivery.objects.count() == 4
    assert [(c.keywords["site_id"], c.keywords["dedupe_keys"]) for c in published] == [
        (site.pk, [f"note:{site.pk}:1", f"note:{site.pk}:3"]),
        (site.pk, [f"note:{site.pk}:2"]),
        (other.pk, [f"note:{other.pk}:1"]),
    ]


def test_queueing_names_a_registered_builder(site, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks() as published,
        pytest.raises(ValueError, match=r"No message builder is registered as 'tests\.nobody'"),
    ):
        deliveries_enqueue(messages=[note(site, 1), note(site, 2, builder="tests.nobody")])
    with pytest.raises(ValueError, match="address"):
        deliveries_enqueue(messages=[note(site, 3, address="")])
    assert not EmailDelivery.objects.exists()
    assert published == []


def test_an_unknown_builder_fails_its_delivery_at_once_and_the_others_are_sent(site, mailoutbox):
    renamed = queued(site, 1, builder="tests.renamed")
    fine = queued(site, 2)
    assert deliveries_send(site_id=site.pk, delivery_ids=[renamed.pk, fine.pk]) == 1
    renamed.refresh_from_db()
    assert (renamed.status, renamed.attempts) == (DeliveryStatus.FAILED, 1)
    assert renamed.last_error.startswith(
        "UnknownBuilder: No message builder is registered as 'tests.renamed'"
    )
    assert [m.to for m in mailoutbox] == [["reader2@example.test"]]
    # Not a crash loop: never tried again, by a task or by the sweep.
    assert deliveries_send(site_id=site.pk, delivery_ids=[renamed.pk]) == 0
    renamed.refresh_from_db()
    assert (renamed.status, renamed.attempts) == (DeliveryStatus.FAILED, 1)


def test_a_delivery_its_builder_makes_nothing_for_fails_saying_so(site, mailoutbox):
    gone = queued(site, "gone")
    assert deliveries_send(site_id=site.pk, delivery_ids=[gone.pk]) == 0
    gone.refresh_from_db()
    assert gone.status == DeliveryStatus.FAILED
    assert "The message builder 'tests.note' made no email for it" in gone.last_error
    assert mailoutbox == []


def test_a_builder_that_raises_is_a_bug_counted_and_raised_and_the_rest_let_go(site, mailoutbox):
    broken = queued(site, 1, builder=BROKEN)
    fine = queued(site, 2)
    with pytest.raises(RuntimeError, match="a bug in the builder"):
        deliveries_send(site_id=site.pk, delivery_ids=[broken.pk, fine.pk])
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert (broken.status, broken.attempts) == (DeliveryStatus.RETRYING, 1)
    assert "RuntimeError: a bug in the builder" in broken.last_error
    assert (fine.status, fine.attempts) == (DeliveryStatus.RETRYING, 0)  # untried: no attempt
    assert mailoutbox == []
    assert deliveries_send(site_id=site.pk, delivery_ids=[fine.pk]) == 1


def test_a_name_belongs_to_one_builder():
    assert builder_for(NOTE) is note_emails
    assert register_builder(NOTE)(note_emails) is note_emails  # the same again: harmless

    def impostor(deliveries):
        return {}

    with pytest.raises(ImproperlyConfigured, match=r"tests\.note"):
        register_builder(NOTE)(impostor)
    assert builder_for(NOTE) is note_emails
    with pytest.raises(UnknownBuilder, match=r"'tests\.nobody' \(registered: .*tests\.note"):
        builder_for("tests.nobody")


def test_an_app_finds_its_deliveries_by_topic_at_its_site_only(site):
    other = TrustFactory()
    one, two, three = queued(site, 1), queued(site, 2), queued(site, 3)
    EmailDelivery.objects.filter(pk=two.pk).update(status=DeliveryStatus.SENT)
    EmailDelivery.objects.filter(pk=three.pk).update(topic="notes:2", kind="reminder")
    queued(other, 1)  # the same topic at another site
    with CaptureQueriesContext(connection) as queries:
        counts = delivery_counts_by_topic(site=site, topics=["notes:1", "notes:2", "notes:9"])
    assert len(queries) == 1
    assert counts == {
        "notes:1": {("note", DeliveryStatus.QUEUED): 1, ("note", DeliveryStatus.SENT): 1},
        "notes:2": {("reminder", DeliveryStatus.QUEUED): 1},
    }
    assert one.site_id == site.pk
    assert delivery_counts_by_topic(site=site, topics=[]) == {}


def test_mail_server_errors_are_not_builder_failures(site, flaky_mail, mailoutbox):
    delivery = queued(site, 1)
    flaky_mail.failures = 1
    with pytest.raises(SMTPException):
        deliveries_send(site_id=site.pk, delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.RETRYING, 1)
