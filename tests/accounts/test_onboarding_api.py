"""Staff onboarding over REST (issue 13, item 1): the permission ladder, adding (invited,
existing user), invitations listed, sent again and revoked, deactivating and reactivating,
the CSV import; another site's ids, and every refusal changing nothing."""

import json
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from accounts.models import (
    AuditEvent,
    RoleAssignment,
    StaffInvitation,
    StaffProfile,
    User,
)
from accounts.staff.services import roles_ensure_defaults
from notifications.models import EmailDelivery
from tests.accounts.factories import (
    add_school,
    another_trust,
    cluster_of,
    person,
    staff_admin,
    staff_viewer,
)
from tests.conftest import SiteClient
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-pass-phrase-1"
LINK = re.compile(r"https?://[^/\s]+(/accounts/invitation/[A-Za-z0-9_-]+/)")


@pytest.fixture
def admin(trust):
    return staff_admin(trust, name="Ada Admin", email="ada@oak.test")


@pytest.fixture
def roles(trust):
    return roles_ensure_defaults(site=trust)


@pytest.fixture
def api(site_client, trust, admin):
    return site_client(trust, admin.user)


def send(client, method, url, body=None):
    with TestCase.captureOnCommitCallbacks(execute=True):
        if body is None or method == "get":
            return getattr(client, method)(url)
        return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def state() -> tuple:
    return (
        User.objects.count(),
        StaffProfile.objects.count(),
        StaffProfile.objects.filter(is_active=True).count(),
        RoleAssignment.objects.count(),
        StaffInvitation.objects.filter(revoked_at__isnull=True).count(),
        EmailDelivery.objects.count(),
        AuditEvent.objects.count(),
    )


def body(roles, email="new@oak.test", **extra) -> dict:
    return {
        "full_name": "New Person",
        "email": email,
        "job_title": "Analyst",
        "role_ids": [roles["Central Team Member"].pk],
        **extra,
    }


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


class TestLadder:
    WRITES = [
        ("post", "/api/v1/staff/"),
        ("post", "/api/v1/staff/import/"),
        ("post", "/api/v1/staff/invitations/{invitation}/resend/"),
        ("post", "/api/v1/staff/invitations/{invitation}/revoke/"),
        ("post", "/api/v1/staff/{sam}/deactivate/"),
        ("get", "/api/v1/staff/invitations/"),
        ("get", "/api/v1/staff/deactivated/"),
    ]

    @pytest.mark.parametrize(("method", "url"), WRITES)
    def test_needs_user_details_at_administer(self, site_client, trust, roles, api, method, url):
        send(api, "post", "/api/v1/staff/", body(roles))
        invitation = StaffInvitation.objects.get()
        sam = person(trust)
        url = url.format(invitation=invitation.pk, sam=sam.pk)
        outsider = staff_admin(another_trust()).user
        viewer = staff_viewer(trust).user
        before = state()
        assert send(site_client(trust), method, url, {}).status_code == 403
        for who in (outsider, person(trust).user, viewer):
            error = error_of(send(site_client(trust, who), method, url, {}), 403)
            if who is viewer:
                assert "User Details: Manage All Users" in error["message"]
        assert state()[0] == before[0] + 1 and state()[4:] == before[4:]  # the helper person


