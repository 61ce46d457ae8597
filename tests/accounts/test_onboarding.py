"""Staff onboarding services (issue 13, item 1): adding a member of staff (new people are
invited, existing users added, never a second user), the invitation's single-use, hashed,
7-day link (resend, revoke, accept), deactivating and reactivating, and that every refusal
changes nothing."""

import datetime
import hashlib
import re

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.utils import timezone

from accounts.audit import Actor
from accounts.models import (
    AuditAction,
    AuditEvent,
    RoleAssignment,
    StaffAssociation,
    StaffInvitation,
    StaffProfile,
    User,
)
from accounts.permissions import USER_DETAILS, Access
from accounts.staff.onboarding import (
    INVITATION_LIFETIME,
    AddOutcome,
    InvitationLinkProblem,
    InvitationLinkRefused,
    NewStaffMember,
    invitation_accept,
    invitation_for_link,
    invitation_resend,
    invitation_revoke,
    staff_deactivate,
    staff_member_add,
    staff_reactivate,
)
from accounts.staff.services import roles_ensure_defaults
from notifications.models import DeliveryStatus, EmailDelivery
from tests.accounts.factories import (
    add_school,
    cluster_of,
    hold,
    person,
    role_with,
    staff_admin,
)
from tests.conftest import SiteClient
from tests.factories import TEST_PASSWORD, InstitutionFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s]+/accounts/invitation/([A-Za-z0-9_-]+)/")


@pytest.fixture
def admin(trust):
    return staff_admin(trust, name="Ada Admin", email="ada@oak.test")


@pytest.fixture
def actor(trust, admin):
    return Actor(user=admin.user, site=trust)


@pytest.fixture
def roles(trust):
    return roles_ensure_defaults(site=trust)


def member(roles, *names, email="new.person@oak.test", **kwargs) -> NewStaffMember:
    return NewStaffMember(
        full_name=kwargs.pop("full_name", "New Person"),
        email=email,
        job_title=kwargs.pop("job_title", "Analyst"),
        roles=[roles[name] for name in names or ("Central Team Member",)],
        **kwargs,
    )


def add(site, new, actor):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return staff_member_add(site=site, member=new, actor=actor)


def link_token(message) -> str:
    return LINK.search(message.body).group(1)


def state() -> tuple:
    return (
        User.objects.count(),
        StaffProfile.objects.count(),
        RoleAssignment.objects.count(),
        StaffInvitation.objects.count(),
        EmailDelivery.objects.count(),
        AuditEvent.objects.count(),
    )


class TestAddNewPerson:
    def test_a_new_address_is_invited_with_a_hashed_single_use_link(self, trust, roles, actor):
        result = add(trust, member(roles, "Central Team Member", "Data Lead"), actor)
        assert result.outcome is AddOutcome.INVITED
        user = User.objects.get(email="new.person@oak.test")
        assert user.full_name == "New Person" and not user.has_usable_password()
        profile = result.profile
        assert not profile.is_active and profile.job_title == "Analyst"
        assert sorted(a.role.name for a in profile.assignments.all()) == [
            "Central Team Member",
            "Data Lead",
        ]
        invitation = StaffInvitation.objects.get()
        assert invitation.invited_by == actor.user and invitation.site == trust
        assert invitation.expires_at - invitation.created_at == datetime.timedelta(days=7)
        [message] = mail.outbox
        assert message.to == ["new.person@oak.test"]
        assert "Ada Admin has invited you to work at Oak Ridge Trust" in message.body
        token = link_token(message)
        assert f"//{trust.slug}." in message.body  # the link is on the site's own host
        invitation.refresh_from_db()
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(EmailDelivery.objects.get().params)  # never stored
        actions = list(AuditEvent.objects.filter(site=trust).values_list("action", flat=True))
        assert AuditAction.STAFF_INVITED in actions
        assert actions.count(AuditAction.ROLE_ASSIGNED) == 2

    def test_the_email_says_two_factor_is_required_where_it_is(self, trust, roles, actor):
        from accounts.models import SiteSecurityPolicy

        SiteSecurityPolicy.objects.create(site=trust, require_two_factor=True)
        add(trust, member(roles), actor)
        assert "requires two-factor sign-in" in mail.outbox[0].body

    def test_associations_on_a_group_site(self, trust, roles, actor):
        ash = add_school(trust, name="Ash Primary", urn="100001")
        beech = add_school(trust, name="Beech Primary", urn="100002")
        north = cluster_of(trust, "North", beech)
        result = add(trust, member(roles, schools=[ash], clusters=[north]), actor)
        association = StaffAssociation.objects.get(profile=result.profile)
        assert not association.all_schools
        assert [link.school for link in association.school_links.all()] == [ash]
        assert [link.cluster for link in association.cluster_links.all()] == [north]
        result = add(trust, member(roles, email="all@oak.test", all_schools=True), actor)
        assert StaffAssociation.objects.get(profile=result.profile).all_schools

    def test_on_a_school_site(self, actor):
        school = InstitutionFactory(name="Elm School")
        head = staff_admin(school)
        result = add(
            school,
            member(roles_ensure_defaults(site=school), "Teacher"),
            Actor(user=head.user, site=school),
        )
        assert result.outcome is AddOutcome.INVITED and result.profile.site == school


