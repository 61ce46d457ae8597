"""Staff onboarding pages (issue 13, item 1): who may use them, adding one person and many
from a CSV file, the Staff list's invitations and deactivated staff, the invitation's link
on the site's host (accepted, expired, used, revoked, forged, another site's), deactivating
and reactivating; every refusal changes nothing."""

import datetime
import re

import pytest
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import (
    AuditAction,
    AuditEvent,
    RoleAssignment,
    SiteSecurityPolicy,
    StaffInvitation,
    StaffProfile,
    User,
)
from accounts.staff.services import roles_ensure_defaults
from notifications.models import EmailDelivery
from tests.accounts.factories import add_school, cluster_of, person, staff_admin, staff_viewer
from tests.conftest import SiteClient
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://([^/\s]+)(/accounts/invitation/[A-Za-z0-9_-]+/)")
PASSWORD = "a-Long-pass-phrase-1"


@pytest.fixture
def admin(trust):
    return staff_admin(trust, name="Ada Admin", email="ada@oak.test")


@pytest.fixture
def roles(trust):
    return roles_ensure_defaults(site=trust)


@pytest.fixture
def manager(site_client, trust, admin):
    return site_client(trust, admin.user)


def post(client, url, data, **kwargs):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, data, **kwargs)


def state() -> tuple:
    return (
        User.objects.count(),
        StaffProfile.objects.count(),
        RoleAssignment.objects.count(),
        StaffInvitation.objects.count(),
        EmailDelivery.objects.count(),
        AuditEvent.objects.count(),
    )


def invite(client, site_roles, email="new@oak.test", **extra):
    data = {
        "full_name": "New Person",
        "email": email,
        "job_title": "Analyst",
        "roles": [site_roles["Central Team Member"].pk],
        "associations": "none",
        **extra,
    }
    return post(client, "/staff/add/", data)


def emailed_path(message) -> tuple[str, str]:
    host, path = LINK.search(message.body).groups()
    return host, path


class TestWhoMay:
    @pytest.mark.parametrize("url", ["/staff/add/", "/staff/add/csv/"])
    def test_only_user_administrators(self, site_client, trust, admin, url):
        assert site_client(trust).get(url).status_code == 302  # sign in first
        for who in (person(trust), staff_viewer(trust)):
            response = site_client(trust, who.user).get(url)
            assert response.status_code == 403
            assert "User Details: Manage All Users" in response.content.decode()
        assert site_client(trust, admin.user).get(url).status_code == 200

    def test_a_plain_member_of_staff_can_post_nothing(self, site_client, trust, roles):
        client = site_client(trust, person(trust).user)
        before = state()
        response = invite(client, roles)
        assert response.status_code == 403 and state() == before

    def test_the_list_offers_the_button_to_managers_only(self, site_client, trust, manager):
        assert "Add a member of staff" in manager.get("/staff/").content.decode()
        page = site_client(trust, person(trust).user).get("/staff/").content.decode()
        assert "Add a member of staff" not in page


class TestAddPage:
    def test_invite_then_listed_as_invited(self, manager, roles):
        response = invite(manager, roles)
        assert response.status_code == 302 and response.url == "/staff/"
        page = manager.get("/staff/").content.decode()
        assert "New Person is invited" in page
        assert "Invited, not yet accepted" in page and "new@oak.test" in page
        assert "Pending" in page and "Central Team Member" in page
        assert len(mail.outbox) == 1

    def test_group_associations_chosen(self, trust, manager, roles):
        ash = add_school(trust, name="Ash Primary", urn="100001")
        north = cluster_of(trust, "North", ash)
        form = manager.get("/staff/add/").content.decode()
        assert "Ash Primary" in form and "North" in form
        invite(manager, roles, associations="chosen", schools=["100001"], clusters=[north.pk])
        profile = StaffProfile.objects.get(user__email="new@oak.test")
        assert [link.school for link in profile.association.school_links.all()] == [ash]

    def test_chosen_with_nothing_chosen_is_refused(self, manager, roles):
        before = state()
        response = invite(manager, roles, associations="chosen")
        assert response.status_code == 200 and state() == before
        assert "Choose at least one school or cluster" in response.content.decode()

    @pytest.mark.parametrize(
        ("changes", "words"),
        [
            ({"email": "nope"}, "Enter an email address like"),
            ({"full_name": ""}, "Enter the person’s full name"),
            ({"roles": []}, "Choose at least one role"),
            ({"roles": [999999]}, "Choose from this site’s roles"),
            ({"schools": ["999999"], "associations": "chosen"}, "current schools"),
        ],
    )
    def test_bad_input_says_what_and_changes_nothing(self, manager, roles, changes, words):
        before = state()
        response = invite(manager, roles, **changes)
        assert response.status_code == 200 and state() == before
        assert words in response.content.decode()

    def test_someone_already_here(self, trust, manager, roles):
        person(trust, name="Sam", email="sam@oak.test")
        before = state()
        response = invite(manager, roles, email="SAM@oak.test")
        assert "already works at Oak Ridge Trust" in response.content.decode()
        assert state() == before

    def test_an_existing_user_is_added_at_once(self, trust, manager, roles):
        elsewhere = person(InstitutionFactory(), name="Eve", email="eve@elm.test")
        response = invite(manager, roles, email="eve@elm.test")
        assert response.status_code == 302
        assert StaffProfile.objects.get(site=trust, user=elsewhere.user).is_active
        page = manager.get("/staff/").content.decode()
        assert "already had an account on matmis" in page

    def test_on_a_school_site_there_are_no_associations(self, site_client):
        school = InstitutionFactory(name="Elm School")
        head = staff_admin(school)
        client = site_client(school, head.user)
        page = client.get("/staff/add/").content.decode()
        assert "Associated schools" not in page
        teacher = roles_ensure_defaults(site=school)["Teacher"]
        response = post(
            client,
            "/staff/add/",
            {"full_name": "T", "email": "t@elm.test", "roles": [teacher.pk]},
        )
        assert response.status_code == 302
        assert StaffInvitation.objects.get().site == school


