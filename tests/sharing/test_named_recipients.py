"""Recipients chosen by name (issue 13, item 4): besides roles, a send may name staff who
hold a recipient role at the chosen schools; the preview and the outcome say who gets it,
each person once; anyone else named is refused and nothing is sent."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditAction, AuditEvent
from notifications.models import EmailDelivery
from sharing.models import AccessLevel, AgreementRequest, RecipientSource, RequestRecipient
from sharing.selectors import eligible_people, recipients_preview
from sharing.services.requests import agreement_requests_send
from tests.factories import TrustFactory
from tests.institutions.factories import add_school

from .factories import actor_for, group_admin_profile, head_teacher, school_staff

L1 = AccessLevel.DFE_DATA


@pytest.fixture
def group(db):
    return TrustFactory(name="Oak Ridge Trust")


@pytest.fixture
def admin(group):
    return group_admin_profile(group)


def send(group, schools, admin, *, roles=("Head Teacher",), named=()):
    return agreement_requests_send(
        group=group,
        schools=schools,
        sender=admin,
        recipient_roles=list(roles),
        named_recipients=[p.pk for p in named],
        level=L1,
        actor=actor_for(admin, group),
    )


@pytest.mark.django_db
class TestSendToNamedPeople:
    def test_a_named_data_manager_with_the_head_teachers(self, group, admin):
        school = add_school(group, name="Acorn Primary")
        head = head_teacher(school, full_name="Hana Head", email="head@acorn.test")
        manager = school_staff(school, "Data Manager", full_name="Dan Data", email="dm@acorn.test")
        school_staff(school, "Data Manager")  # not named: does not get it
        outcome = send(group, [school], admin, named=[manager])
        rows = RequestRecipient.objects.order_by("pk").values_list("user_id", "source")
        assert set(rows) == {
            (head.user_id, RecipientSource.ROLE),
            (manager.user_id, RecipientSource.NAMED),
        }
        assert set(outcome.rows[0].recipients) == {"head@acorn.test", "dm@acorn.test"}
        assert set(outcome.rows[0].recipient_names) == {
            "Hana Head (Head Teacher)",
            "Dan Data (Data Manager, chosen by name)",
        }
        assert EmailDelivery.objects.count() == 2
        event = AuditEvent.objects.filter(action=AuditAction.REQUEST_SENT).first()
        assert event.detail["named"] == ["dm@acorn.test"]

    def test_named_people_only_without_roles(self, group, admin):
        school = add_school(group)
        head_teacher(school)
        manager = school_staff(school, "Data Manager")
        other = add_school(group)
        head_teacher(other)
        outcome = send(group, [school, other], admin, roles=(), named=[manager])
        assert list(RequestRecipient.objects.values_list("user_id", flat=True)) == [manager.user_id]
        skipped = {row.school_id: row.reason for row in outcome.skipped}
        assert skipped == {other.pk: "nobody chosen by name works here"}

    def test_a_named_role_holder_is_sent_once(self, group, admin):
        school = add_school(group)
        head = head_teacher(school)
        send(group, [school], admin, named=[head])
        recipient = RequestRecipient.objects.get()
        assert (recipient.user_id, recipient.source) == (head.user_id, RecipientSource.NAMED)
        assert EmailDelivery.objects.count() == 1

    def test_neither_roles_nor_people_is_refused(self, group, admin):
        school = add_school(group)
        head_teacher(school)
        with pytest.raises(ValidationError, match="Choose who should receive"):
            send(group, [school], admin, roles=())


@pytest.mark.django_db
class TestRefusals:
    def assert_nothing_sent(self):
        assert not AgreementRequest.objects.exists()
        assert not RequestRecipient.objects.exists()
        assert not EmailDelivery.objects.exists()
        assert not AuditEvent.objects.filter(action=AuditAction.REQUEST_SENT).exists()

    def test_a_teacher_is_refused(self, group, admin):
        school = add_school(group, name="Acorn Primary")
        head_teacher(school)
        teacher = school_staff(school, "Teacher", full_name="Tom Teacher")
        with pytest.raises(ValidationError) as raised:
            send(group, [school], admin, named=[teacher])
        messages = raised.value.message_dict["named_recipients"]
        assert messages[0] == (
            "Tom Teacher does not hold a role requests go to (Executive Head Teacher, Head "
            "Teacher, Deputy Head Teacher or Data Manager) at Acorn Primary."
        )
        assert messages[-1] == "Nothing was sent."
        self.assert_nothing_sent()

    def test_a_school_outside_the_selection_is_refused(self, group, admin):
        chosen = add_school(group)
        head_teacher(chosen)
        elsewhere = add_school(group)
        other_head = head_teacher(elsewhere, full_name="Secret Name")
        with pytest.raises(ValidationError) as raised:
            send(group, [chosen], admin, named=[other_head])
        assert raised.value.message_dict["named_recipients"][0] == (
            f"Staff profile {other_head.pk} is not on the staff of the chosen schools."
        )
        self.assert_nothing_sent()

    def test_another_trusts_school_is_refused_without_naming_anyone(self, group, admin):
        chosen = add_school(group)
        head_teacher(chosen)
        foreign = add_school(TrustFactory())
        foreign_head = head_teacher(foreign, full_name="Foreign Head")
        with pytest.raises(ValidationError) as raised:
            send(group, [chosen, foreign], admin, named=[foreign_head])
        text = " ".join(raised.value.message_dict["named_recipients"])
        assert "Foreign Head" not in text
        assert "is not on the staff of the chosen schools" in text
        self.assert_nothing_sent()

    def test_a_group_staff_member_and_a_missing_id_are_refused(self, group, admin):
        school = add_school(group)
        head_teacher(school)
        with pytest.raises(ValidationError):
            send(group, [school], admin, named=[admin])
        with pytest.raises(ValidationError):
            agreement_requests_send(
                group=group,
                schools=[school],
                sender=admin,
                recipient_roles=["Head Teacher"],
                named_recipients=[999999],
                level=L1,
                actor=actor_for(admin, group),
            )
        self.assert_nothing_sent()

    def test_someone_who_left_is_refused(self, group, admin):
        school = add_school(group)
        manager = school_staff(school, "Data Manager", full_name="Gone Person")
        manager.is_active = False
        manager.save()
        with pytest.raises(ValidationError, match="Gone Person is no longer"):
            send(group, [school], admin, named=[manager])
        self.assert_nothing_sent()


@pytest.mark.django_db
class TestPreviewAndLookup:
    def test_the_preview_shows_who_gets_it(self, group, admin):
        school = add_school(group)
        head = head_teacher(school)
        manager = school_staff(school, "Data Manager")
        preview = recipients_preview(
            group=group, schools=[school], roles=["Head Teacher"], level=L1, named=[manager.pk]
        )
        people = preview.rows[0].recipients
        assert [(p.user_id, p.named) for p in people] == [
            (head.user_id, False),
            (manager.user_id, True),
        ]
        assert preview.people == 2

    def test_eligible_people_are_the_recipient_roles_at_the_groups_chosen_schools(
        self, group, admin
    ):
        school = add_school(group, name="Acorn Primary")
        head = head_teacher(school, full_name="Ann Able")
        manager = school_staff(school, "Data Manager", full_name="Bob Brown")
        school_staff(school, "Teacher", full_name="Ann Teacher")
        not_chosen = add_school(group)
        head_teacher(not_chosen)
        foreign = add_school(TrustFactory())
        head_teacher(foreign)
        people = eligible_people(group=group, schools=[school, foreign])
        assert [(p.profile_id, p.role_name, p.school) for p in people] == [
            (head.pk, "Head Teacher", school),
            (manager.pk, "Data Manager", school),
        ]
        found = eligible_people(group=group, schools=[school, foreign], search="ann")
        assert [p.profile_id for p in found] == [head.pk]

    def test_the_lookup_costs_two_queries_however_many_schools(self, group):
        measured = []
        for size in (2, 20):
            schools = [add_school(group) for _ in range(size)]
            for school in schools:
                head_teacher(school)
                school_staff(school, "Data Manager")
            with CaptureQueriesContext(connection) as queries:
                people = eligible_people(group=group, schools=schools)
            assert len(people) == 2 * size
            measured.append(len(queries))
        assert measured == [2, 2]

    def test_the_send_with_named_people_costs_constant_queries(self):
        measured = []
        for size in (3, 30):
            group = TrustFactory()
            admin = group_admin_profile(group)
            schools, named = [], []
            for _ in range(size):
                school = add_school(group)
                head_teacher(school)
                named.append(school_staff(school, "Data Manager"))
                schools.append(school)
            with CaptureQueriesContext(connection) as queries:
                outcome = send(group, schools, admin, named=named)
            assert len(outcome.done) == size
            measured.append(len(queries))
        assert measured[0] == measured[1], measured
