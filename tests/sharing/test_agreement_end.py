"""An agreement ends when its school leaves the group (issue 13, item 6): through the
register import or platform support, in the same transaction as the membership; it is kept
as history at both sites, grants nothing, and a school that rejoins starts at No
Agreement. The database allows exactly that change and still refuses every other."""

import datetime
import io
from contextlib import nullcontext
from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.audit import system_actor
from accounts.models import AuditAction, AuditEvent
from institutions.models import GroupMembership, Institution
from institutions.register_import import register_import
from institutions.selectors import current_schools
from institutions.services import membership_end, membership_ensure
from matmis.db_roles import owner_role
from sharing.access import (
    agreement_level,
    agreement_level_expression,
    effective_level,
    group_may_see_published_data,
    schools_with_group_actions,
)
from sharing.models import (
    SCHOOL_LEFT_THE_GROUP,
    AccessLevel,
    Agreement,
    AgreementRequest,
    RequestStatus,
)
from sharing.selectors import TAB_NONE, agreement_tab_counts, sharing_status, tab_school_list
from sharing.services.agreements import agreement_raise
from sharing.services.decisions import agreement_request_approve
from tests.conftest import sign_in_verified
from tests.factories import UserFactory
from tests.institutions.test_gias_reader import good_row, make_csv
from tests.notifications.factories import make_pair, make_request
from tests.sharing.factories import actor_for
from tests.sharing.factories import make_request as make_group_request

pytestmark = pytest.mark.django_db

DAY_ONE = datetime.date(2026, 9, 1)
DAY_TWO = datetime.date(2026, 10, 1)
L1, L2, L3 = (
    AccessLevel.DFE_DATA,
    AccessLevel.DFE_AND_MIS_DATA,
    AccessLevel.DFE_MIS_AND_GROUP_ACTIONS,
)


def run_import(rows, today):
    return register_import(stream=io.BytesIO(make_csv(rows)), today=today)


def school_row(n: int, trust_code: str = "3001") -> dict:
    return good_row(
        URN=f"{100000 + n}",
        EstablishmentName=f"School {n}",
        **{"Trusts (code)": trust_code, "Trusts (name)": "Oak Trust" if trust_code else ""},
    )


def raise_to(group, school, level):
    return agreement_raise(group=group, school=school, level=level, actor=system_actor())[0]


@pytest.fixture
def pair():
    pair = make_pair()
    raise_to(pair.trust, pair.school, L3)
    return pair


def leave(pair, actor=None):
    memberships = GroupMembership.objects.filter(group=pair.trust, school=pair.school)
    return membership_end(memberships=memberships, actor=actor or system_actor())


# --- Through the register import: several schools at once, set-based ----------------------


def test_the_import_ends_the_agreements_of_every_school_that_leaves():
    run_import([school_row(n) for n in range(4)], DAY_ONE)
    trust = Institution.objects.get(kind="trust", group_code="3001")
    schools = list(Institution.objects.filter(kind="school").order_by("urn"))
    for school, level in zip(schools, (L1, L2, L3, L3), strict=True):
        raise_to(trust, school, level)
    pending = make_request_to(trust, schools[0], level=L3)

    # Three of the four leave the trust in one import; the fourth stays.
    result = run_import([school_row(n, "") for n in range(3)] + [school_row(3)], DAY_TWO)

    assert result.memberships_ended == 3
    ended = Agreement.objects.ended().order_by("school__urn")
    assert [(a.school_id, a.level, a.end_reason) for a in ended] == [
        (schools[0].pk, L1, SCHOOL_LEFT_THE_GROUP),
        (schools[1].pk, L2, SCHOOL_LEFT_THE_GROUP),
        (schools[2].pk, L3, SCHOOL_LEFT_THE_GROUP),
    ]
    assert list(Agreement.objects.in_force().values_list("school_id", "level")) == [
        (schools[3].pk, L3)
    ]
    pending.refresh_from_db()
    assert (pending.status, pending.withdraw_reason) == (
        RequestStatus.WITHDRAWN,
        SCHOOL_LEFT_THE_GROUP,
    )
    events = AuditEvent.objects.filter(action=AuditAction.AGREEMENT_ENDED)
    assert sorted(events.values_list("site_id", flat=True)) == sorted(
        [trust.pk] * 3 + [s.pk for s in schools[:3]]
    )
    assert {e.detail["reason"] for e in events} == {SCHOOL_LEFT_THE_GROUP}
    withdrawn = AuditEvent.objects.filter(action=AuditAction.REQUEST_WITHDRAWN)
    assert sorted(withdrawn.values_list("site_id", flat=True)) == sorted([trust.pk, schools[0].pk])


