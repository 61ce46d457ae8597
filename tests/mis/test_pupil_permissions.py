"""Pupil data follows the roles (issue 13, item 3): Students, Attendance and Behaviour and
exclusions at a school, Analytics at a group, each at Off, View and Administer, on pages,
exports and the API; a hop gets exactly its group role's in-school set; the seeded roles
and the migration that gives deployed sites the same defaults."""

import datetime
import importlib

import pytest
from django.apps import apps

from accounts.models import BusinessRole, RoleGrant
from accounts.permissions import (
    ANALYTICS,
    ATTENDANCE,
    BEHAVIOUR,
    INSTITUTION_DETAILS,
    STUDENTS,
    Access,
    access_level,
)
from accounts.staff.services import role_assign, roles_ensure_defaults
from tests.accounts.factories import hold, person, role_with
from tests.exports import body as file_body
from tests.factories import TrustFactory
from tests.hop import factories as hop_factories
from tests.institutions.factories import SchoolFactory
from tests.mis.factories import PupilFactory, mark_days, suspend

pytestmark = pytest.mark.django_db

ON_ROLL = datetime.date(2026, 9, 1)
SECRET_NAME = "Quillonbury"


@pytest.fixture
def school():
    school = SchoolFactory(name="Fenwick Primary", slug="fenwick")
    pupil = PupilFactory(
        site=school, legal_last_name=SECRET_NAME, enrolled_on=datetime.date(2020, 9, 1)
    )
    mark_days(pupil, [datetime.date(2026, 11, 16)], ["/", "O"])
    suspend(pupil, datetime.date(2026, 10, 5), sessions=2)
    school.pupil = pupil
    return school


def staff_with(site, grants: dict[str, Access]):
    """A member of staff of ``site`` whose one role grants exactly ``grants``."""
    profile = person(site)
    if grants:
        hold(profile, role_with(site, f"Role {profile.pk}", grants))
    return profile.user


def pupil_paths(pupil_id: int) -> dict[str, list[str]]:
    """Every page and endpoint of pupil data, by the permission it needs."""
    return {
        STUDENTS: [
            "/students/",
            f"/students/{pupil_id}/",
            "/students/export.csv",
            "/students/export.xlsx",
            "/api/v1/pupils/",
            f"/api/v1/pupils/{pupil_id}/",
            "/api/v1/pupils/export/?format=csv",
        ],
        ATTENDANCE: [
            "/attendance/",
            "/attendance/export.csv",
            "/attendance/export.xlsx",
            "/api/v1/attendance/today/",
            "/api/v1/attendance/export/?format=csv",
        ],
    }


ANALYTICS_PATHS = [
    "/analytics/",
    "/analytics/export.csv",
    "/api/v1/analytics/schools/",
    "/api/v1/analytics/schools/export/?format=csv",
]


# --- Off / View / Administer on every page and endpoint ---------------------------------------


@pytest.mark.parametrize("code", [STUDENTS, ATTENDANCE])
def test_each_pupil_permission_opens_its_pages_at_view_and_administer_only(
    school, site_client, code
):
    paths = pupil_paths(school.pupil.pk)[code]
    other = ATTENDANCE if code == STUDENTS else STUDENTS
    off = site_client(school, staff_with(school, {other: Access.ADMINISTER}))
    for path in paths:
        response = off.get(path)
        assert response.status_code == 403, path
        body = response.content.decode()
        assert SECRET_NAME not in body, path
        label = {STUDENTS: "Students: Student Records", ATTENDANCE: "Attendance: Attendance Rec"}
        assert label[code] in body, path  # the refusal names what is missing
    for access in (Access.VIEW, Access.ADMINISTER):
        client = site_client(school, staff_with(school, {code: access}))
        for path in paths:
            assert client.get(path).status_code == 200, (path, access)


def test_the_api_refusal_names_the_permission(school, site_client):
    client = site_client(school, staff_with(school, {}))
    error = client.get("/api/v1/pupils/").json()["error"]
    assert error["code"] == "permission_denied"
    assert "Students: Student Records" in error["message"]