class TestInvitationLink:
    @pytest.fixture
    def link(self, trust, manager, roles):
        invite(manager, roles)
        host, path = emailed_path(mail.outbox[0])
        assert host.startswith(f"{trust.slug}.")
        return path

    def test_looking_changes_nothing(self, trust, link):
        before = state()
        response = SiteClient(trust).get(link)
        assert response.status_code == 200 and "Join Oak Ridge Trust" in response.content.decode()
        assert response["Referrer-Policy"] == "same-origin"
        assert state() == before

    def test_accept_signs_in_then_two_factor_where_required(self, trust, link):
        SiteSecurityPolicy.objects.create(site=trust, require_two_factor=True)
        client = SiteClient(trust)
        response = client.post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
        assert response.status_code == 302 and response.url == "/accounts/two-factor/"
        assert client.get("/accounts/two-factor/").status_code == 200
        assert client.get("/staff/").status_code in (302, 403)  # not past two-factor yet
        user = User.objects.get(email="new@oak.test")
        assert user.check_password(PASSWORD)
        assert AuditEvent.objects.filter(action=AuditAction.INVITATION_ACCEPTED).exists()
        # The link was used: opening it again says so, and changes nothing.
        before = state()
        again = SiteClient(trust).get(link)
        assert again.status_code == 410 and "already accepted" in again.content.decode()
        assert state() == before

    def test_accept_without_two_factor_goes_home_signed_in(self, trust, link):
        client = SiteClient(trust)
        response = client.post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
        assert response.url == "/"
        assert client.get("/staff/").status_code == 200

    def test_a_weak_password_is_refused_and_changes_nothing(self, trust, link):
        before = state()
        response = SiteClient(trust).post(link, {"new_password1": "abc", "new_password2": "abc"})
        assert response.status_code == 200 and state() == before
        assert "govuk-error-summary" in response.content.decode()
        assert StaffInvitation.objects.get().used_at is None

    def test_expired(self, trust, link):
        StaffInvitation.objects.update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
        before = state()
        response = SiteClient(trust).post(
            link, {"new_password1": PASSWORD, "new_password2": PASSWORD}
        )
        assert response.status_code == 410 and "has expired" in response.content.decode()
        assert state() == before

    def test_revoked_from_the_list(self, trust, manager, link):
        invitation = StaffInvitation.objects.get()
        response = post(manager, f"/staff/invitations/{invitation.pk}/revoke/", {})
        assert response.status_code == 302
        page = SiteClient(trust).get(link)
        assert page.status_code == 410 and "withdrawn" in page.content.decode()

    def test_resent_from_the_list_kills_the_old_link(self, trust, manager, link):
        invitation = StaffInvitation.objects.get()
        post(manager, f"/staff/invitations/{invitation.pk}/resend/", {})
        _, new = emailed_path(mail.outbox[1])
        assert SiteClient(trust).get(link).status_code == 404
        assert SiteClient(trust).get(new).status_code == 200

    def test_forged_and_on_another_sites_host(self, trust, link):
        other = InstitutionFactory()
        before = state()
        for site, path in ((trust, "/accounts/invitation/forged-token/"), (other, link)):
            response = SiteClient(site).post(
                path, {"new_password1": PASSWORD, "new_password2": PASSWORD}
            )
            assert response.status_code == 404
            assert "This invitation link is not valid" in response.content.decode()
        assert state() == before

    def test_another_sites_invitation_id_is_not_found(self, site_client, trust):
        other = InstitutionFactory()
        teacher = roles_ensure_defaults(site=other)["Teacher"]
        their_admin = site_client(other, staff_admin(other).user)
        post(
            their_admin,
            "/staff/add/",
            {"full_name": "T", "email": "t@x.test", "roles": [teacher.pk]},
        )
        invitation = StaffInvitation.objects.get()
        mine = site_client(trust, staff_admin(trust).user)
        before = state()
        for action in ("resend", "revoke"):
            response = post(mine, f"/staff/invitations/{invitation.pk}/{action}/", {})
            assert response.status_code == 404
        assert state() == before


