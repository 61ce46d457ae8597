"""The school's decisions as services: one authorisation under concurrent approvals, and
the receipt each decision sends."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from accounts.audit import Actor
from accounts.permissions import THIRD_PARTY_APPS
from notifications.builders import builder_for
from notifications.models import EmailDelivery
from tests.factories import InstitutionFactory, UserFactory, grant_permission
from thirdparty.models import AppAuthorisation, RequestOrigin
from thirdparty.receipts import RECEIPT_EMAIL
from thirdparty.services import access_request_open, app_register, request_authorise

from .factories import make_app


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_make_one_authorisation():
    school = InstitutionFactory(urn="100001", slug="oak-ridge", status="Open")
    app, _ = make_app(required=("students",), optional=("attendance",))
    pending = access_request_open(app=app, school=school, origin=RequestOrigin.APP).request
    first_in, release = threading.Event(), threading.Event()
    results = {}

    def approve(name, optional, hold):
        try:
            with transaction.atomic():
                request_authorise(
                    request=pending,
                    required_scopes=["students"],
                    optional_scopes=optional,
                    actor=Actor(user=None, site=school),
                )
                if hold:
                    first_in.set()
                    release.wait(5)
            results[name] = "authorised"
        except ValidationError as error:
            results[name] = error.messages[0]
        finally:
            connection.close()

    first = threading.Thread(target=approve, args=("first", ["attendance"], True))
    first.start()
    first_in.wait(5)
    second = threading.Thread(target=approve, args=("second", [], False))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waits on the request's row lock
    release.set()
    first.join(10)
    second.join(10)
    assert results["first"] == "authorised"
    assert "already authorised" in results["second"]
    assert AppAuthorisation.objects.get().scopes == ["students", "attendance"]


def test_unknown_or_doubled_scopes_are_refused_when_an_app_is_registered(db):
    with pytest.raises(ValidationError, match="Not a scope"):
        make_app(required=("students", "horoscopes"))
    with pytest.raises(ValidationError, match="both required and optional"):
        make_app(required=("students",), optional=("students",))
    with pytest.raises(ValidationError, match="Not a scope"):
        app_register(
            vendor="V",
            name="N",
            purpose="P",
            website="https://v.test/",
            privacy_notice_url="https://v.test/p",
            support_email="s@v.test",
            required_scopes=["public_school_data"],
            optional_scopes=[],
            actor=Actor(user=None, site=None),
        )


def test_the_receipt_names_the_app_the_decider_and_the_scopes(db):
    school = InstitutionFactory(
        name="Oak Ridge Primary School", urn="100001", slug="oak-ridge", status="Open"
    )
    head = UserFactory(email="head@oak-ridge.test", full_name="Hattie Head")
    grant_permission(head, school, THIRD_PARTY_APPS)
    app, _ = make_app(required=("students",), optional=("attendance",), name="Reading Stars")
    pending = access_request_open(app=app, school=school, origin=RequestOrigin.APP).request
    request_authorise(
        request=pending,
        required_scopes=["students"],
        optional_scopes=["attendance"],
        actor=Actor(user=head, site=school),
    )
    deliveries = list(EmailDelivery.objects.order_by("address"))
    contents = builder_for(RECEIPT_EMAIL)(deliveries)
    by_address = {d.address: contents[d.pk] for d in deliveries}
    to_head = by_address["head@oak-ridge.test"]
    assert to_head.subject == "Oak Ridge Primary School authorised Reading Stars"
    assert "Decided by Hattie Head" in to_head.text
    assert "Students:" in to_head.text and "Attendance:" in to_head.text
    assert "/data/apps/" in to_head.text
    to_vendor = by_address["support@app.example.test"]
    assert "as the contact of Classroom Co" in to_vendor.text
    assert "/data/apps/" not in to_vendor.text