class TestAddExistingUser:
    def test_gets_a_new_profile_never_a_second_user_nor_a_new_password(self, trust, roles, actor):
        school = InstitutionFactory(name="Elm School")
        existing = person(school, name="Eve Existing", email="eve@elm.test").user
        before = existing.password
        result = add(trust, member(roles, email="EVE@Elm.TEST", full_name="Eve E"), actor)
        assert result.outcome is AddOutcome.EXISTING_USER_ADDED
        assert User.objects.filter(email__iexact="eve@elm.test").count() == 1
        existing.refresh_from_db()
        assert existing.password == before and existing.full_name == "Eve Existing"
        assert result.profile.is_active and result.profile.user == existing
        assert not StaffInvitation.objects.exists()
        [message] = mail.outbox
        assert "has added you to the staff of Oak Ridge Trust" in message.body
        assert "Your password has not changed" in message.body and trust.url in message.body
        assert AuditEvent.objects.filter(action=AuditAction.STAFF_ADDED, site=trust).exists()
        # They can sign in here with the password they had.
        client = SiteClient(trust)
        response = client.post(
            "/accounts/sign-in/", {"username": "eve@elm.test", "password": TEST_PASSWORD}
        )
        assert response.status_code == 302

    def test_someone_invited_elsewhere_and_not_yet_joined_is_invited_here_too(
        self, trust, roles, actor
    ):
        school = InstitutionFactory(name="Elm School")
        head = staff_admin(school)
        add(
            school,
            member(roles_ensure_defaults(site=school), "Teacher", email="ivy@x.test"),
            Actor(user=head.user, site=school),
        )
        result = add(trust, member(roles, email="ivy@x.test"), actor)
        assert result.outcome is AddOutcome.INVITED
        assert User.objects.filter(email="ivy@x.test").count() == 1
        first, second = mail.outbox
        # Accepting here sets the password; the school's link then only joins the school.
        invitation_accept(
            site=trust, token=link_token(second), password="a-Long-pass-phrase-1", ip_address=None
        )
        user = User.objects.get(email="ivy@x.test")
        invitation_accept(site=school, token=link_token(first), password=None, ip_address=None)
        user.refresh_from_db()
        assert user.check_password("a-Long-pass-phrase-1")


