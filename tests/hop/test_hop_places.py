"""Log in to MIS explains itself: where the hop into an associated school is not possible,
the button's place (the Log in to MIS page, the institution page, the API) says why and
what to do; the button says "Log in"; back from a school, the group's site says that the
school session has ended."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditAction, AuditEvent, StaffAssociation
from accounts.staff.services import role_assign, roles_ensure_defaults
from sharing.models import AccessLevel
from tests.conftest import SiteClient
from tests.factories import StaffProfileFactory
from tests.hop.factories import verified_client

pytestmark = pytest.mark.django_db


def _unverified_client(world) -> SiteClient:
    client = SiteClient(world.trust)
    client.force_login(world.user)
    return client


def _associate(world, school):
    StaffAssociation.objects.get(profile=world.profile).school_links.create(
        site=world.trust, school=school
    )


def _without_log_in_to_mis(world):
    """The world's user keeps a role at the trust, but not one with Login to MIS."""
    roles = roles_ensure_defaults(site=world.trust)
    world.profile.assignments.all().delete()
    role_assign(profile=world.profile, role=roles["Central Team Member"])
    return roles


def _with_urn(school, urn):
    school.urn = urn
    school.save(update_fields=["urn"])
    return school


# --- The Log in to MIS page --------------------------------------------------------------------


def test_the_submit_button_says_log_in(world):
    html = world.group_client().get("/log-in-to-mis/").content.decode()
    assert (
        '<button type="submit" class="govuk-button" data-module="govuk-button">Log in</button>'
        in html
    )
    assert ">Login</button>" not in html


def test_page_without_two_factor_links_to_setting_it_up(world):
    response = _unverified_client(world).get("/log-in-to-mis/")
    (place,) = response.context["refused"]
    assert place.school == world.school
    html = response.content.decode()
    assert "needs two-factor sign-in" in html
    assert (
        '<a class="govuk-link" href="/accounts/two-factor/">Set up two-factor sign-in</a>' in html
    )


@pytest.mark.parametrize(
    ("level", "tab"),
    [
        (AccessLevel.DFE_DATA, "approved"),
        (AccessLevel.DFE_AND_MIS_DATA, "approved"),
        (None, "none"),
    ],
)
def test_page_below_level_3_links_to_the_schools_tab_of_the_agreements(world, level, tab):
    school = _with_urn(world.make_school("Westbrook", "westbrook", level=level), "222222")
    _associate(world, school)
    response = world.group_client().get("/log-in-to-mis/")
    (place,) = response.context["refused"]
    assert place.school == school
    html = response.content.decode()
    assert "Westbrook has not agreed to “DfE Data, MIS Data &amp; Group Actions”" in html
    assert (
        f'href="/data-sharing/?tab={tab}&amp;q=222222">Raise the agreement with Westbrook</a>'
        in html
    )


def test_page_without_the_permission_names_who_can_grant_it(world):
    roles = _without_log_in_to_mis(world)
    admin = StaffProfileFactory(site=world.trust, user__full_name="Ada Administrator")
    role_assign(profile=admin, role=roles["Trust Administrator"])
    response = world.group_client().get("/log-in-to-mis/")
    (place,) = response.context["refused"]
    assert place.next_step.ask == ("Ada Administrator",)
    html = response.content.decode()
    assert "You need the permission “Login to MIS: Associated institutions”" in html
    assert "<li>Ada Administrator</li>" in html


def test_page_without_the_permission_and_nobody_to_grant_it_says_whom_to_ask(world):
    _without_log_in_to_mis(world)
    html = world.group_client().get("/log-in-to-mis/").content.decode()
    assert "Ask your trust administrator for this permission." in html


def test_the_page_asks_a_constant_number_of_queries(world, django_assert_num_queries):
    """Every reason at once, at two sizes: the count does not grow with the schools."""

    client = verified_client(world.trust, world.user)

    def page():
        return client.get("/log-in-to-mis/")

    _associate(world, world.make_school("Low One", "low-one", level=AccessLevel.DFE_DATA))
    page()  # the session's first request writes to it
    with CaptureQueriesContext(connection) as small:
        assert len(page().context["refused"]) == 1
    for n in range(4):
        _associate(world, world.make_school(f"Low {n}", f"low-{n}", level=AccessLevel.DFE_DATA))
        _associate(world, world.make_school(f"None {n}", f"none-{n}", level=None))
    with django_assert_num_queries(len(small)):
        assert len(page().context["refused"]) == 9


# --- The institution page ----------------------------------------------------------------------


def test_institution_page_says_why_without_two_factor(world):
    _with_urn(world.school, "123456")
    html = _unverified_client(world).get("/institutions/123456/").content.decode()
    assert ">Log in to MIS</button>" not in html
    assert 'id="mis-login-heading"' in html
    assert 'href="/accounts/two-factor/"' in html


def test_institution_page_says_why_below_level_3(world):
    school = _with_urn(
        world.make_school("Westbrook", "westbrook", level=AccessLevel.DFE_DATA), "222222"
    )
    _associate(world, school)
    html = world.group_client().get("/institutions/222222/").content.decode()
    assert ">Log in to MIS</button>" not in html
    assert 'id="mis-login-heading"' in html
    assert "Westbrook has not agreed to “DfE Data, MIS Data &amp; Group Actions”" in html
    assert (
        'href="/data-sharing/?tab=approved&amp;q=222222">Raise the agreement with Westbrook</a>'
        in html
    )


