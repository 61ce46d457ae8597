"""Bulk send of data sharing requests: the largest local authority (600 current schools)
against one school, through ``sharing.services.requests.agreement_requests_send``.

Data: the register's largest local authority, each school with 2 to 6 staff in the
recipient roles (Executive Head Teacher, Head Teacher, Deputy Head Teacher, Data Manager),
created in bulk once and kept in the bench database; a sender at the group holding
Institution: Administer Institution Details.

Measured side by side, the two taking turns: the service sending to all 600 schools ("all
four roles", level 1), and to one of them, each inside a transaction that is rolled back
afterwards, so every run starts from no request at all. What is timed: the checks, the
locks, the requests, recipients and audit events, and the queueing of the emails (one
``EmailDelivery`` row per recipient, queued in the outbox in one statement in the same
transaction). What is not: sending the mail, which runs after commit in the Celery task
(the rollback means it never starts here; the ``email_drain`` scenario measures it).

Then the queries of each, counted with ``CaptureQueriesContext``: their ratio should be 1.
"""

import gc
import time

from bench.harness import Bench, median_of, scenario

REPEAT = 7
STATE_KEY = "bulk_send_staff"
SENDER_EMAIL = "bench-sender@example.test"
ROLES = ("Executive Head Teacher", "Head Teacher", "Deputy Head Teacher", "Data Manager")