class TestRefusals:
    def refused(self, site, new, actor, field) -> list[str]:
        before = state()
        with pytest.raises(ValidationError) as error:
            add(site, new, actor)
        assert state() == before and not mail.outbox
        return error.value.message_dict[field]

    def test_already_working_here(self, trust, roles, actor):
        person(trust, name="Sam", email="sam@oak.test")
        (message,) = self.refused(trust, member(roles, email="Sam@oak.test"), actor, "email")
        assert "already works at Oak Ridge Trust" in message

    def test_already_invited(self, trust, roles, actor):
        add(trust, member(roles), actor)
        mail.outbox.clear()
        (message,) = self.refused(trust, member(roles), actor, "email")
        assert "invited to Oak Ridge Trust already" in message and "Send the invitation again" in (
            message
        )

    def test_deactivated_here(self, trust, roles, actor):
        sam = person(trust, name="Sam", email="sam@oak.test")
        StaffProfile.objects.filter(pk=sam.pk).update(is_active=False)
        (message,) = self.refused(trust, member(roles, email="sam@oak.test"), actor, "email")
        assert "was deactivated" in message and "Reactivate" in message

    @pytest.mark.parametrize(
        ("changes", "field", "words"),
        [
            ({"full_name": "  "}, "full_name", "Enter the person’s full name"),
            ({"email": "not-an-address"}, "email", "Enter an email address like"),
            ({"email": ""}, "email", "Enter the person’s email address"),
            ({"job_title": "x" * 151}, "job_title", "150 characters or fewer"),
        ],
    )
    def test_bad_fields(self, trust, roles, actor, changes, field, words):
        fields = {"email": "ok@oak.test", **changes}
        new = member(roles, **fields)
        (message,) = self.refused(trust, new, actor, field)
        assert words in message

    def test_an_account_switched_off_for_the_platform(self, trust, roles, actor):
        off = person(InstitutionFactory(), email="off@x.test").user
        User.objects.filter(pk=off.pk).update(is_active=False)
        (message,) = self.refused(trust, member(roles, email="off@x.test"), actor, "email")
        assert "switched off for the whole platform" in message

    def test_no_role_and_another_sites_role(self, trust, roles, actor):
        new = NewStaffMember(full_name="A", email="a@oak.test", job_title="", roles=[])
        assert self.refused(trust, new, actor, "roles") == ["Choose at least one role."]
        other = role_with(InstitutionFactory(), "Theirs", {})
        new = NewStaffMember(full_name="A", email="a@oak.test", job_title="", roles=[other])
        assert self.refused(trust, new, actor, "roles") == ["Choose from this site’s roles."]

    def test_a_retired_role(self, trust, roles, actor):
        from accounts.roles.services import role_retire

        role_retire(role=roles["Data Lead"], actor=actor)
        roles["Data Lead"].refresh_from_db()
        new = member(roles, "Data Lead")
        assert self.refused(trust, new, actor, "roles") == [
            "“Data Lead” is retired: it cannot be given to anyone."
        ]

    def test_another_groups_school(self, trust, roles, actor):
        from tests.accounts.factories import another_trust

        elsewhere = add_school(another_trust(), name="Far School", urn="200001")
        before = state()
        with pytest.raises(ValidationError):
            add(trust, member(roles, schools=[elsewhere]), actor)
        assert state() == before


