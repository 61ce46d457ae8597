import pytest
from django.core.management import call_command

from accounts.models import StaffProfile, User
from bench.register import DEMO_ESTABLISHMENTS
from institutions.models import GroupMembership, Institution
from institutions.selectors import current_schools

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        sorted(Institution.objects.values_list("slug", "kind", "name", "urn", "updated_at")),
        sorted(
            GroupMembership.objects.values_list(
                "group__slug", "school__slug", "joined_on", "left_on"
            )
        ),
        sorted(User.objects.values_list("email", "is_staff")),
        sorted(StaffProfile.objects.values_list("user__email", "site__slug")),
    )


def test_demo_seed_is_idempotent_and_deterministic(capsys):
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first
    institutions, memberships, users, profiles = first
    assert Institution.objects.filter(kind="school").count() == DEMO_ESTABLISHMENTS
    assert {kind for _, kind, *_ in institutions} == {"school", "trust", "la"}
    assert ("head@oak-ridge-primary-school.test", "oak-ridge-primary-school") in profiles
    assert ("trust.admin@oak-ridge.test", "oak-ridge-trust") in profiles
    assert ("data.lead@northshire.test", "northshire") in profiles
    current = {(group, school) for group, school, _, left_on in memberships if left_on is None}
    assert ("oak-ridge-trust", "oak-ridge-primary-school") in current
    assert ("northshire", "oak-ridge-primary-school") in current
    assert ("support@matmis.test", True) in users
    assert "Password for every demo account" in capsys.readouterr().out


def test_demo_groups_have_their_schools():
    call_command("seed_demo")
    trust = Institution.objects.get(slug="oak-ridge-trust")
    la = Institution.objects.get(slug="northshire")
    assert (trust.name, trust.group_code) == ("Oak Ridge Trust", "9001")
    assert la.name == "Northshire"
    assert current_schools(group=trust).count() == 40
    assert current_schools(group=la).count() == 300


def test_demo_accounts_can_sign_in_where_they_work(site_client):
    from matmis.demo import DEMO_PASSWORD

    call_command("seed_demo")
    for slug, email in (
        ("oak-ridge-trust", "ceo@oak-ridge.test"),
        ("northshire", "data.lead@northshire.test"),
        ("oak-ridge-primary-school", "head@oak-ridge-primary-school.test"),
    ):
        client = site_client(Institution.objects.get(slug=slug))
        response = client.post("/accounts/sign-in/", {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, slug
        assert client.get("/").status_code == 200, slug


def test_demo_staff_hold_their_roles():
    from accounts.permissions import DATA_SHARING_REQUEST, LOGIN_TO_MIS, Access, has_permission

    call_command("seed_demo")
    trust = Institution.objects.get(slug="oak-ridge-trust")
    school = Institution.objects.get(slug="oak-ridge-primary-school")
    roles = dict(
        StaffProfile.objects.filter(site=trust).values_list(
            "user__email", "assignments__role__name"
        )
    )
    assert roles == {
        "ceo@oak-ridge.test": "Chief Executive / Executive Head Teacher",
        "trust.admin@oak-ridge.test": "Trust Administrator",
        "data.lead@oak-ridge.test": "Data Lead",
        "central@oak-ridge.test": "Central Team Member",
    }
    admin = User.objects.get(email="trust.admin@oak-ridge.test")
    head = User.objects.get(email="head@oak-ridge-primary-school.test")
    assert has_permission(user=admin, site=trust, code=LOGIN_TO_MIS, access=Access.ADMINISTER)
    assert has_permission(
        user=head, site=school, code=DATA_SHARING_REQUEST, access=Access.ADMINISTER
    )
    school_staff = StaffProfile.objects.filter(site__in=current_schools(group=trust))
    assert school_staff.count() == 40 * 3


def test_the_demo_trust_administrator_can_log_in_to_mis(site_client):
    import re

    from matmis.demo import DEMO_BACKUP_CODES, DEMO_PASSWORD

    call_command("seed_demo")
    trust = Institution.objects.get(slug="oak-ridge-trust")
    school = Institution.objects.get(slug="oak-ridge-primary-school")
    client = site_client(trust)
    password_step = client.post(
        "/accounts/sign-in/",
        {"username": "trust.admin@oak-ridge.test", "password": DEMO_PASSWORD},
    )
    assert password_step["Location"].startswith("/accounts/sign-in/code/")
    code_step = client.post("/accounts/sign-in/code/", {"code": DEMO_BACKUP_CODES[0]})
    assert code_step.status_code == 302
    chooser = client.get("/log-in-to-mis/").content.decode()
    assert school.name in chooser
    started = client.post("/log-in-to-mis/", {"school": school.urn}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', started).group(1)
    school_client = site_client(school)
    assert school_client.post("/hop/", {"token": token}).status_code == 302
    assert "Signed in from Oak Ridge Trust" in school_client.get("/").content.decode()