class TestAdd:
    def test_invited(self, trust, roles, api):
        response = send(api, "post", "/api/v1/staff/", body(roles))
        assert response.status_code == 201, response.content
        data = response.json()
        assert data["outcome"] == "invited"
        assert data["invitation"]["state"] == "pending"
        assert data["invitation"]["roles"] == ["Central Team Member"]
        assert not StaffProfile.objects.get(pk=data["profile_id"]).is_active
        assert len(mail.outbox) == 1
        listed = api.get("/api/v1/staff/invitations/").json()
        assert [row["email"] for row in listed] == ["new@oak.test"]

    def test_existing_user(self, trust, roles, api):
        eve = person(InstitutionFactory(), email="eve@elm.test").user
        response = send(api, "post", "/api/v1/staff/", body(roles, email="Eve@Elm.test"))
        data = response.json()
        assert response.status_code == 201 and data["outcome"] == "existing_user_added"
        assert data["invitation"] is None
        assert StaffProfile.objects.get(pk=data["profile_id"]).user == eve

    def test_group_associations(self, trust, roles, api):
        add_school(trust, name="Ash Primary", urn="100001")
        north = cluster_of(trust, "North")
        data = send(
            api,
            "post",
            "/api/v1/staff/",
            body(roles, school_urns=["100001"], cluster_ids=[north.pk]),
        ).json()
        profile = StaffProfile.objects.get(pk=data["profile_id"])
        assert profile.association.school_links.count() == 1
        assert profile.association.cluster_links.count() == 1

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"email": "nope"}, "email"),
            ({"full_name": ""}, "full_name"),
            ({"role_ids": []}, "role_ids"),
            ({"role_ids": [999999]}, "role_ids"),
            ({"school_urns": ["200001"]}, "school_urns"),  # another group's school
            ({"school_urns": ["12ab"]}, "school_urns"),
            ({"cluster_ids": [999999]}, "cluster_ids"),
        ],
    )
    def test_bad_input_changes_nothing(self, roles, api, changes, field):
        add_school(another_trust(), name="Far", urn="200001")
        before = state()
        error = error_of(send(api, "post", "/api/v1/staff/", body(roles, **changes)), 400)
        assert field in error["fields"] and state() == before

    def test_another_sites_role_is_refused(self, roles, api):
        other = roles_ensure_defaults(site=InstitutionFactory())["Teacher"]
        before = state()
        error = error_of(send(api, "post", "/api/v1/staff/", body(roles, role_ids=[other.pk])), 400)
        assert "Not one of this site’s roles" in error["fields"]["role_ids"][0]
        assert state() == before

    def test_already_here(self, trust, roles, api):
        person(trust, email="sam@oak.test")
        before = state()
        error = error_of(
            send(api, "post", "/api/v1/staff/", body(roles, email="sam@oak.test")), 400
        )
        assert "already works at" in error["fields"]["email"][0] and state() == before

    def test_associations_on_a_school_site_are_refused(self, site_client):
        school = InstitutionFactory()
        client = site_client(school, staff_admin(school).user)
        teacher = roles_ensure_defaults(site=school)["Teacher"]
        before = state()
        response = send(
            client,
            "post",
            "/api/v1/staff/",
            {"full_name": "T", "email": "t@x.test", "role_ids": [teacher.pk], "all_schools": True},
        )
        assert "school_urns" in error_of(response, 400)["fields"] and state() == before


class TestInvitations:
    @pytest.fixture
    def invitation(self, roles, api):
        send(api, "post", "/api/v1/staff/", body(roles))
        return StaffInvitation.objects.get()

    def test_resend_then_revoke(self, trust, api, invitation):
        old = LINK.search(mail.outbox[0].body).group(1)
        data = send(api, "post", f"/api/v1/staff/invitations/{invitation.pk}/resend/").json()
        assert data["sends"] == 2 and data["state"] == "pending"
        new = LINK.search(mail.outbox[1].body).group(1)
        assert SiteClient(trust).get(old).status_code == 404
        data = send(api, "post", f"/api/v1/staff/invitations/{invitation.pk}/revoke/").json()
        assert data["state"] == "revoked"
        assert SiteClient(trust).get(new).status_code == 410
        before = state()
        error = error_of(
            send(api, "post", f"/api/v1/staff/invitations/{invitation.pk}/resend/"), 400
        )
        assert "revoked" in error["message"] and state() == before
        assert api.get("/api/v1/staff/invitations/").json() == []

    def test_another_sites_invitation_is_not_found(self, site_client, invitation):
        other = InstitutionFactory()
        client = site_client(other, staff_admin(other).user)
        before = state()
        for change in ("resend", "revoke"):
            url = f"/api/v1/staff/invitations/{invitation.pk}/{change}/"
            assert send(client, "post", url).status_code == 404
        assert state() == before