def test_institution_page_names_who_can_grant_the_permission(world):
    roles = _without_log_in_to_mis(world)
    admin = StaffProfileFactory(site=world.trust, user__full_name="Ada Administrator")
    role_assign(profile=admin, role=roles["Trust Administrator"])
    _with_urn(world.school, "123456")
    html = world.group_client().get("/institutions/123456/").content.decode()
    assert "You need the permission “Login to MIS: Associated institutions”" in html
    assert "<li>Ada Administrator</li>" in html


@pytest.mark.parametrize("allowed", [True, False])
def test_the_institution_page_asks_a_constant_number_of_queries(
    world, django_assert_num_queries, allowed
):
    if not allowed:
        _without_log_in_to_mis(world)
    _with_urn(world.school, "123456")

    client = verified_client(world.trust, world.user)

    def page():
        return client.get("/institutions/123456/")

    page()  # the session's first request writes to it
    with CaptureQueriesContext(connection) as small:
        assert page().status_code == 200
    for n in range(5):
        _associate(world, world.make_school(f"More {n}", f"more-{n}", level=AccessLevel.DFE_DATA))
    with django_assert_num_queries(len(small)):
        assert page().status_code == 200


# --- The API -----------------------------------------------------------------------------------


def _schools(client):
    response = client.get("/api/v1/hop/schools/")
    assert response.status_code == 200
    return {row["name"]: row for row in response.json()}


def test_api_reports_a_possible_hop(world):
    row = _schools(world.group_client())["Fenwick Primary"]
    assert row["hop_possible"] is True
    assert row["refusal"] is None


def test_api_reports_two_factor_not_passed(world):
    row = _schools(_unverified_client(world))["Fenwick Primary"]
    assert row["hop_possible"] is False
    assert row["refusal"]["code"] == "two_factor"
    assert row["refusal"]["link_url"] == "/accounts/two-factor/"


def test_api_reports_the_agreement_below_level_3(world):
    school = _with_urn(
        world.make_school("Westbrook", "westbrook", level=AccessLevel.DFE_DATA), "222222"
    )
    _associate(world, school)
    row = _schools(world.group_client())["Westbrook"]
    assert row["hop_possible"] is False
    assert row["refusal"]["code"] == "agreement"
    assert "has not agreed to" in row["refusal"]["message"]
    assert row["refusal"]["link_url"] == "/data-sharing/?tab=approved&q=222222"


def test_api_reports_the_missing_permission_and_who_can_grant_it(world):
    roles = _without_log_in_to_mis(world)
    admin = StaffProfileFactory(site=world.trust, user__full_name="Ada Administrator")
    role_assign(profile=admin, role=roles["Trust Administrator"])
    row = _schools(world.group_client())["Fenwick Primary"]
    assert row["refusal"]["code"] == "permission"
    assert row["refusal"]["ask"] == ["Ada Administrator"]


def test_api_lists_only_the_requesters_associated_schools(world):
    world.make_school("Not Associated Academy", "not-associated")
    assert set(_schools(world.group_client())) == {"Fenwick Primary"}


def test_api_is_refused_to_anonymous_and_outsiders(world):
    from tests.factories import TrustFactory

    assert SiteClient(world.trust).get("/api/v1/hop/schools/").status_code == 403
    outsider = StaffProfileFactory(site=TrustFactory()).user
    assert verified_client(world.trust, outsider).get("/api/v1/hop/schools/").status_code in {
        403,
        404,
    }


def test_the_schema_describes_why_not(world):
    schema = SiteClient(world.trust).get("/api/schema/").content.decode()
    assert "hop_schools_list" in schema
    assert "hop_possible" in schema


# --- Back on the group's site ------------------------------------------------------------------


def test_returning_ends_the_school_session_and_the_group_site_says_so(world):
    group_client = world.group_client()
    school_client = world.hop_in(group_client)
    response = school_client.post("/hop/return/")
    assert response.status_code == 302
    back = f"{world.trust.url}log-in-to-mis/?returned={world.school.pk}"
    assert response["Location"] == back
    assert school_client.get("/").status_code == 302  # signed out at the school
    ended = AuditEvent.objects.filter(action=AuditAction.HOP_ENDED)
    assert set(ended.values_list("site", flat=True)) == {world.school.pk, world.trust.pk}
    assert ended.first().detail == {"reason": "Returned to Oak Ridge Trust."}
    page = group_client.get(f"/log-in-to-mis/?returned={world.school.pk}", follow=True)
    assert page.redirect_chain == [("/log-in-to-mis/", 302)]
    assert "Your session at Fenwick Primary has ended." in page.content.decode()


def test_a_return_link_alone_says_nothing(world):
    page = world.group_client().get(f"/log-in-to-mis/?returned={world.school.pk}", follow=True)
    assert "has ended" not in page.content.decode()
    page = world.group_client().get("/log-in-to-mis/?returned=x", follow=True)
    assert page.status_code == 200
    assert "has ended" not in page.content.decode()


def test_return_outside_a_hop_changes_nothing(world):
    head = StaffProfileFactory(site=world.school).user
    client = SiteClient(world.school)
    client.force_login(head)
    response = client.post("/hop/return/")
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # still signed in
    assert not AuditEvent.objects.filter(action=AuditAction.HOP_ENDED).exists()
