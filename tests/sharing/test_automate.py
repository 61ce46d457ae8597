"""Automated agreements: platform support sets every current school of a trust to a level,
without requests or emails, never lowering one; by command and by admin action."""

import datetime
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts.audit import system_actor
from accounts.models import AuditAction, AuditEvent
from institutions.models import GroupMembership, Institution, Status
from notifications.models import EmailDelivery
from sharing.models import AccessLevel, Agreement, AgreementRequest, RequestStatus
from sharing.services.agreements import agreement_raise, agreements_automate
from tests.conftest import sign_in_verified
from tests.factories import LocalAuthorityFactory, TrustFactory, UserFactory
from tests.institutions.factories import add_school

from .factories import make_request

L1, L2, L3 = (
    AccessLevel.DFE_DATA,
    AccessLevel.DFE_AND_MIS_DATA,
    AccessLevel.DFE_MIS_AND_GROUP_ACTIONS,
)


@pytest.fixture
def trust(db):
    return TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust", group_code="TR01234")


@pytest.fixture
def schools(trust):
    return [add_school(trust) for _ in range(3)]


def levels(trust):
    return dict(Agreement.objects.filter(group=trust).values_list("school_id", "level"))


@pytest.mark.django_db
class TestService:
    def test_every_current_school(self, trust, schools):
        closed = add_school(trust, status=Status.CLOSED)
        left = add_school(trust)
        GroupMembership.objects.filter(school=left).update(left_on=datetime.date(2026, 1, 1))
        changed = agreements_automate(trust=trust, level=L3, actor=system_actor())
        assert changed == 3
        assert levels(trust) == {school.pk: L3 for school in schools}
        assert closed.pk not in levels(trust) and left.pk not in levels(trust)
        assert all(Agreement.objects.filter(group=trust).values_list("automated", flat=True))

    def test_never_lowers_and_leaves_higher_schools(self, trust, schools):
        agreement_raise(group=trust, school=schools[0], level=L3, actor=system_actor())
        agreement_raise(group=trust, school=schools[1], level=L1, actor=system_actor())
        changed = agreements_automate(trust=trust, level=L2, actor=system_actor())
        assert changed == 2
        assert levels(trust) == {schools[0].pk: L3, schools[1].pk: L2, schools[2].pk: L2}

    def test_a_repeat_changes_nothing(self, trust, schools):
        agreements_automate(trust=trust, level=L2, actor=system_actor())
        assert agreements_automate(trust=trust, level=L2, actor=system_actor()) == 0

    def test_audited_and_no_emails(self, trust, schools):
        agreements_automate(trust=trust, level=L2, actor=system_actor())
        events = AuditEvent.objects.filter(action=AuditAction.AGREEMENT_AUTOMATED)
        assert {e.site_id for e in events} == {trust.pk, *(s.pk for s in schools)}
        summary = events.get(site=trust)
        assert summary.detail["changed"] == 3 and summary.actor_email == "system"
        assert not EmailDelivery.objects.exists()
        assert not AgreementRequest.objects.exists()

    def test_supersedes_pending_requests_it_covers(self, trust, schools):
        low = make_request(trust, schools[0], level=L1)
        high = make_request(trust, schools[1], level=L3)
        agreements_automate(trust=trust, level=L2, actor=system_actor())
        low.refresh_from_db()
        high.refresh_from_db()
        assert low.status == RequestStatus.SUPERSEDED
        assert high.status == RequestStatus.PENDING

    def test_trusts_only(self, db):
        la = LocalAuthorityFactory()
        add_school(la)
        with pytest.raises(ValidationError):
            agreements_automate(trust=la, level=L1, actor=system_actor())
        assert not Agreement.objects.exists()

    def test_level_checked(self, trust, schools):
        with pytest.raises(ValidationError):
            agreements_automate(trust=trust, level=5, actor=system_actor())


@pytest.mark.django_db
class TestCommand:
    @pytest.mark.parametrize("name", ["oak-ridge-trust", "TR01234"])
    def test_by_slug_or_code(self, trust, schools, name):
        out = StringIO()
        call_command("automate_agreements", "--trust", name, "--level", "3", stdout=out)
        assert "Oak Ridge Trust: 3 of 3 schools set to “DfE Data, MIS Data & Group Actions”" in (
            out.getvalue()
        )
        assert set(levels(trust).values()) == {L3}

    def test_unknown_trust(self, db):
        with pytest.raises(CommandError, match="No trust"):
            call_command("automate_agreements", "--trust", "nope", "--level", "1")

    def test_a_local_authority_is_not_a_trust(self, db):
        la = LocalAuthorityFactory(slug="northshire")
        with pytest.raises(CommandError, match="No trust"):
            call_command("automate_agreements", "--trust", la.slug, "--level", "1")

    def test_bad_level(self, trust):
        with pytest.raises(CommandError):
            call_command("automate_agreements", "--trust", trust.slug, "--level", "4")


@pytest.mark.django_db
def test_admin_action(client, settings, trust, schools):
    support = UserFactory(is_staff=True, is_superuser=True)
    sign_in_verified(client, support)
    response = client.post(
        "/support/institutions/institution/",
        {
            "action": "automate_agreements_level_2",
            "_selected_action": [trust.pk],
        },
        HTTP_HOST=settings.BASE_DOMAIN,
        follow=True,
    )
    assert response.status_code == 200
    assert "Oak Ridge Trust: 3 schools set to “DfE Data &amp; MIS Data”" in (
        response.content.decode()
    )
    assert set(levels(trust).values()) == {L2}
    event = AuditEvent.objects.get(action=AuditAction.AGREEMENT_AUTOMATED, site=trust)
    assert event.actor == support
    assert Institution.objects.filter(pk=trust.pk).exists()