def test_no_pupil_permission_sees_no_pupil_and_no_menu_entry(school, site_client):
    client = site_client(school, staff_with(school, {INSTITUTION_DETAILS: Access.VIEW}))
    home = client.get("/").content.decode()
    assert 'href="/students/"' not in home and 'href="/attendance/"' not in home
    assert SECRET_NAME not in home
    viewer = site_client(school, staff_with(school, {STUDENTS: Access.VIEW}))
    home = viewer.get("/").content.decode()
    assert 'href="/students/"' in home and 'href="/attendance/"' not in home


def test_a_pupils_marks_need_attendance_and_their_exclusions_behaviour(school, site_client):
    pupil = school.pupil
    students_only = site_client(school, staff_with(school, {STUDENTS: Access.VIEW}))
    page = students_only.get(f"/students/{pupil.pk}/").content.decode()
    assert SECRET_NAME in page
    assert "Recent marks" not in page and "Attendance this term" not in page
    assert "Suspensions and exclusions" not in page
    body = students_only.get(f"/api/v1/pupils/{pupil.pk}/").json()
    assert body["recent_marks"] is None and body["exclusions"] is None
    assert body["term_attendance"] is None
    listed = students_only.get("/api/v1/pupils/").json()["results"]
    assert listed[0]["term_attendance"] is None
    assert b"Attendance % this term" not in file_body(students_only.get("/students/export.csv"))

    everything = site_client(
        school,
        staff_with(
            school, {STUDENTS: Access.VIEW, ATTENDANCE: Access.VIEW, BEHAVIOUR: Access.VIEW}
        ),
    )
    page = everything.get(f"/students/{pupil.pk}/").content.decode()
    assert "Recent marks" in page and "Attendance this term" in page
    assert "Suspensions and exclusions" in page
    body = everything.get(f"/api/v1/pupils/{pupil.pk}/").json()
    assert body["exclusions"][0]["sessions"] == 2
    assert body["term_attendance"] is not None and body["recent_marks"] is not None
    assert b"Attendance % this term" in file_body(everything.get("/students/export.csv"))

    behaviour_only = site_client(
        school, staff_with(school, {STUDENTS: Access.VIEW, BEHAVIOUR: Access.VIEW})
    )
    page = behaviour_only.get(f"/students/{pupil.pk}/").content.decode()
    assert "Suspensions and exclusions" in page and "Recent marks" not in page


def test_analytics_needs_analytics_at_view(site_client):
    trust = TrustFactory()
    off = site_client(trust, staff_with(trust, {INSTITUTION_DETAILS: Access.ADMINISTER}))
    for path in ANALYTICS_PATHS:
        assert off.get(path).status_code == 403, path
    assert 'href="/analytics/"' not in off.get("/").content.decode()
    viewer = site_client(trust, staff_with(trust, {ANALYTICS: Access.VIEW}))
    for path in ANALYTICS_PATHS:
        assert viewer.get(path).status_code == 200, path
    assert 'href="/analytics/"' in viewer.get("/").content.decode()


def test_a_role_edit_applies_on_the_next_request(school, site_client):
    user = staff_with(school, {STUDENTS: Access.VIEW})
    client = site_client(school, user)
    assert client.get("/api/v1/pupils/").status_code == 200
    RoleGrant.objects.filter(site=school, code=STUDENTS).delete()
    assert client.get("/api/v1/pupils/").status_code == 403
    assert client.get("/students/").status_code == 403


# --- The hop: exactly the role's in-school set ---------------------------------------------


@pytest.fixture
def hop_world():
    world = hop_factories.World()
    world.pupil = PupilFactory(site=world.school, legal_last_name=SECRET_NAME)
    return world


def test_a_trust_administrator_hop_reads_pupils_as_before(hop_world):
    client = hop_world.hop_in()
    assert client.get("/students/").status_code == 200
    assert SECRET_NAME in client.get(f"/students/{hop_world.pupil.pk}/").content.decode()
    assert client.get("/api/v1/attendance/today/").status_code == 200


