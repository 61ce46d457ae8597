"""The audit trail page and API: this site's events only, for those who may manage users."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import audit
from accounts.audit import Actor
from accounts.identity.sign_in import SignInAttempt
from accounts.models import AuditAction, AuditEvent
from accounts.permissions import USER_DETAILS, Access
from matmis.db_roles import owner_role
from tests.conftest import SiteClient
from tests.factories import (
    InstitutionFactory,
    TrustFactory,
    UserFactory,
    grant_permission,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(trust):
    user = UserFactory(full_name="Ada Admin", email="ada@oak.test")
    grant_permission(user, trust, USER_DETAILS, Access.VIEW)
    return user


def record(site, *, user=None, action=AuditAction.ROLE_ASSIGNED, target="", **extra):
    actor = Actor(user=user, site=site, ip_address=extra.pop("ip", "192.0.2.1"), **extra)
    return audit.record(actor=actor, action=action, target=target)


def backdate(event: AuditEvent, at: datetime.datetime) -> None:
    # As the tables' owner: the application may only add to the audit trail (db_roles).
    with owner_role():
        AuditEvent.objects.filter(pk=event.pk).update(at=at)


def forget_every_event() -> None:
    with owner_role():
        AuditEvent.objects.all().delete()


def events_in(html: str, targets) -> set[str]:
    return {target for target in targets if target in html}


class TestThePage:
    url = "/audit/"

    def test_anonymous_visitors_are_sent_to_sign_in(self, trust):
        response = SiteClient(trust).get(self.url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/sign-in/")

    def test_staff_of_another_site_get_not_found(self, site_client, trust):
        outsider = UserFactory()
        grant_permission(outsider, TrustFactory(), USER_DETAILS)
        assert site_client(trust, outsider).get(self.url).status_code == 404

    def test_staff_without_the_permission_are_refused(self, site_client, trust, trust_staff):
        response = site_client(trust, trust_staff).get(self.url)
        assert response.status_code == 403
        assert "User Details: Manage All Users" in response.content.decode()

    def test_site_administrators_see_it(self, site_client, trust, admin):
        record(trust, user=admin, target="Head Teacher for Bo")
        response = site_client(trust, admin).get(self.url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Head Teacher for Bo" in html
        assert "Role assigned" in html
        assert "Ada Admin" in html and "ada@oak.test" in html
        assert "192.0.2.1" in html

    def test_it_never_shows_another_sites_events(self, site_client, trust, admin):
        other = TrustFactory(name="Elm Trust")
        grant_permission(admin, other, USER_DETAILS)
        record(trust, user=admin, target="ours-1")
        record(trust, target="ours-2")
        record(other, user=admin, target="theirs-1")
        record(None, target="platform-1")
        html = site_client(trust, admin).get(self.url).content.decode()
        targets = {"ours-1", "ours-2", "theirs-1", "platform-1"}
        assert events_in(html, targets) == {"ours-1", "ours-2"}
        html = site_client(trust, admin).get(self.url, {"person": "ada"}).content.decode()
        assert events_in(html, targets) == {"ours-1"}

    def test_newest_first_and_fifty_to_a_page(self, site_client, trust, admin):
        now = timezone.now()
        for n in range(60):
            event = record(trust, target=f"event-{n:02d}")
            backdate(event, now - datetime.timedelta(minutes=n))
        client = site_client(trust, admin)
        first = client.get(self.url).content.decode()
        assert first.index("event-00") < first.index("event-01")
        assert "event-49" in first and "event-50" not in first
        assert "Showing <strong>1–50</strong> of <strong>60</strong>" in first
        second = client.get(self.url, {"page": 2}).content.decode()
        assert "event-50" in second and "event-59" in second and "event-49" not in second

    def test_filters(self, site_client, trust, admin):
        old = record(trust, user=admin, action=AuditAction.SIGN_IN, target="old-sign-in")
        backdate(old, timezone.now() - datetime.timedelta(days=10))
        record(trust, user=admin, action=AuditAction.SIGN_IN, target="new-sign-in")
        record(trust, user=admin, action=AuditAction.ROLE_CHANGED, target="role-change")
        audit.record(
            actor=SignInAttempt(user=None, site=trust),
            action=AuditAction.SIGN_IN_FAILED,
            target="ada@oak.test",
        )
        client = site_client(trust, admin)
        targets = {"old-sign-in", "new-sign-in", "role-change"}

        html = client.get(self.url, {"action": "sign_in"}).content.decode()
        assert events_in(html, targets) == {"old-sign-in", "new-sign-in"}

        today = timezone.localdate()
        since = (today - datetime.timedelta(days=1)).isoformat()
        html = client.get(self.url, {"date_from": since, "date_to": today.isoformat()})
        assert events_in(html.content.decode(), targets) == {"new-sign-in", "role-change"}

        # Failed sign-ins are found by the email that was tried.
        html = client.get(self.url, {"person": "ADA@", "action": "sign_in_failed"})
        assert "Failed sign-in" in html.content.decode()
        assert "Not signed in" in html.content.decode()

        bad = client.get(self.url, {"date_from": "2026-13-45", "action": "sign_in"})
        assert bad.status_code == 200
        assert "Enter the start date as a real date" in bad.content.decode()
        assert events_in(bad.content.decode(), targets) == {"old-sign-in", "new-sign-in"}

    def test_events_during_a_hop_say_where_the_person_came_from(self, site_client, admin):
        school = InstitutionFactory(name="Fenwick Primary")
        group = TrustFactory(name="Oak Ridge Trust North")
        grant_permission(admin, school, USER_DETAILS)
        record(school, user=admin, action=AuditAction.HOP_STARTED, acting_from=group)
        html = site_client(school, admin).get(self.url).content.decode()
        assert "from Oak Ridge Trust North" in html

    def test_the_query_count_does_not_grow_with_the_events(self, site_client, trust, admin):
        group = TrustFactory()

        def queries_for(count: int) -> int:
            forget_every_event()
            for n in range(count):
                user = UserFactory()
                record(trust, user=user, target=f"t{n}", acting_from=group if n % 2 else None)
            client = site_client(trust, admin)
            client.get(self.url)
            with CaptureQueriesContext(connection) as context:
                response = client.get(self.url)
            assert response.status_code == 200
            return len(context.captured_queries)

        assert queries_for(3) == queries_for(40)


class TestTheApi:
    url = "/api/v1/audit-events/"

    def test_anonymous(self, trust):
        response = SiteClient(trust).get(self.url)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_authenticated"

    def test_staff_of_another_site(self, site_client, trust):
        outsider = UserFactory()
        grant_permission(outsider, TrustFactory(), USER_DETAILS)
        record(trust, target="ours")
        response = site_client(trust, outsider).get(self.url)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert "ours" not in response.content.decode()

    def test_staff_without_the_permission(self, site_client, trust, trust_staff):
        response = site_client(trust, trust_staff).get(self.url)
        assert response.status_code == 403
        assert "User Details: Manage All Users" in response.json()["error"]["message"]

    def test_site_administrators_get_this_sites_events_only(self, site_client, trust, admin):
        group = TrustFactory(name="Elm Trust", slug="elm")
        record(trust, user=admin, target="ours", acting_from=group)
        record(group, user=admin, target="theirs")
        response = site_client(trust, admin).get(self.url)
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 1
        [event] = body["results"]
        assert event["target"] == "ours"
        assert event["action"] == "role_assigned"
        assert event["action_label"] == "Role assigned"
        assert event["person"] == "ada@oak.test"
        assert event["person_name"] == "Ada Admin"
        assert event["acting_from"] == {"slug": "elm", "name": "Elm Trust"}
        assert event["ip_address"] == "192.0.2.1"

    def test_filters_and_their_errors(self, site_client, trust, admin):
        record(trust, user=admin, action=AuditAction.SIGN_IN, target="a")
        record(trust, user=admin, action=AuditAction.SIGN_OUT, target="b")
        client = site_client(trust, admin)
        body = client.get(self.url, {"action": "sign_out"}).json()
        assert [event["target"] for event in body["results"]] == ["b"]
        bad = client.get(self.url, {"action": "nonsense", "date_to": "yesterday"})
        assert bad.status_code == 400
        error = bad.json()["error"]
        assert error["code"] == "invalid"
        assert set(error["fields"]) == {"action", "date_to"}

    def test_the_query_count_does_not_grow_with_the_events(self, site_client, trust, admin):
        def queries_for(count: int) -> int:
            forget_every_event()
            for n in range(count):
                record(trust, user=UserFactory(), target=f"t{n}", acting_from=trust)
            client = site_client(trust, admin)
            client.get(self.url)
            with CaptureQueriesContext(connection) as context:
                assert client.get(self.url).status_code == 200
            return len(context.captured_queries)

        assert queries_for(3) == queries_for(40)

    def test_the_schema_describes_it(self, trust):
        schema = SiteClient(trust).get("/api/schema/", HTTP_ACCEPT="application/json").json()
        operation = schema["paths"][self.url]["get"]
        assert operation["operationId"] == "audit_events_list"
        assert {p["name"] for p in operation["parameters"]} >= {
            "action",
            "person",
            "date_from",
            "date_to",
            "page",
        }
        assert set(operation["responses"]) == {"200", "400", "403", "404"}
        assert "AuditEvent" in schema["components"]["schemas"]


def test_the_page_is_paged_and_keeps_its_filters(site_client, trust, admin):
    for n in range(60):
        record(trust, user=admin, target=f"event {n}")
    html = site_client(trust, admin).get("/audit/", {"person": "ada"}).content.decode()
    assert 'aria-label="Pages of events"' in html
    assert "person=ada&amp;page=2" in html
    second = site_client(trust, admin).get("/audit/", {"person": "ada", "page": 2}).content.decode()
    first_page_targets = {f"event {n}" for n in range(10, 60)}
    assert re.search(r">\s*event 0\s*<", second)
    assert not any(re.search(rf">\s*{t}\s*<", second) for t in first_page_targets)
