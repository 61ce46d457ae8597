"""Password reset emails go through the outbox (issue 12, item 8): one delivery per request
and person, holding no token, made into an email (with a fresh link) when it is sent, and
not sent at all to someone who may no longer reset their password at the site."""

import pytest
from django.core import mail
from django.test import TestCase

from accounts.models import StaffProfile
from notifications.models import DeliveryStatus, EmailDelivery
from notifications.services import deliveries_send
from portal.password_reset_emails import RESET_LINK_BUILDER
from tests.conftest import SiteClient

pytestmark = pytest.mark.django_db


def ask(site, email):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return SiteClient(site).post("/accounts/password-reset/", {"email": email})


def test_a_request_is_a_delivery_of_the_site_and_is_sent(trust, trust_staff):
    assert ask(trust, trust_staff.email).status_code == 302
    delivery = EmailDelivery.objects.get()
    assert (delivery.site, delivery.address, delivery.kind) == (
        trust,
        trust_staff.email,
        "password-reset",
    )
    assert delivery.builder == RESET_LINK_BUILDER
    assert delivery.params == {"user_id": trust_staff.pk}  # no token is stored
    assert delivery.status == DeliveryStatus.SENT
    [message] = mail.outbox
    assert message.to == [trust_staff.email]
    assert message.extra_headers["Message-ID"].startswith("<matmis.delivery.")
    assert "/accounts/password-reset/" in message.body


def test_each_request_is_its_own_delivery(trust, trust_staff):
    ask(trust, trust_staff.email)
    ask(trust, trust_staff.email)
    assert EmailDelivery.objects.count() == 2
    first, second = mail.outbox
    assert first.extra_headers["Message-ID"] != second.extra_headers["Message-ID"]


def test_nobody_unknown_gets_a_delivery(trust):
    ask(trust, "nobody@example.test")
    assert not EmailDelivery.objects.exists()


def test_someone_who_left_before_it_was_sent_is_sent_nothing(trust, trust_staff):
    # Queued, not yet sent (as if the broker had it): the person then leaves the site.
    SiteClient(trust).post("/accounts/password-reset/", {"email": trust_staff.email})
    delivery = EmailDelivery.objects.get()
    assert delivery.status == DeliveryStatus.QUEUED
    StaffProfile.objects.filter(user=trust_staff, site=trust).update(is_active=False)
    deliveries_send(site_id=trust.pk, delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert not mail.outbox