class TestDeactivatePages:
    def test_confirm_then_deactivate_then_reactivate(self, trust, manager):
        sam = person(trust, name="Sam Smith", email="sam@oak.test")
        assert (
            "Deactivate Sam Smith?" in manager.get(f"/staff/{sam.pk}/deactivate/").content.decode()
        )
        response = post(manager, f"/staff/{sam.pk}/deactivate/", {})
        assert response.status_code == 302
        page = manager.get("/staff/").content.decode()
        assert "Sam Smith is deactivated" in page and 'id="deactivated"' in page
        assert manager.get(f"/staff/{sam.pk}/").status_code == 404
        response = post(manager, f"/staff/{sam.pk}/reactivate/", {})
        assert response.status_code == 302 and response.url == f"/staff/{sam.pk}/"
        assert manager.get(f"/staff/{sam.pk}/").status_code == 200

    def test_oneself_is_refused(self, manager, admin):
        before = state()
        response = post(manager, f"/staff/{admin.pk}/deactivate/", {})
        assert response.status_code == 400 and state() == before
        assert "You cannot deactivate yourself" in response.content.decode()

    def test_another_sites_profile_is_not_found(self, manager):
        other = person(InstitutionFactory())
        before = state()
        assert post(manager, f"/staff/{other.pk}/deactivate/", {}).status_code == 404
        assert post(manager, f"/staff/{other.pk}/reactivate/", {}).status_code == 404
        assert state() == before


class TestBulkPage:
    def upload(self, client, text: bytes, name="staff.csv"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return post(client, "/staff/add/csv/", {"file": SimpleUploadedFile(name, text)})

    def test_all_lines_checked_first_and_nothing_added_when_one_is_refused(self, manager):
        before = state()
        response = self.upload(
            manager,
            b"name,email,job title,roles\n"
            b"Amy Able,amy@oak.test,Analyst,Data Lead\n"
            b"Bob Bad,not-an-email,,Central Team Member\n"
            b"Cat Cole,cat@oak.test,,Wizard; Data Lead\n"
            b"Amy Again,AMY@oak.test,,Data Lead\n",
        )
        page = response.content.decode()
        assert response.status_code == 200 and state() == before
        assert "Nobody was added" in page
        assert "Not added: another line was refused" in page  # Amy's line was fine
        assert "Enter an email address like" in page
        assert "Not a role at Oak Ridge Trust: Wizard" in page
        assert "is on line 2 already" in page

    def test_every_line_added_with_its_result(self, trust, manager):
        person(InstitutionFactory(), name="Eve", email="eve@elm.test")
        response = self.upload(
            manager,
            "\ufeffName,Email address,Job title,Roles\n"
            "Amy Able,amy@oak.test,Analyst,Data Lead; central team member\n"
            "Eve Elm,eve@elm.test,,Central Team Member\n".encode(),
        )
        page = response.content.decode()
        assert "Everyone was added" in page
        assert page.count("Invited") >= 1 and "Existing user added" in page
        amy = StaffProfile.objects.get(site=trust, user__email="amy@oak.test")
        assert sorted(a.role.name for a in amy.assignments.all()) == [
            "Central Team Member",
            "Data Lead",
        ]
        assert len(mail.outbox) == 2

    @pytest.mark.parametrize(
        ("data", "words"),
        [
            (b"", "Choose a CSV file|The file is empty"),
            (b"name,email\nA,a@x.test\n", "Missing: job title, roles"),
            (b"name,email,job title,roles\n", "nobody under it"),
            (b"name,email,job title,roles\nA\x00,a@x.test,,Data Lead\n", "NUL"),
            (b"PK\x03\x04zzzz", "spreadsheet"),
        ],
    )
    def test_a_file_that_cannot_be_read(self, manager, data, words):
        before = state()
        response = self.upload(manager, data)
        assert response.status_code == 200 and state() == before
        assert re.search(words, response.content.decode())

    def test_cp1252(self, trust, manager):
        self.upload(
            manager,
            "name,email,job title,roles\nZoë Café,zoe@oak.test,,Data Lead\n".encode("cp1252"),
        )
        assert User.objects.get(email="zoe@oak.test").full_name == "Zoë Café"


def test_the_staff_list_costs_the_same_however_many_invitations(trust, manager, roles):
    def count() -> int:
        manager.get("/staff/")
        with CaptureQueriesContext(connection) as queries:
            assert manager.get("/staff/").status_code == 200
        return len(queries.captured_queries)

    invite(manager, roles, email="one@oak.test")
    few = count()
    for n in range(5):
        invite(manager, roles, email=f"more{n}@oak.test")
    sam = person(trust)
    post(manager, f"/staff/{sam.pk}/deactivate/", {})
    assert count() <= few + 2  # the deactivated list appears: its query and its roles