def _ensure_staff(bench: Bench, group, school_ids: list[int]) -> int:
    """2 to 6 staff in the recipient roles at each school (bulk, once). Returns how many
    people in all."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import BusinessRole, RoleAssignment, StaffProfile, User

    unusable = make_password(None)  # these people never sign in
    marker = f"{group.group_code}:{len(school_ids)}"
    planned = sum(2 + position % 5 for position in range(len(school_ids)))
    if bench.state(STATE_KEY) == marker:
        present = StaffProfile.objects.filter(
            site_id__in=school_ids, user__email__startswith="bench-staff-"
        ).count()
        if present == planned:
            return present
    bench.progress(f"creating recipient-role staff at {len(school_ids)} schools")
    User.objects.filter(email__startswith="bench-staff-").delete()
    BusinessRole.objects.filter(site_id__in=school_ids, name__in=ROLES).delete()
    roles = BusinessRole.objects.bulk_create(
        BusinessRole(site_id=school_id, name=name) for school_id in school_ids for name in ROLES
    )
    role_of = {(role.site_id, role.name): role for role in roles}
    plan = []  # (school id, person number, role name)
    for position, school_id in enumerate(school_ids):
        people = 2 + position % 5  # 2 to 6
        for n in range(people):
            plan.append((school_id, n, ROLES[(position + n) % len(ROLES)]))
    users = User.objects.bulk_create(
        User(
            email=f"bench-staff-{school_id}-{n}@example.test",
            full_name=f"Staff {n} of {school_id}",
            password=unusable,
        )
        for school_id, n, _ in plan
    )
    profiles = StaffProfile.objects.bulk_create(
        StaffProfile(site_id=school_id, user=user)
        for (school_id, _, _), user in zip(plan, users, strict=True)
    )
    RoleAssignment.objects.bulk_create(
        RoleAssignment(site_id=school_id, profile=profile, role=role_of[(school_id, role)])
        for (school_id, _, role), profile in zip(plan, profiles, strict=True)
    )
    with bench.connection().cursor() as cursor:
        for table in (
            "accounts_user",
            "accounts_staffprofile",
            "accounts_businessrole",
            "accounts_roleassignment",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    bench.set_state(STATE_KEY, marker)
    return len(plan)


def _sender(group):
    from accounts.models import BusinessRole, RoleAssignment, RoleGrant, StaffProfile, User
    from accounts.permissions import INSTITUTION_DETAILS, Access

    user, _ = User.objects.get_or_create(email=SENDER_EMAIL, defaults={"full_name": "Bench"})
    profile, _ = StaffProfile.objects.get_or_create(site=group, user=user)
    role, _ = BusinessRole.objects.get_or_create(site=group, name="Bench sender")
    RoleGrant.objects.get_or_create(
        site=group,
        role=role,
        code=INSTITUTION_DETAILS,
        in_school=False,
        defaults={"access": int(Access.ADMINISTER)},
    )
    RoleAssignment.objects.get_or_create(site=group, profile=profile, role=role)
    return profile


@scenario(
    "bulk_send",
    goals={"bulk_send_600_vs_1": "<= 3", "bulk_send_queries_600_vs_1": "= 1"},
)
def bulk_send(bench: Bench) -> None:
    """Send requests to the 600 schools of the largest local authority against one."""
    try:
        from sharing.services.requests import agreement_requests_send
    except ImportError:
        bench.skip("the bulk send service is not there yet")
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from accounts.audit import Actor
    from institutions.models import Institution
    from institutions.selectors import current_schools
    from sharing.models import AgreementRequest

    bench.ensure_register_imported(bench.register_file())
    plan_group = bench.register_plan().largest_local_authority()
    group = Institution.objects.get(kind="la", group_code=plan_group.code)
    schools = list(current_schools(group=group).order_by("urn"))
    people = _ensure_staff(bench, group, [school.pk for school in schools])
    bench.require(
        len(schools) == plan_group.current_schools and people >= 2 * len(schools),
        f"{group.name}: {len(schools)} schools and {people} recipient-role staff, not "
        f"{plan_group.current_schools} schools with 2 to 6 each",
    )
    from matmis.db_roles import owner_role

    with owner_role():  # a previous run's leftovers: the application never deletes requests
        AgreementRequest.objects.filter(group=group).delete()
    sender = _sender(group)
    actor = Actor(user=sender.user, site=group)

    def send(targets):
        with transaction.atomic():
            outcome = agreement_requests_send(
                group=group,
                schools=targets,
                sender=sender,
                recipient_roles=["all"],
                level=1,
                actor=actor,
            )
            transaction.set_rollback(True)  # every run starts from no request
        return outcome

    # Every timed send is rolled back: the rows it wrote stay behind as dead tuples.
    bench.vacuum(
        "sharing_agreementrequest",
        "sharing_requestrecipient",
        "accounts_auditevent",
        "notifications_emaildelivery",
    )
    one = schools[:1]
    outcome = send(schools)
    if len(outcome.done) != len(schools):
        raise AssertionError(f"only {len(outcome.done)} of {len(schools)} schools were sent")
    recipients = sum(len(row.recipients) for row in outcome.done)
    send(one)

    runs: dict[str, list[float]] = {"all": [], "one": []}
    for rep in range(REPEAT):
        order = [("all", schools), ("one", one)]
        for name, targets in order if rep % 2 == 0 else order[::-1]:
            gc.collect()
            start = time.perf_counter()
            send(targets)
            runs[name].append(time.perf_counter() - start)
    all_time, one_time = median_of(runs["all"]), median_of(runs["one"])

    with CaptureQueriesContext(connection) as big:
        send(schools)
    with CaptureQueriesContext(connection) as small:
        send(one)

    bench.goal(
        "bulk_send_600_vs_1",
        all_time.median / one_time.median,
        detail=(
            f"{len(schools)} schools {all_time}, 1 school {one_time}; wall time of "
            "agreement_requests_send in a rolled-back transaction, emails queued (delivery "
            "rows) but not sent"
        ),
    )
    bench.detail(
        f"{len(schools)} requests to {recipients:,} recipients ({people:,} staff in the "
        f"recipient roles), {len(schools) * 2:,} audit events"
    )
    bench.goal(
        "bulk_send_queries_600_vs_1",
        len(big) / len(small),
        unit="",
        detail=f"{len(big)} queries for {len(schools)} schools, {len(small)} for 1",
    )
