"""The request and reminder emails of data sharing: what they say, where they link, and how
they are queued in the outbox (sent here in process, after commit, as without a broker)."""

from urllib.parse import urljoin, urlparse

import pytest
from django.conf import settings
from django.urls import resolve, reverse

from matmis.db_roles import owner_role
from notifications.builders import builder_for
from notifications.models import DeliveryStatus, EmailDelivery
from notifications.services import deliveries_send
from sharing.emails import (
    AGREEMENT_REQUEST_EMAIL,
    EmailKind,
    agreement_request_emails,
    request_emails_enqueue,
    request_page_url,
    request_topic,
)
from sharing.models import RequestStatus
from sharing.school.views import RequestDetailView
from sharing.selectors import DeliverySummary, delivery_summaries
from tests.notifications.factories import make_pair, make_reminder, make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    return make_pair()


def enqueue(request, *, kind=EmailKind.REQUEST, reminder=None, capture):
    with capture(execute=True):
        request_emails_enqueue(
            requests=[request], kind=kind, reminders={request.id: reminder} if reminder else None
        )


def test_the_builder_is_registered_when_the_app_is_ready():
    assert builder_for(AGREEMENT_REQUEST_EMAIL) is agreement_request_emails


def test_the_email_names_the_group_sender_and_level_and_links_to_the_request(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    enqueue(request, capture=django_capture_on_commit_callbacks)

    [message] = mailoutbox
    link = f"http://st-marys.localhost/data/data-sharing/requests/{request.id}/"
    assert message.subject == (
        "Oak Ridge Trust asks to share data with St Mary’s: DfE Data & MIS Data"
    )
    assert message.to == ["head@st-marys.test"]
    body = message.body
    assert "Dear Helen Archer," in body
    assert "Priya Shah, Trust Administrator, at Oak Ridge Trust" in body
    assert "“DfE Data & MIS Data”" in body
    assert "live figures from the school's MIS" in body  # LEVEL_MEANINGS
    assert link in body
    assert "Opening the page changes nothing" in body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert f'href="{link}"' in html
    assert "Oak Ridge Trust asks to share data with St Mary’s" in html
    assert "live figures from the school&#x27;s MIS" in html
    delivery = EmailDelivery.objects.get(topic=request_topic(request.id))
    assert message.extra_headers["Message-ID"] == f"<matmis.delivery.{delivery.pk}@localhost>"


def test_the_link_is_the_request_pages_route_on_the_schools_host(pair):
    request = make_request(pair)
    link = request_page_url(request=request)
    path = reverse(
        "school_sharing:request", kwargs={"request_id": request.id}, urlconf=settings.ROOT_URLCONF
    )
    assert link == urljoin(pair.school.url, path)
    assert urlparse(link).netloc == pair.school.host
    match = resolve(urlparse(link).path, urlconf=settings.ROOT_URLCONF)
    assert match.func.view_class is RequestDetailView
    assert match.kwargs == {"request_id": request.id}


def test_the_email_follows_the_route_when_it_moves(
    pair, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.ROOT_URLCONF = "tests.sharing.moved_urls"
    request = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    enqueue(request, capture=django_capture_on_commit_callbacks)
    [message] = mailoutbox
    moved = f"http://st-marys.localhost/elsewhere/sharing/requests/{request.id}/"
    assert moved in message.body
    assert "/data/data-sharing/" not in message.body


def test_a_reminder_is_a_delivery_of_its_own_with_its_own_subject(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair, level=1, recipients=((pair.head, "Head Teacher"),))
    enqueue(request, capture=django_capture_on_commit_callbacks)
    first = make_reminder(request, by=pair.sender.user)
    enqueue(
        request,
        kind=EmailKind.REMINDER,
        reminder=first,
        capture=django_capture_on_commit_callbacks,
    )
    second = make_reminder(request, by=pair.sender.user)
    enqueue(
        request,
        kind=EmailKind.REMINDER,
        reminder=second,
        capture=django_capture_on_commit_callbacks,
    )

    assert [m.subject for m in mailoutbox] == [
        "Oak Ridge Trust asks to share data with St Mary’s: DfE Data",
        "Reminder: Oak Ridge Trust asks to share data with St Mary’s: DfE Data",
        "Reminder: Oak Ridge Trust asks to share data with St Mary’s: DfE Data",
    ]
    assert "is still waiting for your answer" in mailoutbox[1].body
    keys = set(EmailDelivery.objects.values_list("dedupe_key", flat=True))
    recipient = request.recipients.get()
    assert keys == {
        f"{request.id}:{recipient.id}:request:0",
        f"{request.id}:{recipient.id}:reminder:{first.id}",
        f"{request.id}:{recipient.id}:reminder:{second.id}",
    }
    reminders = EmailDelivery.objects.filter(kind=EmailKind.REMINDER).order_by("pk")
    assert [d.params["reminder_id"] for d in reminders] == [first.id, second.id]
    assert {d.topic for d in EmailDelivery.objects.all()} == {request_topic(request.id)}


def test_a_reminder_needs_its_reminder(pair):
    request = make_request(pair)
    with pytest.raises(ValueError):
        request_emails_enqueue(requests=[request], kind=EmailKind.REMINDER)
    with pytest.raises(ValueError):
        request_emails_enqueue(requests=[request], kind="postcard")
    assert not EmailDelivery.objects.exists()


def test_an_email_whose_request_is_gone_fails_saying_so_and_the_others_are_sent(pair, mailoutbox):
    kept = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    gone = make_request(
        pair, status=RequestStatus.WITHDRAWN, recipients=((pair.data_manager, "Data Manager"),)
    )
    request_emails_enqueue(requests=[kept, gone], kind=EmailKind.REQUEST)
    gone_delivery = EmailDelivery.objects.get(topic=request_topic(gone.id))
    with owner_role():  # the application never deletes a request (db_roles)
        gone.delete()  # its recipients go with it; the outbox row stays (it holds only ids)
    # Both in one batch, as the sweep sends them: the builder loads both at once.
    ids = list(EmailDelivery.objects.values_list("pk", flat=True))
    assert deliveries_send(site_id=pair.trust.pk, delivery_ids=ids) == 1
    assert [m.to for m in mailoutbox] == [["head@st-marys.test"]]
    gone_delivery.refresh_from_db()
    assert (gone_delivery.status, gone_delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert "made no email for it" in gone_delivery.last_error
    assert deliveries_send(site_id=pair.trust.pk, delivery_ids=ids) == 0  # never tried again


def test_the_pending_tab_summarises_each_requests_emails_at_its_group_only(
    pair, mailoutbox, django_capture_on_commit_callbacks
):
    request = make_request(pair)  # to the head and the data manager
    enqueue(request, capture=django_capture_on_commit_callbacks)  # both sent
    reminder = make_reminder(request, by=pair.sender.user)
    request_emails_enqueue(
        requests=[request], kind=EmailKind.REMINDER, reminders={request.id: reminder}
    )  # not committed: both QUEUED
    first_reminder = EmailDelivery.objects.filter(kind=EmailKind.REMINDER).order_by("pk").first()
    EmailDelivery.objects.filter(pk=first_reminder.pk).update(status=DeliveryStatus.FAILED)
    quiet = make_request(pair, status=RequestStatus.WITHDRAWN)  # never emailed

    summaries = delivery_summaries(group=pair.trust, request_ids=[request.id, quiet.id])
    assert summaries == {
        request.id: DeliverySummary(request_total=2, request_sent=2, queued=1, retrying=0, failed=1)
    }
    assert (summaries[request.id].label, summaries[request.id].tone) == ("Failed for 1", "red")
    other = make_pair(school_slug="elsewhere", trust_slug="elsewhere-trust")
    assert delivery_summaries(group=other.trust, request_ids=[request.id]) == {}
    assert delivery_summaries(group=pair.trust, request_ids=[]) == {}


def test_the_builder_reads_only_what_the_emails_show_in_one_query(pair, django_assert_num_queries):
    """The drain's fetch stays slim: one query for a batch, without the schools' register
    columns, and nothing fetched again while the emails are rendered."""
    request = make_request(pair)  # to the head and the data manager
    request_emails_enqueue(requests=[request], kind=EmailKind.REQUEST)
    deliveries = list(EmailDelivery.objects.filter(topic=request_topic(request.id)))
    assert len(deliveries) == 2
    with django_assert_num_queries(1) as captured:
        contents = agreement_request_emails(deliveries)
    assert set(contents) == {d.pk for d in deliveries}
    [query] = captured.captured_queries
    assert "ofsted_report_card" not in query["sql"]
    assert all("St Mary’s" in content.subject for content in contents.values())


def test_a_sent_email_is_recorded_sent_once(pair, mailoutbox):
    request = make_request(pair, recipients=((pair.head, "Head Teacher"),))
    request_emails_enqueue(requests=[request], kind=EmailKind.REQUEST)
    delivery = EmailDelivery.objects.get(topic=request_topic(request.id))
    assert deliveries_send(site_id=pair.trust.pk, delivery_ids=[delivery.pk]) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.SENT,
        1,
        "",
    )
    assert delivery.sent_at is not None
    assert deliveries_send(site_id=pair.trust.pk, delivery_ids=[delivery.pk]) == 0
    assert len(mailoutbox) == 1