class TestInvitationLink:
    @pytest.fixture
    def invited(self, trust, roles, actor):
        add(trust, member(roles), actor)
        return StaffInvitation.objects.get(), link_token(mail.outbox[0])

    def test_accept_sets_the_password_activates_and_spends_the_link(self, trust, invited):
        invitation, token = invited
        profile = invitation_accept(
            site=trust, token=token, password="a-Long-pass-phrase-1", ip_address="10.0.0.1"
        )
        assert profile.is_active and profile.user.check_password("a-Long-pass-phrase-1")
        invitation.refresh_from_db()
        assert invitation.used_at is not None
        event = AuditEvent.objects.get(action=AuditAction.INVITATION_ACCEPTED)
        assert event.actor == profile.user and event.site == trust
        with pytest.raises(InvitationLinkRefused) as refused:
            invitation_accept(site=trust, token=token, password="another-Pass-1", ip_address=None)
        assert refused.value.problem is InvitationLinkProblem.USED
        profile.user.refresh_from_db()
        assert profile.user.check_password("a-Long-pass-phrase-1")

    def test_expired(self, trust, invited):
        _, token = invited
        StaffInvitation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
        before = state()
        with pytest.raises(InvitationLinkRefused) as refused:
            invitation_accept(site=trust, token=token, password="a-Long-pass-1", ip_address=None)
        assert refused.value.problem is InvitationLinkProblem.EXPIRED
        assert "expired" in str(refused.value) and state() == before

    def test_revoked(self, trust, invited, actor):
        invitation, token = invited
        invitation_revoke(invitation=invitation, actor=actor)
        before = state()
        with pytest.raises(InvitationLinkRefused) as refused:
            invitation_accept(site=trust, token=token, password="a-Long-pass-1", ip_address=None)
        assert refused.value.problem is InvitationLinkProblem.REVOKED and state() == before
        assert not StaffProfile.objects.get(pk=invitation.profile_id).is_active

    def test_forged_and_another_sites(self, trust, invited):
        _, token = invited
        other = InstitutionFactory()
        for site, forged in ((trust, "x" * 43), (trust, ""), (other, token)):
            with pytest.raises(InvitationLinkRefused) as refused:
                invitation_for_link(site=site, token=forged)
            assert refused.value.problem is InvitationLinkProblem.NOT_VALID

    def test_resend_kills_the_old_link_and_renews_the_expiry(self, trust, invited, actor):
        invitation, old = invited
        StaffInvitation.objects.update(expires_at=timezone.now() - datetime.timedelta(days=1))
        with TestCase.captureOnCommitCallbacks(execute=True):
            invitation_resend(invitation=invitation, actor=actor)
        new = link_token(mail.outbox[1])
        assert new != old
        with pytest.raises(InvitationLinkRefused) as refused:
            invitation_for_link(site=trust, token=old)
        assert refused.value.problem is InvitationLinkProblem.NOT_VALID
        found = invitation_for_link(site=trust, token=new)
        assert found.expires_at > timezone.now() + INVITATION_LIFETIME - datetime.timedelta(
            minutes=1
        )
        assert AuditEvent.objects.filter(action=AuditAction.INVITATION_RESENT).count() == 1

    def test_an_older_queued_email_is_never_built_after_a_resend(self, trust, roles, actor):
        # Queued, not sent (as if the broker held it), then sent again: the first delivery
        # can no longer be built (it would carry a link), the second can.
        staff_member_add(site=trust, member=member(roles), actor=actor)
        invitation = StaffInvitation.objects.get()
        invitation_resend(invitation=invitation, actor=actor)
        from notifications.services import deliveries_send

        first, second = EmailDelivery.objects.order_by("pk")
        deliveries_send(site_id=trust.pk, delivery_ids=[first.pk, second.pk])
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.status == DeliveryStatus.FAILED and second.status == DeliveryStatus.SENT
        assert len(mail.outbox) == 1

    def test_resend_or_revoke_after_acceptance_is_refused(self, trust, invited, actor):
        invitation, token = invited
        invitation_accept(site=trust, token=token, password="a-Long-pass-1x", ip_address=None)
        before = state()
        for change in (invitation_resend, invitation_revoke):
            with pytest.raises(ValidationError, match="accepted the invitation already"):
                change(invitation=invitation, actor=actor)
        assert state() == before

    def test_a_revoked_person_can_be_invited_again(self, trust, roles, invited, actor):
        invitation, _ = invited
        invitation_revoke(invitation=invitation, actor=actor)
        result = add(trust, member(roles, "Data Lead"), actor)
        assert result.outcome is AddOutcome.INVITED and result.profile.pk == invitation.profile_id
        assert StaffInvitation.objects.count() == 2
        assert [a.role.name for a in result.profile.assignments.all()] == ["Data Lead"]