def make_request_to(group, school, level):
    """A pending request of ``group`` to ``school`` (no recipients needed here)."""
    return make_group_request(group, school, level=level)


def test_the_queries_of_an_import_do_not_grow_with_the_schools_that_leave():
    def queries(leaving: int, first: int) -> int:
        rows = [school_row(first + n) for n in range(leaving)]
        run_import(rows, DAY_ONE)
        trust = Institution.objects.get(kind="trust", group_code="3001")
        for school in Institution.objects.filter(urn__in=[r["URN"] for r in rows]):
            raise_to(trust, school, L2)
            make_request_to(trust, school, level=L3)
        with CaptureQueriesContext(connection) as captured:
            result = run_import([school_row(first + n, "") for n in range(leaving)], DAY_TWO)
        assert result.memberships_ended == leaving
        return len(captured)

    assert queries(2, 1000) == queries(9, 2000)
    assert Agreement.objects.in_force().count() == 0
    assert not AgreementRequest.objects.filter(status=RequestStatus.PENDING).exists()


def test_a_failure_while_ending_leaves_neither_the_membership_nor_the_agreement_changed(pair):
    with (
        mock.patch(
            "sharing.services.endings.agreements_end_for_departures",
            side_effect=RuntimeError("boom"),
        ),
        pytest.raises(RuntimeError),
    ):
        leave(pair)
    assert current_schools(group=pair.trust).filter(pk=pair.school.pk).exists()
    assert Agreement.objects.get().ended_at is None

    run_import([good_row(URN="100001")], DAY_ONE)  # the import rolls back the same way
    school = Institution.objects.get(urn="100001")
    trust = Institution.objects.get(kind="trust", group_code="3001")
    raise_to(trust, school, L1)
    with (
        mock.patch(
            "sharing.services.endings.agreements_end_for_departures",
            side_effect=RuntimeError("boom"),
        ),
        pytest.raises(RuntimeError),
    ):
        run_import([good_row(URN="100001", **{"Trusts (code)": ""})], DAY_TWO)
    assert current_schools(group=trust).filter(pk=school.pk).exists()
    assert Agreement.objects.get(school=school).ended_at is None


# --- Through platform support -------------------------------------------------------------


def test_support_ends_a_membership_and_the_agreement_ends_with_it(pair):
    support = UserFactory(is_staff=True, is_superuser=True)
    pending = make_request(pair, level=L3)  # a request to raise: still pending
    actor = actor_for(support, None)

    assert leave(pair, actor) == 1
    assert leave(pair, actor) == 0  # a repeat changes nothing

    agreement = Agreement.objects.get()
    assert agreement.ended_at is not None
    assert (agreement.level, agreement.end_reason) == (L3, SCHOOL_LEFT_THE_GROUP)
    pending.refresh_from_db()
    assert pending.status == RequestStatus.WITHDRAWN
    assert pending.decided_by == support
    ended = AuditEvent.objects.filter(action=AuditAction.AGREEMENT_ENDED)
    assert {(e.site_id, e.actor_id) for e in ended} == {
        (pair.trust.pk, support.pk),
        (pair.school.pk, support.pk),
    }


