"""A hop lasts only as long as its right: every request inside it asks the four conditions
again (one query), and the first that finds one gone ends the hop, audited at both sites,
signs the person out at the school and tells them why (issue 12, item 2)."""

import datetime
from html import unescape

import pytest
from django.contrib.sessions.models import Session
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.audit import system_actor
from accounts.models import AssociatedSchool, AuditAction, AuditEvent, RoleGrant, StaffProfile
from accounts.permissions import LOGIN_TO_MIS
from accounts.staff.services import roles_ensure_defaults
from hop.middleware import HopMiddleware
from hop.selectors import hop_standing
from institutions.services import membership_end, membership_ensure
from sharing.models import AccessLevel, Agreement
from tests.factories import StaffProfileFactory
from tests.hop.factories import agreement_changed_past_its_guard
from tests.mis.factories import PupilFactory

pytestmark = pytest.mark.django_db


def remove_permission(world):
    # The role keeps its school-level set (what it may do inside a school): only the
    # right to log in goes, which must be enough to end the hop.
    RoleGrant.objects.filter(site=world.trust, code=LOGIN_TO_MIS, in_school=False).delete()


def remove_associations(world):
    AssociatedSchool.objects.filter(site=world.trust).delete()


def end_membership(world):
    world.school.group_links.update(left_on=datetime.date.today() - datetime.timedelta(days=1))


def leave_through_support(world):
    membership_end(memberships=world.school.group_links.all(), actor=system_actor())


def leave_and_rejoin(world):
    """The school leaves (its agreement ends) and rejoins: it starts with no agreement."""
    leave_through_support(world)
    membership_ensure(group=world.trust, school=world.school)


def lower_agreement(world):
    agreement = Agreement.objects.get(group=world.trust, school=world.school)
    agreement_changed_past_its_guard(agreement, level=AccessLevel.DFE_AND_MIS_DATA)


def end_agreement(world):
    agreement = Agreement.objects.get(group=world.trust, school=world.school)
    agreement_changed_past_its_guard(agreement, level=None)


REVOCATIONS = {
    "permission removed": (remove_permission, "Login to MIS: Associated institutions"),
    "associations removed": (remove_associations, "You are not associated with Fenwick"),
    "membership ended": (end_membership, "is not one of Oak Ridge Trust's current schools"),
    "school left the group": (
        leave_through_support,
        "is not one of Oak Ridge Trust's current schools",
    ),
    "school left and rejoined": (leave_and_rejoin, "has not agreed to"),
    "agreement below level 3": (lower_agreement, "has not agreed to"),
    "agreement ended": (end_agreement, "has not agreed to"),
}


@pytest.fixture(params=list(REVOCATIONS), ids=list(REVOCATIONS))
def revocation(request):
    return REVOCATIONS[request.param]


def test_the_api_refuses_the_next_request_and_says_why(world, revocation):
    revoke, reason = revocation
    PupilFactory(site=world.school)
    client = world.hop_in()
    assert client.get("/api/v1/pupils/").status_code == 200
    revoke(world)
    response = client.get("/api/v1/pupils/")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "hop_ended"
    assert reason in error["message"]
    assert "Fenwick Primary" in error["message"]
    # Signed out at the school: the next request is a stranger's.
    again = client.get("/api/v1/pupils/")
    assert again.status_code == 403
    assert again.json()["error"]["code"] != "hop_ended"
    assert again.wsgi_request.user.is_anonymous


def test_a_page_shows_why_and_the_way_back(world, revocation):
    revoke, reason = revocation
    client = world.hop_in()
    assert client.get("/students/").status_code == 200
    revoke(world)
    response = client.get("/students/")
    assert response.status_code == 403
    html = unescape(response.content.decode())
    assert "Your Log in to MIS session has ended" in html
    assert reason in html
    assert f'href="{world.trust.url}"' in html
    assert "Signed in from" not in html  # no banner: the hop is over
    assert client.get("/students/").status_code == 302  # to sign in


def test_the_end_is_audited_at_both_sites_with_the_reason(world, revocation):
    revoke, reason = revocation
    client = world.hop_in()
    revoke(world)
    client.get("/api/v1/pupils/")
    ended = AuditEvent.objects.filter(action=AuditAction.HOP_ENDED)
    assert {(e.site_id, e.acting_from_id, e.actor_id) for e in ended} == {
        (world.school.pk, world.trust.pk, world.user.pk),
        (world.trust.pk, world.trust.pk, world.user.pk),
    }
    assert all(reason in e.detail["reason"] for e in ended)


def test_a_write_after_the_right_is_gone_changes_nothing(world, revocation):
    revoke, _ = revocation
    head = StaffProfileFactory(site=world.school)
    deputy = roles_ensure_defaults(site=world.school)["Deputy Head Teacher"]
    client = world.hop_in()
    revoke(world)
    response = client.put(
        f"/api/v1/staff/{head.pk}/roles/",
        {"assignments": [{"role": deputy.pk}]},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "hop_ended"
    assert not StaffProfile.objects.get(pk=head.pk).assignments.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.HOP_WRITE).exists()


def test_the_session_row_is_gone(world, revocation):
    revoke, _ = revocation
    client = world.hop_in()
    key = client.session.session_key
    revoke(world)
    client.get("/")
    assert not Session.objects.filter(session_key=key).exists()


def test_while_every_condition_holds_the_hop_goes_on(world):
    client = world.hop_in()
    for _ in range(3):
        response = client.get("/students/")
        assert response.status_code == 200
        assert "Signed in from Oak Ridge Trust" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.HOP_ENDED).exists()


# --- One query ------------------------------------------------------------------------------


def test_the_standing_is_one_query(world, django_assert_num_queries):
    client = world.hop_in()
    hop = client.session["_matmis_hop"]
    with django_assert_num_queries(1):
        standing = hop_standing(
            user=world.user,
            group_id=hop["group"],
            school=world.school,
            group_session_key=hop["group_session"],
        )
    assert standing.refusal is None
    remove_associations(world)
    with django_assert_num_queries(1):
        standing = hop_standing(
            user=world.user,
            group_id=hop["group"],
            school=world.school,
            group_session_key=hop["group_session"],
        )
    assert "not associated" in standing.refusal


def test_the_middleware_asks_one_query_per_request_inside_a_hop(world, django_assert_num_queries):
    client = world.hop_in()
    session = client.session
    assert session["_matmis_hop"]  # loaded here: SessionMiddleware's query, not the hop's
    request = RequestFactory().get("/", HTTP_HOST=f"fenwick.{world.trust.host.split('.', 1)[1]}")
    request.session, request.site, request.user = session, world.school, world.user
    with django_assert_num_queries(1):
        response = HopMiddleware(lambda r: HttpResponse("inside"))(request)
    assert response.content == b"inside"
    assert request.hop_group == world.trust


def test_issuing_asks_the_same_conditions(world):
    """The token is refused for the same reasons, in the same words, as the hop ends."""
    remove_associations(world)
    response, token = world.start()
    assert token is None
    assert "You are not associated with Fenwick Primary" in response.content.decode()
