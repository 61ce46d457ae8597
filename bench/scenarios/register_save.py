"""Saving a register: one registration group of 35 pupils marked for a morning, through
``mis.services.registers.register_marks_save``, against raw SQL doing the same writes.

Data: a bench school (made once, kept) with a group of 35 pupils on roll and a teacher.

Measured side by side, taking turns, each run inside a transaction bound to the school and
rolled back afterwards, so every run starts from an unmarked register:

- the service: its checks (the group's pupils on roll, the codes), the lock on the marks
  already there, one INSERT of the 35 marks, the roll-up state marked as changed and one
  audit event (what a teacher's save costs, minus the HTTP request);
- the floor, through raw psycopg: the same three writes (the 35 marks in one INSERT by
  their natural key, the roll-up state upsert, the audit event), with the school bound.

Then the queries of a save for 5 pupils and for 35, counted: their ratio should be 1.
"""

import datetime
import gc
import time

from bench.harness import Bench, median_of, scenario

REPEAT = 15
SIZE = 35
SLUG = "bench-register-school"
TEACHER_EMAIL = "bench-register-teacher@example.test"
DAY = datetime.date(2026, 11, 25)

_FLOOR_SQL = (
    "SELECT set_config('matmis.site_id', %(site)s::text, true)",
    """INSERT INTO mis_attendancemark (site_id, pupil_id, date, session, code)
       SELECT %(site)s, v.pupil_id, %(date)s, 'AM', v.code
       FROM unnest(%(pupils)s::bigint[], %(codes)s::varchar[]) AS v(pupil_id, code)
       ON CONFLICT (site_id, pupil_id, date, session) DO NOTHING""",
    """INSERT INTO mis_rollupstate (school_id, changed_at) VALUES (%(site)s, now())
       ON CONFLICT (school_id) DO UPDATE SET changed_at = now()""",
    """INSERT INTO accounts_auditevent (site_id, actor_id, actor_email, action, target,
           detail, at)
       VALUES (%(site)s, %(actor)s, %(email)s, 'register_taken', 'Register', %(detail)s,
           now())""",
)


def _ensure_school():
    """The bench school, its group of SIZE pupils, a teacher (made once)."""
    from django.db import transaction

    from accounts.models import StaffProfile, User
    from institutions.models import Institution, InstitutionKind
    from matmis.tenancy import site_scope
    from mis.codes import upn_check_letter
    from mis.models import Pupil, RegistrationGroup, RegistrationGroupTeacher

    school, _ = Institution.objects.get_or_create(
        slug=SLUG, defaults={"kind": InstitutionKind.SCHOOL, "name": "Bench Register School"}
    )
    user, _ = User.objects.get_or_create(email=TEACHER_EMAIL, defaults={"full_name": "Bench"})
    profile, _ = StaffProfile.objects.get_or_create(site=school, user=user)
    with transaction.atomic(), site_scope(school.pk):
        group, _ = RegistrationGroup.objects.get_or_create(site=school, name="7B")
        RegistrationGroupTeacher.objects.get_or_create(site=school, group=group, profile=profile)
        have = Pupil.objects.filter(site=school, registration_group=group).count()
        if have < SIZE:
            Pupil.objects.bulk_create(
                Pupil(
                    site=school,
                    upn=upn_check_letter(f"9999999260{n:02d}") + f"9999999260{n:02d}",
                    legal_first_name=f"Pupil{n}",
                    legal_last_name=f"Bench{n:03d}",
                    date_of_birth=datetime.date(2014, 1, 1),
                    year_group=7,
                    enrolled_on=datetime.date(2026, 9, 1),
                    registration_group=group,
                )
                for n in range(have, SIZE)
            )
        # A run stopped half way may have left marks: the register starts unmarked.
        from mis.models import AttendanceMark

        AttendanceMark.objects.filter(site=school, date=DAY).delete()
        pupils = list(
            Pupil.objects.filter(site=school, registration_group=group)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return school, group, user, pupils


@scenario(
    "register_save",
    goals={"register_save_35_vs_sql": "<= 5", "register_save_queries_35_vs_5": "= 1"},
)
def register_save(bench: Bench) -> None:
    """Save a 35-pupil register through the service against raw SQL of the same writes."""
    try:
        from mis.services.registers import register_marks_save
    except ImportError:
        bench.skip("the register service is not there yet")
    import json

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from accounts.audit import Actor
    from matmis.tenancy import site_scope

    school, group, user, pupils = _ensure_school()
    if len(pupils) < SIZE:
        raise AssertionError(f"the bench group has {len(pupils)} pupils, not {SIZE}")
    pupils = pupils[:SIZE]
    actor = Actor(user=user, site=school)
    codes = ["/" if n % 7 else "N" for n in range(SIZE)]
    now = datetime.datetime(2026, 11, 25, 8, 40, tzinfo=datetime.UTC)

    def service(size=SIZE):
        with transaction.atomic(), site_scope(school.pk):
            saved = register_marks_save(
                group=group,
                day=DAY,
                session="AM",
                codes=dict(zip(pupils[:size], codes, strict=False)),
                actor=actor,
                now=now,
            )
            transaction.set_rollback(True)
        return saved

    raw = bench.connection()
    params = {
        "site": school.pk,
        "date": DAY,
        "pupils": pupils,
        "codes": codes,
        "actor": user.pk,
        "email": user.email,
        "detail": json.dumps({"group": group.pk, "added": SIZE}),
    }

    def floor():
        with raw.transaction(force_rollback=True), raw.cursor() as cursor:
            for statement in _FLOOR_SQL:
                cursor.execute(statement, params)

    saved = service()
    if saved.added != SIZE:
        raise AssertionError(f"the service added {saved.added} marks, not {SIZE}")
    floor()
    runs: dict[str, list[float]] = {"service": [], "floor": []}
    for rep in range(REPEAT):
        order = [("service", service), ("floor", floor)]
        for name, action in order if rep % 2 == 0 else order[::-1]:
            gc.collect()
            start = time.perf_counter()
            action()
            runs[name].append(time.perf_counter() - start)
    service_time, floor_time = median_of(runs["service"]), median_of(runs["floor"])
    with CaptureQueriesContext(connection) as big:
        service(SIZE)
    with CaptureQueriesContext(connection) as small:
        service(5)
    bench.goal(
        "register_save_35_vs_sql",
        service_time.median / floor_time.median,
        detail=(
            f"service {service_time}, raw SQL of the same writes {floor_time}; {SIZE} new "
            "marks, roll-up state, one audit event, in a rolled-back transaction"
        ),
    )
    bench.goal(
        "register_save_queries_35_vs_5",
        len(big) / len(small),
        unit="",
        detail=f"{len(big)} queries for {SIZE} pupils, {len(small)} for 5",
    )