def test_the_support_admin_action_ends_the_membership(pair, client, settings):
    support = UserFactory(is_staff=True, is_superuser=True)
    sign_in_verified(client, support)
    membership = GroupMembership.objects.get(group=pair.trust, school=pair.school)
    response = client.post(
        "/support/institutions/groupmembership/",
        {"action": "end_memberships", "_selected_action": [membership.pk]},
        HTTP_HOST=settings.BASE_DOMAIN,
        follow=True,
    )
    assert response.status_code == 200
    assert "1 membership ended" in response.content.decode()
    membership.refresh_from_db()
    assert membership.left_on == timezone.localdate()
    assert Agreement.objects.get().end_reason == SCHOOL_LEFT_THE_GROUP
    assert (
        AuditEvent.objects.get(action=AuditAction.AGREEMENT_ENDED, site=pair.school).actor
        == support
    )


# --- Grants nothing, and a school that rejoins starts again --------------------------------


def test_an_ended_agreement_grants_nothing_even_after_the_school_rejoins(pair):
    leave(pair)
    membership_ensure(group=pair.trust, school=pair.school)  # the school rejoins

    assert current_schools(group=pair.trust).filter(pk=pair.school.pk).exists()
    assert agreement_level(group=pair.trust, school=pair.school) == 0
    assert effective_level(group=pair.trust, school=pair.school) == 0
    assert not group_may_see_published_data(group=pair.trust, school=pair.school)
    schools = current_schools(group=pair.trust)
    assert not schools_with_group_actions(group=pair.trust, schools=schools).exists()
    # What Analytics annotates its rows with.
    levels = schools.annotate(level=agreement_level_expression(group=pair.trust))
    assert list(levels.values_list("level", flat=True)) == [0]


def test_a_rejoining_school_is_on_no_agreement_and_needs_a_new_approval(pair):
    leave(pair)
    membership_ensure(group=pair.trust, school=pair.school)

    assert list(tab_school_list(group=pair.trust, tab=TAB_NONE)) == [pair.school]
    counts = agreement_tab_counts(group=pair.trust)
    assert (counts.none, counts.pending, counts.approved) == (1, 0, 0)
    status = sharing_status(group=pair.trust, school=pair.school)
    assert (status.state, status.ended_level, status.end_reason) == (
        TAB_NONE,
        L3,
        SCHOOL_LEFT_THE_GROUP,
    )

    request = make_request(pair, level=L1)
    agreement_request_approve(request=request, actor=actor_for(pair.head, pair.school))

    assert Agreement.objects.count() == 2  # a new row; the ended one is history
    fresh = Agreement.objects.in_force().get()
    assert fresh.level == L1
    assert effective_level(group=pair.trust, school=pair.school) == L1
    old = Agreement.objects.ended().get()
    assert (old.level, old.end_reason) == (L3, SCHOOL_LEFT_THE_GROUP)


# --- The database allows exactly the ending, and nothing else ------------------------------