class TestDeactivate:
    def test_ends_sessions_here_keeps_history_and_can_be_undone(self, trust, admin, actor):
        sam = person(trust, name="Sam", email="sam@oak.test")
        hold(sam, role_with(trust, "Reader", {}))
        here = SiteClient(trust)
        here.force_login(sam.user)
        assert here.get("/staff/").status_code == 200  # the session is bound to the site
        school = InstitutionFactory()
        person(school, email="sam-school@x.test")
        elsewhere = SiteClient(school)
        StaffProfile.objects.create(site=school, user=sam.user)
        elsewhere.force_login(sam.user)
        assert elsewhere.get("/staff/").status_code == 200
        sessions = Session.objects.count()

        result = staff_deactivate(profile=sam, actor=actor)
        assert result.sessions_ended == 1 and Session.objects.count() == sessions - 1
        sam.refresh_from_db()
        assert not sam.is_active
        assert RoleAssignment.objects.filter(profile=sam).count() == 1  # roles kept
        assert here.get("/staff/").status_code == 302  # signed out here
        assert elsewhere.get("/staff/").status_code == 200  # still works there
        event = AuditEvent.objects.get(action=AuditAction.STAFF_DEACTIVATED)
        assert event.detail["roles_kept"] == ["Reader"] and event.detail["sessions_ended"] == 1

        staff_reactivate(profile=sam, actor=actor)
        sam.refresh_from_db()
        assert sam.is_active
        assert AuditEvent.objects.filter(action=AuditAction.STAFF_REACTIVATED).exists()

    def test_not_oneself(self, trust, admin, actor):
        staff_admin(trust)
        before = state()
        with pytest.raises(ValidationError, match="cannot deactivate yourself"):
            staff_deactivate(profile=admin, actor=actor)
        assert state() == before

    def test_not_the_last_who_can_manage_staff(self, trust, admin):
        other = person(trust)
        hold(other, role_with(trust, "Reader", {USER_DETAILS: Access.VIEW}))
        before = state()
        with pytest.raises(ValidationError, match="only person who can manage staff"):
            staff_deactivate(profile=admin, actor=Actor(user=other.user, site=trust))
        assert state() == before
        admin.refresh_from_db()
        assert admin.is_active

    def test_a_group_session_ending_ends_its_hops(self, trust, admin, actor):
        """Hops hang from the group session (hop.middleware asks for it on every request):
        deleting it here is what ends them, at their next request."""
        sam = person(trust, email="sam@oak.test")
        client = SiteClient(trust)
        client.force_login(sam.user)
        client.get("/staff/")
        key = client.session.session_key
        staff_deactivate(profile=sam, actor=actor)
        assert not Session.objects.filter(session_key=key).exists()

    def test_reactivate_someone_who_never_joined_is_refused(self, trust, roles, actor):
        add(trust, member(roles), actor)
        profile = StaffProfile.objects.get(user__email="new.person@oak.test")
        with pytest.raises(ValidationError, match="never accepted"):
            staff_reactivate(profile=profile, actor=actor)


def test_a_bulk_line_refused_while_adding_adds_nobody(trust, roles, actor, monkeypatch):
    """A line that passed the check but is refused when added (someone added that person
    in between): all or none, the line says why."""
    from accounts.staff import bulk_add

    real = bulk_add.staff_member_add
    calls = []

    def second_refused(**kwargs):
        calls.append(kwargs["member"].email)
        if len(calls) == 2:
            raise ValidationError({"email": ["Added by someone else a moment ago."]})
        return real(**kwargs)

    monkeypatch.setattr(bulk_add, "staff_member_add", second_refused)
    before = state()
    result = bulk_add.staff_bulk_add(
        site=trust,
        data=b"name,email,job title,roles\nA,a@oak.test,,Data Lead\nB,b@oak.test,,Data Lead\n",
        actor=actor,
    )
    assert state() == before and not result.added
    assert [(line.outcome, line.reasons) for line in result.lines] == [
        (bulk_add.LineOutcome.NOT_ADDED, ()),
        (bulk_add.LineOutcome.REFUSED, ("Added by someone else a moment ago.",)),
    ]
