"""A retired business role (Staff > Business roles) grants nothing, so it makes nobody a
recipient of a data sharing request, a Trust Administrator told of a decision, or an
approver at the school."""

import pytest

from accounts.audit import Actor, system_actor
from accounts.models import BusinessRole, StaffProfile
from accounts.permissions import TRUST_ADMINISTRATOR
from accounts.roles.services import role_retire
from accounts.staff.services import role_assign, roles_ensure_defaults
from sharing.selectors import eligible_people
from sharing.services.decisions import agreement_request_approve
from tests.factories import UserFactory
from tests.institutions.factories import add_school
from tests.notifications.factories import make_pair, make_request

from .factories import school_staff
from .test_receipts import trust_administrator

pytestmark = pytest.mark.django_db


def retire(site, name):
    role = BusinessRole.objects.get(site=site, name=name)
    role_retire(role=role, actor=system_actor(site=site))


def test_holders_of_a_retired_recipient_role_cannot_be_chosen(trust):
    school = add_school(trust, name="Acorn Primary")
    manager = school_staff(school, "Data Manager", full_name="Dan Data")
    deputy = school_staff(school, "Deputy Head Teacher", full_name="Dee Deputy")
    before = {p.profile_id for p in eligible_people(group=trust, schools=[school])}
    assert {manager.pk, deputy.pk} <= before

    retire(school, "Data Manager")
    after = {p.profile_id for p in eligible_people(group=trust, schools=[school])}
    assert manager.pk not in after
    assert deputy.pk in after


def test_a_retired_trust_administrator_role_is_told_nothing(
    mailoutbox, django_capture_on_commit_callbacks
):
    pair = make_pair()
    admin = trust_administrator(pair.trust, email="alex@oak-ridge.test")
    # Someone else manages staff, so the Trust Administrator role may be retired.
    chief = UserFactory(email="ceo@oak-ridge.test")
    role_assign(
        profile=StaffProfile.objects.create(site=pair.trust, user=chief),
        role=roles_ensure_defaults(site=pair.trust)["Chief Executive / Executive Head Teacher"],
    )
    retire(pair.trust, TRUST_ADMINISTRATOR)
    request = make_request(pair)
    with django_capture_on_commit_callbacks(execute=True):
        agreement_request_approve(request=request, actor=Actor(user=pair.head, site=pair.school))
    sent_to = {m.to[0] for m in mailoutbox}
    assert pair.head.email in sent_to  # the school's approver is still told
    assert admin.email not in sent_to
