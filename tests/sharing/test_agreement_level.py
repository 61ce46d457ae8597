import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction

from accounts.audit import system_actor
from institutions.models import Status
from matmis.db_roles import owner_role
from sharing.access import (
    agreement_level,
    effective_level,
    group_may_see_mis_data,
    group_may_see_published_data,
    group_may_take_group_actions,
)
from sharing.models import AccessLevel, Agreement
from sharing.services.agreements import AgreementLevelError, agreement_raise
from tests.factories import InstitutionFactory, MembershipFactory, TrustFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    trust = TrustFactory()
    school = InstitutionFactory(status=Status.OPEN)
    MembershipFactory(group=trust, school=school)
    return trust, school


def raise_to(pair, level):
    trust, school = pair
    return agreement_raise(group=trust, school=school, level=level, actor=system_actor())


def test_levels_carry_the_labels_users_know():
    assert [label for _, label in AccessLevel.choices] == [
        "DfE Data",
        "DfE Data & MIS Data",
        "DfE Data, MIS Data & Group Actions",
    ]


def test_no_agreement_is_level_zero(pair):
    assert agreement_level(group=pair[0], school=pair[1]) == 0
    assert not group_may_see_published_data(group=pair[0], school=pair[1])


def test_a_level_rises_and_each_level_opens_its_own_door(pair):
    trust, school = pair
    _, changed = raise_to(pair, AccessLevel.DFE_DATA)
    assert changed
    assert group_may_see_published_data(group=trust, school=school)
    assert not group_may_see_mis_data(group=trust, school=school)
    raise_to(pair, AccessLevel.DFE_AND_MIS_DATA)
    assert group_may_see_mis_data(group=trust, school=school)
    assert not group_may_take_group_actions(group=trust, school=school)
    raise_to(pair, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS)
    assert group_may_take_group_actions(group=trust, school=school)


def test_the_same_level_again_is_a_harmless_repeat(pair):
    first, _ = raise_to(pair, AccessLevel.DFE_AND_MIS_DATA)
    again, changed = raise_to(pair, AccessLevel.DFE_AND_MIS_DATA)
    assert not changed
    assert again.pk == first.pk
    assert again.approved_at == first.approved_at


def test_the_service_refuses_to_lower_a_level(pair):
    raise_to(pair, AccessLevel.DFE_AND_MIS_DATA)
    with pytest.raises(AgreementLevelError, match="never lowered"):
        raise_to(pair, AccessLevel.DFE_DATA)
    assert Agreement.objects.get().level == AccessLevel.DFE_AND_MIS_DATA


def test_the_database_refuses_to_lower_a_level_even_from_raw_sql(pair):
    agreement, _ = raise_to(pair, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS)
    with (
        pytest.raises(IntegrityError, match="cannot be lowered"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE sharing_agreement SET level = 1 WHERE id = %s", [agreement.pk])
    # The application may not delete an agreement at all (db_roles); not even the tables'
    # owner may.
    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM sharing_agreement WHERE id = %s", [agreement.pk])
    with (
        pytest.raises(IntegrityError, match="cannot be deleted"),
        owner_role(),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM sharing_agreement WHERE id = %s", [agreement.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.filter(pk=agreement.pk).update(level=2)
    assert Agreement.objects.get().level == AccessLevel.DFE_MIS_AND_GROUP_ACTIONS


def test_an_agreement_with_a_school_that_left_grants_nothing(pair):
    trust, school = pair
    raise_to(pair, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS)
    school.group_links.filter(group=trust).update(left_on="2026-01-01")
    assert agreement_level(group=trust, school=school) == 3
    assert effective_level(group=trust, school=school) == 0
    assert not group_may_take_group_actions(group=trust, school=school)


def test_a_closed_school_grants_nothing(pair):
    trust, school = pair
    raise_to(pair, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS)
    school.status = Status.CLOSED
    school.save(update_fields=["status"])
    assert not group_may_take_group_actions(group=trust, school=school)


def test_agreements_are_between_a_group_and_a_school(pair):
    with pytest.raises(AgreementLevelError):
        agreement_raise(
            group=pair[1], school=pair[0], level=AccessLevel.DFE_DATA, actor=system_actor()
        )
    with pytest.raises(AgreementLevelError):
        raise_to(pair, 4)


def test_each_raise_is_audited_at_both_sites(pair):
    from accounts.models import AuditAction, AuditEvent

    trust, school = pair
    raise_to(pair, AccessLevel.DFE_DATA)
    raise_to(pair, AccessLevel.DFE_DATA)  # a repeat records nothing
    raise_to(pair, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS)
    events = AuditEvent.objects.filter(action=AuditAction.AGREEMENT_RAISED)
    assert sorted(events.values_list("site_id", "detail__to")) == sorted(
        [(school.pk, 1), (trust.pk, 1), (school.pk, 3), (trust.pk, 3)]
    )
