"""The staff list, a person's profile and “What can this person do”."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.permissions import (
    INSTITUTION_DETAILS,
    LOGIN_TO_MIS,
    USER_DETAILS,
    Access,
    access_level,
)
from accounts.staff.selectors import permission_summary
from tests.accounts.factories import (
    add_school,
    another_trust,
    associate,
    cluster_of,
    hold,
    person,
    role_with,
    staff_admin,
    staff_viewer,
)
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def schools(trust):
    return [add_school(trust, name=f"School {n:02d}", urn=f"{100000 + n}") for n in range(1, 6)]


@pytest.fixture
def sam(trust):
    return person(trust, name="Sam Smith", email="sam@oak.test", job_title="Data analyst")


@pytest.fixture
def lead_role(trust):
    return role_with(
        trust,
        "Data Lead",
        {INSTITUTION_DETAILS: Access.VIEW, LOGIN_TO_MIS: Access.ADMINISTER},
        in_school={INSTITUTION_DETAILS: Access.VIEW},
    )


def count_queries(client, url) -> int:
    client.get(url)  # the session's first use costs a few queries of its own
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# --- The list --------------------------------------------------------------------------------


class TestListAccess:
    url = "/staff/"

    def test_anonymous_visitors_are_sent_to_sign_in(self, site_client, trust):
        response = site_client(trust).get(self.url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/sign-in/")

    def test_staff_of_another_site_get_not_found(self, site_client, trust):
        outsider = staff_admin(another_trust())
        assert site_client(trust, outsider.user).get(self.url).status_code == 404

    def test_any_staff_member_sees_it(self, site_client, trust, sam):
        assert site_client(trust, sam.user).get(self.url).status_code == 200


class TestList:
    url = "/staff/"

    def test_rows(self, site_client, trust, schools, sam, lead_role):
        hold(sam, lead_role)
        future = role_with(trust, "Trust Administrator", {})
        hold(sam, future, starts_on=TODAY + datetime.timedelta(days=10))
        html = site_client(trust, sam.user).get(self.url).content.decode()
        assert "Sam Smith" in html and "sam@oak.test" in html and "Data analyst" in html
        assert ">Data Lead</strong>" in html
        assert 'Trust Administrator<span class="govuk-visually-hidden">,</span> from' in html
        assert '<th scope="col">Associations</th>' in html

    def test_associations_column(self, site_client, trust, schools):
        viewer = person(trust, name="Aa Viewer")
        everyone = person(trust, name="Bea All")
        associate(everyone, all_schools=True)
        some = person(trust, name="Cy Some")
        associate(
            some,
            schools=schools[:3],
            clusters=[cluster_of(trust, "North", schools[3])],
        )
        nothing = person(trust, name="Di None")
        associate(nothing)
        html = site_client(trust, viewer.user).get(self.url).content.decode()
        rows = html.split("<tr>")
        row = {
            name: next(r for r in rows if f">{name}</a>" in r)
            for name in ("Aa Viewer", "Bea All", "Cy Some", "Di None")
        }
        assert "All schools" in row["Bea All"]
        assert "3 schools, 1 cluster" in row["Cy Some"]
        assert ">None<" in row["Di None"]
        assert ">None<" in row["Aa Viewer"]  # no association at all says so too

    def test_a_school_site_has_no_associations_column(self, site_client):
        school = InstitutionFactory()
        head = staff_admin(school, name="Hana Head")
        html = site_client(school, head.user).get(self.url).content.decode()
        assert "Hana Head" in html
        assert "Associations" not in html

    def test_search_by_name_or_email(self, site_client, trust, sam):
        person(trust, name="Tom Jones", email="tj@oak.test")
        client = site_client(trust, person(trust, name="Viv Viewer").user)
        html = client.get(self.url, {"q": "smith"}).content.decode()
        assert ">Sam Smith</a>" in html and ">Tom Jones</a>" not in html
        html = client.get(self.url, {"q": "TJ@"}).content.decode()
        assert ">Tom Jones</a>" in html and ">Sam Smith</a>" not in html
        html = client.get(self.url, {"q": "nobody"}).content.decode()
        assert "Nobody at Oak Ridge Trust matches “nobody”" in html

    def test_only_this_sites_active_staff(self, site_client, trust, sam):
        gone = person(trust, name="Gone Away")
        gone.is_active = False
        gone.save()
        person(another_trust(), name="Other Person")
        html = site_client(trust, sam.user).get(self.url).content.decode()
        assert "Gone Away" not in html and "Other Person" not in html

    def test_queries_do_not_grow_with_the_staff(self, site_client, trust, schools, lead_role):
        viewer = person(trust)
        north = cluster_of(trust, "North", *schools[:2])

        def add_people(n):
            for _ in range(n):
                profile = person(trust)
                hold(profile, lead_role)
                associate(profile, schools=schools[2:4], clusters=[north])

        add_people(2)
        client = site_client(trust, viewer.user)
        few = count_queries(client, self.url)
        add_people(37)
        many = count_queries(client, self.url)
        assert "<strong>40</strong> people" in client.get(self.url).content.decode()
        assert few == many


# --- The profile -----------------------------------------------------------------------------


def profile_url(profile) -> str:
    return f"/staff/{profile.pk}/"


class TestProfile:
    def test_anonymous_visitors_are_sent_to_sign_in(self, site_client, trust, sam):
        response = site_client(trust).get(profile_url(sam))
        assert response.status_code == 302

    def test_staff_of_another_site_get_not_found(self, site_client, trust, sam):
        outsider = staff_admin(another_trust())
        assert site_client(trust, outsider.user).get(profile_url(sam)).status_code == 404

    def test_another_sites_profile_is_not_found(self, site_client, trust, sam):
        elsewhere = person(another_trust(), name="Other Person")
        response = site_client(trust, sam.user).get(profile_url(elsewhere))
        assert response.status_code == 404
        assert "Other Person" not in response.content.decode()

    def test_roles_with_dates_and_associations(self, site_client, trust, schools, sam, lead_role):
        hold(
            sam, lead_role, starts_on=datetime.date(2025, 9, 1), ends_on=datetime.date(2099, 8, 31)
        )
        north = cluster_of(trust, "North", schools[0], schools[1])
        associate(sam, schools=[schools[4]], clusters=[north])
        viewer = person(trust)
        html = site_client(trust, viewer.user).get(profile_url(sam)).content.decode()
        assert "Sam Smith" in html and "Data analyst" in html
        assert "Data Lead" in html and "1 Sep 2025" in html and "31 Aug 2099" in html
        assert "In force" in html
        assert "School 05" in html and "North" in html
        assert "via North" in html
        assert "<strong>3</strong> schools" in html
        # Plain staff may look but neither change nor see someone else's permissions
        assert "Change roles" not in html and "Change associations" not in html
        assert "What can Sam Smith do?" not in html

    def test_no_associations_says_none(self, site_client, trust, sam):
        html = site_client(trust, sam.user).get(profile_url(sam)).content.decode()
        assert "None" in html and "Not associated with any school yet." in html

    def test_administrators_get_the_links(self, site_client, trust, sam):
        admin = staff_admin(trust)
        html = site_client(trust, admin.user).get(profile_url(sam)).content.decode()
        assert f"/staff/{sam.pk}/roles/" in html
        assert f"/staff/{sam.pk}/associations/" in html
        assert "What can Sam Smith do?" in html

    def test_ones_own_profile_links_to_what_i_can_do(self, site_client, trust, sam):
        html = site_client(trust, sam.user).get(profile_url(sam)).content.decode()
        assert "What can I do?" in html

    def test_a_school_site_profile_has_no_associations(self, site_client):
        school = InstitutionFactory()
        head = staff_admin(school)
        html = site_client(school, head.user).get(profile_url(head)).content.decode()
        assert "Associations" not in html


# --- What can this person do -----------------------------------------------------------------


def permissions_url(profile) -> str:
    return f"/staff/{profile.pk}/permissions/"


class TestPermissionsAccess:
    def test_anonymous_visitors_are_sent_to_sign_in(self, site_client, trust, sam):
        assert site_client(trust).get(permissions_url(sam)).status_code == 302

    def test_staff_of_another_site_get_not_found(self, site_client, trust, sam):
        outsider = staff_admin(another_trust())
        assert site_client(trust, outsider.user).get(permissions_url(sam)).status_code == 404

    def test_staff_without_view_are_refused_for_others(self, site_client, trust, sam):
        other = person(trust)
        response = site_client(trust, other.user).get(permissions_url(sam))
        assert response.status_code == 403
        assert "User Details: Manage All Users" in response.content.decode()

    def test_without_view_any_other_id_is_the_same_refusal(self, site_client, trust, sam):
        elsewhere = person(another_trust())
        client = site_client(trust, sam.user)
        assert client.get(permissions_url(elsewhere)).status_code == 403
        assert client.get("/staff/999999/permissions/").status_code == 403

    def test_everyone_sees_their_own(self, site_client, trust, sam):
        assert site_client(trust, sam.user).get(permissions_url(sam)).status_code == 200

    def test_view_is_enough_for_others(self, site_client, trust, sam):
        viewer = staff_viewer(trust)
        assert site_client(trust, viewer.user).get(permissions_url(sam)).status_code == 200

    def test_another_sites_profile_is_not_found(self, site_client, trust):
        viewer = staff_viewer(trust)
        elsewhere = person(another_trust(), name="Other Person")
        response = site_client(trust, viewer.user).get(permissions_url(elsewhere))
        assert response.status_code == 404
        assert "Other Person" not in response.content.decode()


class TestPermissionsPage:
    def test_levels_and_the_roles_that_give_them(self, site_client, trust, sam, lead_role):
        hold(sam, lead_role)
        also = role_with(trust, "Analyst", {INSTITUTION_DETAILS: Access.VIEW})
        hold(sam, also)
        ended = role_with(trust, "Old Admin", {USER_DETAILS: Access.ADMINISTER})
        hold(sam, ended, ends_on=TODAY - datetime.timedelta(days=1))
        html = site_client(trust, sam.user).get(permissions_url(sam)).content.decode()
        rows = html.split("<tr>")

        def row(label, start=0):
            return next(r for r in rows[start:] if label in r)

        assert "Analyst" in row("Institution: Administer Institution Details")
        assert "Data Lead" in row("Institution: Administer Institution Details")
        assert ">View<" in row("Institution: Administer Institution Details")
        assert ">Administer<" in row("Login to MIS: Associated institutions")
        assert ">Off<" in row("User Details: Manage All Users")
        assert "Old Admin" not in row("User Details: Manage All Users")
        assert "not in force: ended" in html
        # A school-only permission is not listed on a group site…
        assert "Data Sharing Request: Administer" not in html.split("Inside a school")[0]
        # …but the school-level set is, with its note
        assert "Inside a school, after Log in to MIS" in html

    def test_agrees_with_access_level(self, trust, sam, lead_role):
        hold(sam, lead_role)
        summary = permission_summary(site=trust, profile=sam)
        for line in summary.permissions:
            assert line.access == access_level(user=sam.user, site=trust, code=line.code)
        for line in summary.in_school:
            school = add_school(trust)
            assert line.access == access_level(
                user=sam.user, site=school, code=line.code, via_group=trust
            )

    def test_a_switched_off_account_has_nothing(self, trust, sam, lead_role):
        hold(sam, lead_role)
        sam.user.is_active = False
        sam.user.save()
        summary = permission_summary(site=trust, profile=sam)
        assert {line.access for line in summary.permissions} == {Access.OFF}

    def test_associations_summary(self, site_client, trust, schools, sam):
        associate(sam, schools=schools[:2])
        html = site_client(trust, sam.user).get(permissions_url(sam)).content.decode()
        assert "2 schools." in html
        assert "In effect: <strong>2</strong> schools" in html

    def test_a_school_site_lists_its_own_permissions(self, site_client):
        school = InstitutionFactory()
        head = staff_admin(school)
        html = site_client(school, head.user).get(permissions_url(head)).content.decode()
        assert "Data Sharing Request: Administer" in html
        assert "Login to MIS" not in html
        assert "Inside a school" not in html

    def test_queries_do_not_grow_with_roles_or_associations(self, site_client, trust, schools):
        viewer = staff_viewer(trust)
        small = person(trust)
        hold(small, role_with(trust, "Only", {INSTITUTION_DETAILS: Access.VIEW}))
        big = person(trust)
        for n in range(8):
            hold(
                big,
                role_with(
                    trust,
                    f"Role {n}",
                    {INSTITUTION_DETAILS: Access.VIEW, LOGIN_TO_MIS: Access.ADMINISTER},
                    in_school={USER_DETAILS: Access.VIEW},
                ),
            )
        more = [add_school(trust) for _ in range(20)]
        associate(
            big,
            schools=schools + more[:10],
            clusters=[cluster_of(trust, f"C{n}", *more[n * 2 : n * 2 + 4]) for n in range(5)],
        )
        client = site_client(trust, viewer.user)
        assert count_queries(client, permissions_url(small)) == count_queries(
            client, permissions_url(big)
        )
