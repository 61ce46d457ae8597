"""Bulk send of data sharing requests: the largest local authority (600 current schools)
against one school, through ``sharing.services.requests.agreement_requests_send``.

Data: the register's largest local authority, each school with 2 to 6 staff in the
recipient roles (Executive Head Teacher, Head Teacher, Deputy Head Teacher, Data Manager),
created in bulk once and kept in the bench database; a sender at the group holding
Institution: Administer Institution Details.

Measured side by side, taking turns: the service sending to all 600 schools ("all four
roles", level 1); the floor, the same rows written by set-based SQL through raw psycopg
(hand-written reads, then the service's own chained INSERT...SELECT); and the service
sending to one school; each inside a transaction that is rolled back afterwards, so every
run starts from no request at all. What is timed: the checks, the
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


# The floor's reads, hand-written: the chosen schools that are the group's current schools,
# those with a pending request, the agreements in force (locked, as the service locks them),
# and each school's staff in the recipient roles (each person once, under the first role of
# RECIPIENT_ROLES they hold), in the service's order.
FLOOR_READS_SQL = """
WITH members AS (
    SELECT i.id FROM institutions_institution i
    WHERE i.id = ANY (ARRAY(
            SELECT m.school_id FROM institutions_groupmembership m
            WHERE m.group_id = %(group)s AND m.left_on IS NULL))
      AND i.id = ANY (%(ids)s) AND i.status = ANY (%(statuses)s)
), pending AS (
    SELECT q.school_id FROM sharing_agreementrequest q
    WHERE q.group_id = %(group)s AND q.school_id IN (SELECT id FROM members)
      AND q.status = 'pending'
), locked AS (
    SELECT a.school_id, a.level FROM sharing_agreement a
    WHERE a.group_id = %(group)s AND a.school_id IN (SELECT id FROM members)
      AND a.ended_at IS NULL
    ORDER BY a.school_id FOR UPDATE
), people AS (
    SELECT DISTINCT ON (p.site_id, u.id) p.site_id, u.id AS user_id, u.full_name, u.email,
           r.name AS role_name, p.id AS profile_id,
           array_position(%(roles)s, lower(r.name)) AS rank
    FROM accounts_roleassignment a
    JOIN accounts_staffprofile p ON p.id = a.profile_id
    JOIN accounts_user u ON u.id = p.user_id
    JOIN accounts_businessrole r ON r.id = a.role_id
    WHERE p.site_id IN (SELECT id FROM members) AND p.is_active AND u.is_active
      AND u.email <> '' AND lower(r.name) = ANY (%(roles)s) AND r.site_id = p.site_id
      AND r.retired_at IS NULL
      AND (a.starts_on IS NULL OR a.starts_on <= %(today)s)
      AND (a.ends_on IS NULL OR a.ends_on >= %(today)s)
    ORDER BY p.site_id, u.id, array_position(%(roles)s, lower(r.name))
)
SELECT people.*, (SELECT count(*) FROM pending), (SELECT count(*) FROM locked)
FROM people
WHERE people.site_id NOT IN (SELECT school_id FROM pending)
  AND people.site_id NOT IN (SELECT school_id FROM locked)
ORDER BY people.site_id, people.rank, lower(coalesce(nullif(people.full_name, ''),
                                                   people.email))
"""


def _floor(bench: Bench, group, schools, sender, actor):
    """The same work through raw psycopg: the reads above, then the service's own write
    statement (``requests_write_statement``: requests, recipients, audit events and
    deliveries chained INSERT...SELECT from arrays), rolled back."""
    from django.utils import timezone

    from institutions.models import CURRENT_STATUSES
    from sharing.rules import RECIPIENT_ROLES
    from sharing.selectors import Recipient
    from sharing.services.requests import requests_write_statement

    by_id = {school.pk: school for school in schools}
    reads = {
        "group": group.pk,
        "ids": sorted(by_id),
        "statuses": [str(status) for status in CURRENT_STATUSES],
        "roles": [role.casefold() for role in RECIPIENT_ROLES],
        "today": timezone.localdate(),
    }
    connection = bench.connection()

    def run(targets=None) -> tuple[int, int]:
        chosen = schools if targets is None else targets
        parameters = {**reads, "ids": [school.pk for school in chosen]}
        with connection.transaction(force_rollback=True), connection.cursor() as cursor:
            recipients: dict[int, list] = {}
            for site_id, user_id, name, email, _role, profile_id, rank, *_ in cursor.execute(
                FLOOR_READS_SQL, parameters
            ):
                recipients.setdefault(site_id, []).append(
                    Recipient(user_id, name or email, email, RECIPIENT_ROLES[rank - 1], profile_id)
                )
            to_send = [by_id[pk] for pk in sorted(recipients)]
            statement, params = requests_write_statement(
                group=group,
                schools=to_send,
                recipients=recipients,
                level=1,
                sender=sender,
                actor=actor,
            )
            rows = cursor.execute(statement, params).fetchall()
        return len(rows), sum(len(keys) for _, _, keys in rows)

    return run


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
    goals={"bulk_send_vs_set_based_sql": "<= 1.3", "bulk_send_queries_600_vs_1": "= 1"},
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
    floor = _floor(bench, group, schools, sender, actor)
    written = floor()
    if written != (len(schools), recipients):
        raise AssertionError(
            f"the floor wrote {written[0]} requests and {written[1]} emails, the service "
            f"{len(schools)} and {recipients}"
        )
    send(one)

    sides = [("all", lambda: send(schools)), ("floor", floor), ("one", lambda: send(one))]
    runs: dict[str, list[float]] = {name: [] for name, _ in sides}
    for rep in range(REPEAT):
        turn = rep % len(sides)
        for name, action in sides[turn:] + sides[:turn]:  # taking turns
            gc.collect()
            start = time.perf_counter()
            action()
            runs[name].append(time.perf_counter() - start)
    all_time, one_time = median_of(runs["all"]), median_of(runs["one"])
    floor_time = median_of(runs["floor"])

    with CaptureQueriesContext(connection) as big:
        send(schools)
    with CaptureQueriesContext(connection) as small:
        send(one)

    bench.goal(
        "bulk_send_vs_set_based_sql",
        all_time.median / floor_time.median,
        detail=(
            f"agreement_requests_send to {len(schools)} schools {all_time}, in a rolled-back "
            "transaction, emails queued (delivery rows) but not sent; the floor through raw "
            f"psycopg {floor_time}: the same reads hand-written (members, pending, agreements "
            "locked, recipients) and the service's write statement, rolled back\n"
            f"1 school {one_time} ({all_time.median / one_time.median:.2f}x)"
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