def raw(sql, params, *, as_owner=False):
    """Run ``sql`` in a savepoint, as the application's role or the tables' owner."""
    with (
        owner_role() if as_owner else nullcontext(),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def test_the_database_refuses_to_end_an_agreement_while_the_school_is_a_member(pair):
    agreement = Agreement.objects.get()
    with pytest.raises(IntegrityError, match="ends only when the school leaves"):
        raw(
            "UPDATE sharing_agreement SET ended_at = now(), end_reason = 'x' WHERE id = %s",
            [agreement.pk],
        )
    with pytest.raises(IntegrityError):  # a reason without an end, or an end without one
        raw("UPDATE sharing_agreement SET end_reason = 'x' WHERE id = %s", [agreement.pk])
    assert Agreement.objects.get().ended_at is None


def test_the_database_refuses_an_ending_that_changes_anything_else(pair):
    agreement = Agreement.objects.get()
    GroupMembership.objects.filter(school=pair.school).update(left_on=DAY_TWO)  # raw leave
    for change in ("level = 3, approved_at = now()", "automated = true"):
        with pytest.raises(IntegrityError, match="sets only when and why"):
            raw(
                f"UPDATE sharing_agreement SET ended_at = now(), end_reason = 'x', {change} "  # noqa: S608
                "WHERE id = %s",
                [agreement.pk],
            )
    with pytest.raises(IntegrityError, match="created already ended"):
        raw(
            "INSERT INTO sharing_agreement (group_id, school_id, level, automated, "
            "approved_at, updated_at, ended_at, end_reason) "
            "VALUES (%s, %s, 1, false, now(), now(), now(), 'x')",
            [pair.trust.pk, pair.school.pk],
        )


def test_an_ended_agreement_can_never_change_be_unended_lowered_or_deleted(pair):
    leave(pair)
    agreement = Agreement.objects.get()
    before = Agreement.objects.values().get()
    changes = {
        "ended_at = NULL, end_reason = ''": "ended data sharing agreement cannot be changed",
        "level = 1": "ended data sharing agreement cannot be changed",
        "end_reason = 'another reason'": "ended data sharing agreement cannot be changed",
        "ended_at = now() - interval '1 day'": "ended data sharing agreement cannot be changed",
        "approved_at = now()": "ended data sharing agreement cannot be changed",
    }
    for change, message in changes.items():
        with pytest.raises(IntegrityError, match=message):
            raw(f"UPDATE sharing_agreement SET {change} WHERE id = %s", [agreement.pk])  # noqa: S608
        with pytest.raises(IntegrityError, match=message):  # not even the tables' owner
            raw(
                f"UPDATE sharing_agreement SET {change} WHERE id = %s",  # noqa: S608
                [agreement.pk],
                as_owner=True,
            )
    with pytest.raises(IntegrityError, match="cannot be deleted"):
        raw("DELETE FROM sharing_agreement WHERE id = %s", [agreement.pk], as_owner=True)
    assert Agreement.objects.values().get() == before


def test_an_agreement_in_force_still_never_falls_or_goes(pair):
    agreement = Agreement.objects.get()
    with pytest.raises(IntegrityError, match="cannot be lowered"):
        raw("UPDATE sharing_agreement SET level = 1 WHERE id = %s", [agreement.pk])
    with pytest.raises(IntegrityError, match="cannot be deleted"):
        raw("DELETE FROM sharing_agreement WHERE id = %s", [agreement.pk], as_owner=True)
    assert Agreement.objects.get().level == L3


# --- History at both sites, pages and API ---------------------------------------------------


def test_the_school_sees_its_past_agreement_and_why_its_request_was_withdrawn(pair, site_client):
    pending = make_request(pair, level=L3)
    leave(pair)
    client = site_client(pair.school, pair.head)

    page = client.get("/data/data-sharing/").content.decode()
    assert "Past agreements" in page
    assert "(school left the group)" in page
    assert "Oak Ridge Trust" in page

    # The link in the request's email now says what happened and offers no decision.
    detail = client.get(f"/data/data-sharing/requests/{pending.pk}/").content.decode()
    assert "was withdrawn: the school left Oak Ridge Trust" in detail
    assert "(school left the group)" in detail
    assert "can no longer be approved" in detail
    assert f"/data/data-sharing/requests/{pending.pk}/approve/" not in detail
    follow = client.get(f"/data/data-sharing/requests/{pending.pk}/approve/", follow=True)
    assert "already withdrawn" in follow.content.decode()

    api = client.get("/api/v1/data-sharing/agreements/").json()
    assert [(a["state"], a["level"], a["end_reason"]) for a in api["results"]] == [
        ("ended", L3, SCHOOL_LEFT_THE_GROUP)
    ]
    assert api["results"][0]["ended_at"]
    requests = client.get("/api/v1/data-sharing/requests/").json()["results"]
    assert requests[0]["withdraw_reason"] == SCHOOL_LEFT_THE_GROUP


def test_the_group_sees_ended_agreements_as_history(pair, site_client):
    leave(pair)
    client = site_client(pair.trust, pair.sender.user)
    assert 'href="/data-sharing/ended/"' in client.get("/data-sharing/").content.decode()

    page = client.get("/data-sharing/ended/")
    assert page.status_code == 200
    html = page.content.decode()
    assert pair.school.name in html
    ended_on = Agreement.objects.get().ended_at.strftime("%-d %B %Y")
    assert f"Ended on {ended_on} (school left the group)" in html

    api = client.get("/api/v1/agreements/ended/").json()
    row = api["results"][0]
    assert (row["state"], row["level"], row["end_reason"]) == ("ended", L3, SCHOOL_LEFT_THE_GROUP)
    assert row["school"]["name"] == pair.school.name


def test_a_rejoined_schools_page_and_tab_say_its_agreement_ended(pair, site_client):
    leave(pair)
    membership_ensure(group=pair.trust, school=pair.school)
    pair.school.urn = "123456"
    pair.school.save(update_fields=["urn"])
    client = site_client(pair.trust, pair.sender.user)
    ended_on = Agreement.objects.get().ended_at

    page = client.get("/institutions/123456/").content.decode()
    assert "No agreement" in page
    assert f"Ended on {ended_on.strftime('%-d %B %Y')} (school left the group)" in page

    tab = client.get("/data-sharing/?tab=none").content.decode()
    assert "Agreement ended" in tab
    assert f"ended on {ended_on.strftime('%-d %b %Y')} (school left the group)" in tab

    api = client.get("/api/v1/agreements/?tab=none").json()
    assert api["results"][0]["level"] is None
    assert api["results"][0]["ended_agreement"]["reason"] == SCHOOL_LEFT_THE_GROUP


def test_the_ended_agreements_page_asks_the_same_queries_however_many(pair, site_client):
    client = site_client(pair.trust, pair.sender.user)
    leave(pair)
    assert client.get("/data-sharing/ended/").status_code == 200  # the session's first
    with CaptureQueriesContext(connection) as one:
        assert client.get("/data-sharing/ended/").status_code == 200
    for n in range(5):
        school = Institution.objects.create(kind="school", name=f"Extra {n}", slug=f"x{n}")
        membership_ensure(group=pair.trust, school=school)
        raise_to(pair.trust, school, L1)
        leave_school(pair.trust, school)
    with CaptureQueriesContext(connection) as six:
        assert client.get("/data-sharing/ended/").status_code == 200
    assert len(six) == len(one)
    assert Agreement.objects.ended().count() == 6


def test_the_openapi_schema_describes_ended_agreements(pair, site_client):
    schema = site_client(pair.trust, pair.sender.user).get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    ended = components["EndedAgreement"]["properties"]
    assert {"state", "level", "ended_at", "end_reason", "approved_at"} <= set(ended)
    school_side = components["SchoolSharingAgreement"]["properties"]
    assert {"state", "ended_at", "end_reason"} <= set(school_side)
    assert "ended_agreement" in components["AgreementRow"]["properties"]
    assert "withdraw_reason" in components["SchoolSharingRequest"]["properties"]
    operations = {
        operation["operationId"] for path in schema["paths"].values() for operation in path.values()
    }
    assert {"agreements_ended_list", "school_sharing_agreements_list"} <= operations


def leave_school(group, school):
    membership_end(
        memberships=GroupMembership.objects.filter(group=group, school=school),
        actor=system_actor(),
    )


# --- An approval racing with the school leaving ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_approval_committing_while_the_school_leaves_ends_with_it():
    """Deterministic: the approval holds its transaction (request locked, agreement made);
    the leaving waits for it on the request, then ends the agreement it made. No agreement
    in force is left behind for a school that is no longer a member."""
    import threading

    pair = make_pair()
    request = make_request(pair, level=L2)
    approved, release = threading.Event(), threading.Event()
    results = {}

    def approve():
        try:
            with transaction.atomic():
                agreement_request_approve(request=request, actor=actor_for(pair.head, pair.school))
                approved.set()
                release.wait(5)
        except Exception as error:
            results["approve"] = error
        finally:
            connection.close()

    def end():
        try:
            approved.wait(5)
            results["end"] = leave(pair)
        except Exception as error:
            results["end"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=approve), threading.Thread(target=end)]
    for thread in threads:
        thread.start()
    threads[1].join(0.5)
    assert threads[1].is_alive()  # the leaving waits for the approval's transaction
    release.set()
    for thread in threads:
        thread.join(10)
    assert "approve" not in results
    assert results["end"] == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED  # decided before the school left
    agreement = Agreement.objects.get()
    assert (agreement.level, agreement.end_reason) == (L2, SCHOOL_LEFT_THE_GROUP)
    assert not Agreement.objects.in_force().exists()