def test_a_hop_without_in_school_pupil_grants_sees_no_pupil(hop_world):
    role = roles_ensure_defaults(site=hop_world.trust)["Trust Administrator"]
    role.grants.filter(in_school=True, code__in=(STUDENTS, ATTENDANCE, BEHAVIOUR)).delete()
    client = hop_world.hop_in()
    for paths in pupil_paths(hop_world.pupil.pk).values():
        for path in paths:
            response = client.get(path)
            assert response.status_code == 403, path
            assert SECRET_NAME not in response.content.decode()
    # The group's own grants (Administer at the group) never apply inside the school.
    role.grants.create(site=hop_world.trust, code=STUDENTS, access=int(Access.ADMINISTER))
    assert client.get("/students/").status_code == 403
    # Granting it in the school-level set opens it on the next request.
    role.grants.create(site=hop_world.trust, code=STUDENTS, access=int(Access.VIEW), in_school=True)
    assert client.get("/students/").status_code == 200
    assert client.get("/attendance/").status_code == 403


# --- Seeded defaults and the migration --------------------------------------------------------


def test_seeded_school_roles_grant_the_pupil_defaults(school):
    roles = roles_ensure_defaults(site=school)

    def level(role_name, code):
        profile = person(school)
        role_assign(profile=profile, role=roles[role_name])
        return access_level(user=profile.user, site=school, code=code)

    for name in ("Head Teacher", "Executive Head Teacher", "Deputy Head Teacher", "Data Manager"):
        for code in (STUDENTS, ATTENDANCE, BEHAVIOUR):
            assert level(name, code) == Access.ADMINISTER, (name, code)
    assert [level("Teacher", code) for code in (STUDENTS, ATTENDANCE, BEHAVIOUR)] == [
        Access.VIEW,
        Access.VIEW,
        Access.OFF,
    ]
    assert [level("Office Administrator", code) for code in (STUDENTS, ATTENDANCE, BEHAVIOUR)] == [
        Access.VIEW,
        Access.OFF,
        Access.OFF,
    ]


def test_seeded_group_roles_grant_analytics_and_in_school_pupil_views():
    trust = TrustFactory()
    roles = roles_ensure_defaults(site=trust)
    for name in ("Chief Executive / Executive Head Teacher", "Trust Administrator", "Data Lead"):
        assert roles[name].grants.get(code=ANALYTICS, in_school=False).access == Access.VIEW
        in_school = dict(roles[name].grants.filter(in_school=True).values_list("code", "access"))
        assert {in_school[c] for c in (STUDENTS, ATTENDANCE, BEHAVIOUR)} == {Access.VIEW}
    assert not roles["Central Team Member"].grants.filter(code=ANALYTICS).exists()


def _migration():
    return importlib.import_module("accounts.migrations.0010_pupil_data_default_grants")


def test_the_migration_gives_deployed_seeded_roles_the_defaults(school):
    roles = roles_ensure_defaults(site=school)
    trust = TrustFactory()
    group_roles = roles_ensure_defaults(site=trust)
    # As a site seeded before the permissions existed: no pupil grant anywhere...
    RoleGrant.objects.filter(code__in=(STUDENTS, ATTENDANCE, BEHAVIOUR, ANALYTICS)).delete()
    # ...except one the school chose itself, which stays as it is,
    RoleGrant.objects.create(
        site=school, role=roles["Teacher"], code=STUDENTS, access=int(Access.ADMINISTER)
    )
    # and a role the site made itself under a seeded name gains nothing.
    roles["Data Manager"].delete()
    own = BusinessRole.objects.create(site=school, name="Data Manager", is_seeded=False)

    _migration().add_default_grants(apps, None)

    def grants(role, in_school=False):
        return dict(role.grants.filter(in_school=in_school).values_list("code", "access"))

    assert grants(roles["Head Teacher"])[STUDENTS] == Access.ADMINISTER
    assert grants(roles["Teacher"])[STUDENTS] == Access.ADMINISTER  # the school's own
    assert grants(roles["Teacher"])[ATTENDANCE] == Access.VIEW
    assert grants(roles["Office Administrator"]) == {STUDENTS: Access.VIEW}
    assert grants(own) == {}
    admin = group_roles["Trust Administrator"]
    assert grants(admin)[ANALYTICS] == Access.VIEW
    assert grants(admin, in_school=True)[ATTENDANCE] == Access.VIEW
    assert ANALYTICS not in grants(group_roles["Central Team Member"])
    # Running it again changes nothing.
    before = RoleGrant.objects.count()
    _migration().add_default_grants(apps, None)
    assert RoleGrant.objects.count() == before