class TestDeactivate:
    def test_deactivate_and_reactivate(self, trust, api):
        sam = person(trust, name="Sam", email="sam@oak.test")
        data = send(api, "post", f"/api/v1/staff/{sam.pk}/deactivate/").json()
        assert data == {"profile_id": sam.pk, "active": False, "sessions_ended": 0}
        assert api.get(f"/api/v1/staff/{sam.pk}/").status_code == 404
        assert [row["id"] for row in api.get("/api/v1/staff/deactivated/").json()] == [sam.pk]
        data = send(api, "post", f"/api/v1/staff/{sam.pk}/reactivate/").json()
        assert data["active"] is True
        assert api.get(f"/api/v1/staff/{sam.pk}/").status_code == 200

    def test_oneself_and_another_sites(self, api, admin):
        other = person(InstitutionFactory())
        before = state()
        error = error_of(send(api, "post", f"/api/v1/staff/{admin.pk}/deactivate/"), 400)
        assert "cannot deactivate yourself" in error["message"]
        assert send(api, "post", f"/api/v1/staff/{other.pk}/deactivate/").status_code == 404
        assert send(api, "post", f"/api/v1/staff/{other.pk}/reactivate/").status_code == 404
        assert state() == before


class TestImport:
    def upload(self, client, data: bytes):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return client.post(
                "/api/v1/staff/import/", {"file": SimpleUploadedFile("staff.csv", data)}
            )

    def test_added(self, api):
        response = self.upload(
            api, b"name,email,job title,roles\nAmy,amy@oak.test,,Data Lead; Central Team Member\n"
        )
        assert response.status_code == 201
        assert response.json() == {
            "added": True,
            "lines": [
                {
                    "line": 2,
                    "name": "Amy",
                    "email": "amy@oak.test",
                    "outcome": "invited",
                    "reasons": [],
                }
            ],
        }

    def test_a_refused_line_adds_nobody(self, api):
        before = state()
        response = self.upload(
            api,
            b"name,email,job title,roles\nAmy,amy@oak.test,,Data Lead\nBob,bob@oak.test,,Nope\n",
        )
        assert response.status_code == 422 and state() == before
        lines = response.json()["lines"]
        assert [line["outcome"] for line in lines] == ["not_added", "refused"]
        assert "Not a role at Oak Ridge Trust: Nope" in lines[1]["reasons"][0]

    def test_an_unreadable_file(self, api):
        before = state()
        error = error_of(self.upload(api, b"\xff\xfeh\x00i\x00"), 400)
        assert "UTF-16" in error["fields"]["file"][0] and state() == before


class TestAcceptByApi:
    @pytest.fixture
    def token(self, roles, api):
        send(api, "post", "/api/v1/staff/", body(roles))
        return LINK.search(mail.outbox[0].body).group(1).rstrip("/").rsplit("/", 1)[1]

    def accept(self, site, token, password=PASSWORD):
        return send(
            SiteClient(site),
            "post",
            "/api/v1/invitations/accept/",
            {"token": token, "password": password},
        )

    def test_accepted_once(self, trust, token):
        response = self.accept(trust, token)
        assert response.status_code == 200, response.content
        data = response.json()
        assert data["password_set"] is True and data["two_factor_required"] is False
        user = User.objects.get(email="new@oak.test")
        assert user.check_password("a-Long-pass-phrase-1")
        assert StaffProfile.objects.get(pk=data["profile_id"]).is_active
        before = state()
        again = self.accept(trust, token, "another-Long-pass-2")
        assert again.status_code == 410
        assert again.json()["error"]["code"] == "invitation_used" and state() == before

    def test_a_weak_or_missing_password_changes_nothing(self, trust, token):
        before = state()
        for password in ("", "abc"):
            error = error_of(self.accept(trust, token, password), 400)
            assert "password" in error["fields"]
        assert state() == before

    def test_another_sites_host_and_a_forged_token(self, trust, token):
        before = state()
        for site, value in ((InstitutionFactory(), token), (trust, "forged-" + "x" * 30)):
            response = self.accept(site, value)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "invitation_not_valid"
        assert state() == before
