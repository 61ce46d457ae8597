"""The register import's write path: schools, groups, memberships, slugs, one transaction."""

import csv
import datetime
import io
import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from institutions.models import GroupMembership, Institution, InstitutionKind, RegisterImport
from institutions.register_import import (
    ProgressWriter,
    RegisterFileError,
    assign_slugs,
    dns_label,
    register_import,
    register_import_run,
)
from matmis.db_roles import owner_role
from tests.factories import InstitutionFactory, MembershipFactory, TrustFactory, UserFactory
from tests.institutions.test_gias_reader import SAMPLE, good_row, make_csv

pytestmark = pytest.mark.django_db

DAY_ONE = datetime.date(2026, 9, 1)
DAY_TWO = datetime.date(2026, 10, 1)


def run(data: bytes, today: datetime.date = DAY_ONE, **kwargs):
    return register_import(stream=io.BytesIO(data), today=today, **kwargs)


def memberships() -> list[tuple]:
    return sorted(
        GroupMembership.objects.values_list(
            "group__group_code", "group__kind", "school__urn", "joined_on", "left_on"
        )
    )


def current_groups_of(urn: str) -> dict[str, str]:
    return dict(
        GroupMembership.objects.filter(school__urn=urn, left_on__isnull=True).values_list(
            "group__kind", "group__group_code"
        )
    )


def make_header() -> list[str]:
    return next(csv.reader(io.StringIO(make_csv([]).decode("cp1252"))))


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(encoding="cp1252", newline="") as f:
        return list(csv.DictReader(f))


# --- The sample file ------------------------------------------------------------------------


def test_importing_the_sample_gives_the_counts_the_file_implies():
    rows = sample_rows()
    urns = {row["URN"] for row in rows}
    trusts = {row["Trusts (code)"] for row in rows if row["Trusts (code)"]}
    las = {row["LA (code)"] for row in rows if row["LA (name)"].lower() != "does not apply"}
    expected_memberships = sum(bool(row["Trusts (code)"]) for row in rows) + sum(
        row["LA (name)"].lower() != "does not apply" for row in rows
    )

    result = run(SAMPLE.read_bytes())

    assert result.encoding == "cp1252"
    assert (result.created, result.updated, result.unchanged) == (len(urns), 0, 0)
    assert result.rejected == []
    assert result.groups_created == len(trusts) + len(las)
    assert result.memberships_started == expected_memberships
    assert result.memberships_ended == 0
    assert Institution.objects.filter(kind=InstitutionKind.SCHOOL).count() == len(urns)
    assert (
        set(
            Institution.objects.filter(kind=InstitutionKind.TRUST).values_list(
                "group_code", flat=True
            )
        )
        == trusts
    )
    assert (
        set(
            Institution.objects.filter(kind=InstitutionKind.LOCAL_AUTHORITY).values_list(
                "group_code", flat=True
            )
        )
        == las
    )
    assert GroupMembership.objects.filter(left_on__isnull=True).count() == expected_memberships


def test_every_register_field_is_stored_from_its_column():
    row = next(r for r in sample_rows() if r["Trusts (code)"] and r["OpenDate"])
    run(SAMPLE.read_bytes())
    school = Institution.objects.get(urn=row["URN"])

    def day(text: str) -> datetime.date | None:
        return datetime.datetime.strptime(text, "%d-%m-%Y").date() if text else None

    def number(text: str) -> int | None:
        return int(text) if text and text != "SUPP" else None

    assert school.kind == InstitutionKind.SCHOOL
    assert school.name == " ".join(row["EstablishmentName"].split())
    assert (school.la_code, school.la_name) == (row["LA (code)"], row["LA (name)"])
    assert school.establishment_number == row["EstablishmentNumber"]
    assert school.type_name == row["TypeOfEstablishment (name)"]
    assert school.type_group == row["EstablishmentTypeGroup (name)"]
    assert school.status == row["EstablishmentStatus (name)"]
    assert school.phase == row["PhaseOfEducation (name)"]
    assert school.statutory_low_age == number(row["StatutoryLowAge"])
    assert school.statutory_high_age == number(row["StatutoryHighAge"])
    assert school.capacity == number(row["SchoolCapacity"])
    assert school.pupils == number(row["NumberOfPupils"])
    assert (school.trust_code, school.trust_name) == (row["Trusts (code)"], row["Trusts (name)"])
    assert school.open_date == day(row["OpenDate"])
    assert school.close_date == day(row["CloseDate"])
    assert school.ofsted_last_inspection == day(row["OfstedLastInsp"])
    assert school.ofsted_rating_published == row["OfstedRating (name)"]
    for field, column in [
        ("street", "Street"),
        ("locality", "Locality"),
        ("address3", "Address3"),
        ("town", "Town"),
        ("county", "County (name)"),
        ("postcode", "Postcode"),
        ("website", "SchoolWebsite"),
        ("telephone", "TelephoneNum"),
        ("head_title", "HeadTitle (name)"),
        ("head_first_name", "HeadFirstName"),
        ("head_last_name", "HeadLastName"),
        ("head_job_title", "HeadPreferredJobTitle"),
    ]:
        assert getattr(school, field) == row[column], field
    assert school.ofsted_report_card == {}
    assert school.group_code == ""


def test_suppressed_and_mixed_case_values_from_the_sample():
    rows = sample_rows()
    run(SAMPLE.read_bytes())
    suppressed = next(r["URN"] for r in rows if r["PercentageFSM"] == "SUPP")
    shouting = next(r["URN"] for r in rows if r["OfstedRating (name)"] == "Requires Improvement")
    assert Institution.objects.get(urn=suppressed).percentage_fsm is None
    school = Institution.objects.get(urn=shouting)
    assert school.ofsted_rating_published == "Requires Improvement"
    assert school.ofsted_grade == "requires_improvement"


def test_a_second_import_of_the_same_file_changes_nothing():
    data = SAMPLE.read_bytes()
    run(data)
    before = dict(Institution.objects.values_list("pk", "updated_at"))
    links_before = memberships()

    result = run(data, today=DAY_TWO)

    assert (result.created, result.updated, result.unchanged) == (0, 0, len(before) - 62)
    assert (result.groups_created, result.groups_updated) == (0, 0)
    assert (result.memberships_started, result.memberships_ended) == (0, 0)
    assert dict(Institution.objects.values_list("pk", "updated_at")) == before
    assert memberships() == links_before


# --- Changes between imports ---------------------------------------------------------------


def test_a_changed_field_updates_only_that_school():
    rows = [good_row(URN="100001"), good_row(URN="100002")]
    run(make_csv(rows))
    stamps = dict(Institution.objects.values_list("urn", "updated_at"))

    rows[1]["NumberOfPupils"] = "401"
    result = run(make_csv(rows), today=DAY_TWO)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    after = dict(Institution.objects.values_list("urn", "updated_at"))
    assert after["100001"] == stamps["100001"]
    assert after["100002"] > stamps["100002"]
    assert Institution.objects.get(urn="100002").pupils == 401


def test_a_school_that_changes_trust_leaves_the_old_one_and_joins_the_new():
    run(make_csv([good_row(**{"Trusts (code)": "3001", "Trusts (name)": "Oak Trust"})]))
    moved = good_row(**{"Trusts (code)": "3002", "Trusts (name)": "Elm Trust"})

    result = run(make_csv([moved]), today=DAY_TWO)

    assert (result.memberships_ended, result.memberships_started) == (1, 1)
    assert result.groups_created == 1
    assert current_groups_of("100001") == {"trust": "3002", "la": "380"}
    assert memberships() == [
        ("3001", "trust", "100001", DAY_ONE, DAY_TWO),
        ("3002", "trust", "100001", DAY_TWO, None),
        ("380", "la", "100001", DAY_ONE, None),
    ]
    school = Institution.objects.get(urn="100001")
    assert (school.trust_code, school.trust_name) == ("3002", "Elm Trust")


def test_a_school_whose_trust_code_becomes_blank_leaves_its_trust():
    run(make_csv([good_row()]))
    result = run(make_csv([good_row(**{"Trusts (code)": "", "Trusts (name)": ""})]), today=DAY_TWO)
    assert (result.memberships_ended, result.memberships_started) == (1, 0)
    assert current_groups_of("100001") == {"la": "380"}


def test_a_school_that_changes_local_authority_moves_too():
    run(make_csv([good_row()]))
    result = run(make_csv([good_row(**{"LA (code)": "383", "LA (name)": "Leeds"})]), today=DAY_TWO)
    assert (result.memberships_ended, result.memberships_started) == (1, 1)
    assert current_groups_of("100001") == {"trust": "3001", "la": "383"}
    assert ("380", "la", "100001", DAY_ONE, DAY_TWO) in memberships()


def test_a_school_that_rejoins_a_trust_gets_a_new_membership():
    run(make_csv([good_row()]))
    run(make_csv([good_row(**{"Trusts (code)": ""})]), today=DAY_TWO)
    result = run(make_csv([good_row()]), today=datetime.date(2026, 11, 1))
    assert result.memberships_started == 1
    assert GroupMembership.objects.filter(group__group_code="3001").count() == 2


def test_a_school_in_a_trust_the_register_does_not_know_leaves_it_by_the_register():
    school = InstitutionFactory(urn="100001")
    other_trust = TrustFactory(group_code="")
    MembershipFactory(group=other_trust, school=school, joined_on=DAY_TWO)
    run(make_csv([good_row()]), today=DAY_ONE)
    # left on the day it joined, never before it
    assert GroupMembership.objects.get(group=other_trust).left_on == DAY_TWO
    assert current_groups_of("100001") == {"trust": "3001", "la": "380"}


def test_a_group_is_renamed_when_the_register_renames_it_and_keeps_its_slug():
    run(make_csv([good_row()]))
    trust = Institution.objects.get(kind="trust", group_code="3001")
    renamed = good_row(**{"Trusts (name)": "Great Oak Trust", "LA (name)": "City of Bradford"})

    result = run(make_csv([renamed]), today=DAY_TWO)

    assert result.groups_updated == 2
    trust.refresh_from_db()
    assert (trust.name, trust.slug) == ("Great Oak Trust", "oak-trust")
    assert Institution.objects.get(kind="la", group_code="380").name == "City of Bradford"


def test_a_school_missing_from_a_later_file_is_never_deleted():
    run(make_csv([good_row(URN="100001"), good_row(URN="100002")]))
    links = memberships()
    result = run(make_csv([good_row(URN="100001")]), today=DAY_TWO)
    assert result.unchanged == 1
    assert Institution.objects.filter(urn="100002").exists()
    assert memberships() == links


def test_a_column_the_file_lacks_leaves_that_field_alone():
    run(make_csv([good_row(Locality="Oakfield")]))
    header = [c for c in make_header() if c != "Locality"]
    result = run(make_csv([good_row()], header=header), today=DAY_TWO)
    assert result.unchanged == 1
    assert Institution.objects.get(urn="100001").locality == "Oakfield"


def test_a_school_of_no_local_authority_joins_none():
    run(make_csv([good_row(**{"LA (code)": "000", "LA (name)": "Does not apply"})]))
    assert not Institution.objects.filter(kind="la").exists()
    assert current_groups_of("100001") == {"trust": "3001"}


# --- Slugs ---------------------------------------------------------------------------------


def test_slugs_are_dns_labels_made_from_names():
    assert dns_label("St Mary’s C of E (Annexe) & Nursery_School") == (
        "st-marys-c-of-e-annexe-nursery-school"
    )
    assert dns_label("Crème Brûlée Academy") == "creme-brulee-academy"
    assert dns_label("学校") == ""


def test_new_sites_get_unique_slugs_in_a_fixed_order():
    taken = {"oak-primary-school"}
    sites = [
        ("la", "380", "Bradford"),
        ("trust", "3001", "Bradford"),
        ("school", "100001", "Oak Primary School"),
        ("school", "100002", "Bradford"),
        ("school", "100003", "学校"),
        ("school", "100004", "A" * 80),
        ("school", "100005", "A" * 80),
    ]
    assert assign_slugs(sites, taken) == [
        ("la", "380", "bradford"),
        ("trust", "3001", "bradford-3001"),
        ("school", "100001", "oak-primary-school-100001"),
        ("school", "100002", "bradford-100002"),
        ("school", "100003", "school"),
        ("school", "100004", "a" * 56),
        ("school", "100005", "a" * 56 + "-100005"),
    ]
    assert all(len(slug) <= 63 for slug in taken)


def test_a_slug_taken_twice_over_gets_a_number():
    slugs = assign_slugs(
        [("la", "380", "Bradford")], {"bradford", "bradford-la-380", "bradford-la-380-2"}
    )
    assert slugs == [("la", "380", "bradford-la-380-3")]


def test_imported_sites_get_slugs_that_never_change():
    InstitutionFactory(name="Taken", slug="oak-primary-school")
    run(make_csv([good_row(EstablishmentName="Oak Primary School")]))
    assert Institution.objects.get(urn="100001").slug == "oak-primary-school-100001"
    assert Institution.objects.get(kind="trust").slug == "oak-trust"
    assert Institution.objects.get(kind="la").slug == "bradford"

    run(make_csv([good_row(EstablishmentName="Elm Primary School")]), today=DAY_TWO)
    school = Institution.objects.get(urn="100001")
    assert (school.name, school.slug) == ("Elm Primary School", "oak-primary-school-100001")


# --- Bad input -------------------------------------------------------------------------------


def test_bad_rows_are_reported_by_line_and_the_good_rows_import():
    rows = [
        good_row(URN="100001"),
        good_row(URN="1234"),
        good_row(URN="100003", OpenDate="31-02-2020"),
        good_row(URN="100004", NumberOfPupils="many"),
        good_row(URN="100005"),
    ]
    data = make_csv(rows) + b"100006,380\r\n"

    result = run(data)

    assert (result.created, result.unchanged) == (2, 0)
    assert [(r.line, r.urn) for r in result.rejected] == [
        (3, "1234"),
        (4, "100003"),
        (5, "100004"),
        (7, "100006"),
    ]
    assert set(Institution.objects.filter(kind="school").values_list("urn", flat=True)) == {
        "100001",
        "100005",
    }
    assert GroupMembership.objects.count() == 4


@pytest.mark.parametrize(
    ("encoding", "charset", "bad_bytes"),
    [("utf-8", "UTF-8", b"\xff\xfe"), ("cp1252", "cp1252", b"\x9d")],
    ids=["utf8", "cp1252"],
)
def test_undecodable_rows_are_rejected_in_both_encodings(encoding, charset, bad_bytes):
    rows = [good_row(URN="100001", Town="Crème"), good_row(URN="100002", Town="Leeds")]
    data = make_csv(rows, encoding=encoding).replace(b"Leeds", b"Le" + bad_bytes + b"ds")
    result = run(data)
    assert result.encoding == encoding
    assert result.created == 1
    assert [(r.line, r.urn) for r in result.rejected] == [(3, "100002")]
    assert f"not valid {charset}" in result.rejected[0].reason
    assert not Institution.objects.filter(urn="100002").exists()


def test_a_utf8_file_with_a_byte_order_mark_imports():
    data = b"\xef\xbb\xbf" + make_csv([good_row(EstablishmentName="St Mary’s")], encoding="utf-8")
    result = run(data)
    assert (result.encoding, result.created) == ("utf-8-sig", 1)
    assert Institution.objects.get(urn="100001").name == "St Mary’s"


def test_a_file_missing_key_columns_is_refused_whole():
    header = [c for c in make_header() if c != "URN"]
    with pytest.raises(RegisterFileError, match="missing these columns: URN"):
        run(make_csv([good_row()], header=header))
    assert not Institution.objects.exists()


def test_a_failure_part_way_leaves_no_rows_at_all():
    rows = [good_row(URN=f"{300000 + n}") for n in range(1200)]

    def fail(rows_read: int) -> None:
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        run(make_csv(rows), progress=fail)
    assert not Institution.objects.exists()
    assert not GroupMembership.objects.exists()
    # The staging tables went with the rollback: the next import works.
    assert run(make_csv(rows)).created == 1200


def test_progress_is_reported_every_thousand_rows_and_at_the_end():
    seen: list[int] = []
    run(make_csv([good_row(URN=f"{300000 + n}") for n in range(2500)]), progress=seen.append)
    assert seen == [1000, 2000, 2500]


def test_the_number_of_queries_does_not_grow_with_the_file():
    def queries(size: int, first: int) -> int:
        rows = [
            good_row(
                URN=f"{first + n}",
                EstablishmentName=f"School {first + n}",
                **{"Trusts (code)": f"{first + n % 7}", "LA (code)": f"{300 + n % 5}"},
            )
            for n in range(size)
        ]
        with CaptureQueriesContext(connection) as captured:
            result = run(make_csv(rows))
        assert result.created == size
        return len(captured)

    assert queries(10, 400000) == queries(200, 500000)


# --- Runs of an uploaded file ---------------------------------------------------------------


def upload_record(tmp_path, settings, data: bytes) -> RegisterImport:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    return RegisterImport.objects.create(
        uploaded_by=UserFactory(is_staff=True),
        file=SimpleUploadedFile("edubasealldata.csv", data),
        original_name="edubasealldata.csv",
        size=len(data),
    )


def test_a_run_records_the_outcome(tmp_path, settings):
    rows = [good_row(URN="100001"), good_row(URN="bad")]
    record = upload_record(tmp_path, settings, make_csv(rows))

    register_import_run(register_import_id=record.pk)

    record.refresh_from_db()
    assert record.status == RegisterImport.State.DONE
    assert (record.rows_read, record.schools_created, record.rows_rejected) == (2, 1, 1)
    assert record.rejections == [{"line": 3, "urn": "bad", "reason": "URN “bad” is not 6 digits"}]
    assert record.started_at and record.finished_at
    # A repeat of the task does nothing.
    assert register_import_run(register_import_id=record.pk) is None


def test_a_run_of_a_file_that_cannot_be_read_fails_with_the_reason(tmp_path, settings):
    record = upload_record(tmp_path, settings, b"name,age\r\nAlice,30\r\n")
    register_import_run(register_import_id=record.pk)
    record.refresh_from_db()
    assert record.status == RegisterImport.State.FAILED
    assert "does not look like" in record.error
    assert not Institution.objects.exists()


def test_only_the_first_rejections_are_kept(tmp_path, settings):
    rows = [good_row(URN=f"x{n}") for n in range(RegisterImport.REJECTIONS_KEPT + 3)]
    record = upload_record(tmp_path, settings, make_csv(rows))
    register_import_run(register_import_id=record.pk)
    record.refresh_from_db()
    assert record.rows_rejected == RegisterImport.REJECTIONS_KEPT + 3
    assert len(record.rejections) == RegisterImport.REJECTIONS_KEPT


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_to_others_while_the_import_transaction_is_open():
    from django.db import transaction

    record = RegisterImport.objects.create(
        file="register-imports/x.csv", original_name="x.csv", size=1
    )
    writer = ProgressWriter(record.pk)
    seen = []

    def look() -> None:  # another connection, like the progress page's
        seen.append(RegisterImport.objects.get(pk=record.pk).rows_read)
        connections.close_all()

    try:
        with transaction.atomic():
            Institution.objects.create(kind="trust", name="Held open", slug="held-open")
            writer(4000)
            thread = threading.Thread(target=look)
            thread.start()
            thread.join()
    finally:
        writer.close()
    assert seen == [4000]


@pytest.mark.django_db(transaction=True)
def test_progress_gives_up_quietly_when_the_row_is_held(monkeypatch):
    from django.db import transaction

    monkeypatch.setattr(ProgressWriter, "LOCK_TIMEOUT", "50ms")
    record = RegisterImport.objects.create(
        file="register-imports/x.csv", original_name="x.csv", size=1
    )
    writer = ProgressWriter(record.pk)
    try:
        with transaction.atomic():
            RegisterImport.objects.select_for_update().get(pk=record.pk)
            writer(1000)  # would wait for ever without the lock timeout
            writer(2000)
    finally:
        writer.close()
    record.refresh_from_db()
    assert record.rows_read == 0


# --- Plans that do not depend on statistics, and the first-import path -----------------------


def many_rows(size: int, first: int) -> list[dict[str, str]]:
    return [
        good_row(
            URN=f"{first + n}",
            EstablishmentName=f"School {first + n}",
            **{"Trusts (code)": f"{3000 + n % 7}", "LA (code)": f"{300 + n % 5}"},
        )
        for n in range(size)
    ]


def test_stale_statistics_change_neither_the_queries_nor_the_membership_plan():
    # As after a fresh migrate: the tables analysed while empty, then filled by an import.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE institutions_institution")
        cursor.execute("ANALYZE institutions_groupmembership")
    plans: list[str] = []

    def explain_membership_inserts(execute, sql, params, many, context):
        if sql.lstrip().startswith("INSERT INTO institutions_groupmembership"):
            raw = context["cursor"]
            raw.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(line for (line,) in raw.fetchall()))
        return execute(sql, params, many, context)

    with (
        CaptureQueriesContext(connection) as stale,
        connection.execute_wrapper(explain_membership_inserts),
    ):
        first = run(make_csv(many_rows(300, 400000)))
    with CaptureQueriesContext(connection) as fresh:
        second = run(make_csv(many_rows(300, 500000)))

    assert (first.created, first.memberships_started) == (300, 600)
    assert (second.created, second.memberships_started) == (300, 600)
    imported = [q for q in stale.captured_queries if not q["sql"].startswith("EXPLAIN")]
    assert len(imported) == len(fresh)
    # The memberships are never scanned to decide what is new: the unique index decides,
    # so no plan can turn into a nested loop over them.
    [plan] = plans
    assert "Scan on institutions_groupmembership" not in plan


def catalogue_definitions() -> list[str]:
    """The memberships' foreign keys' definitions, as Postgres gives them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'institutions_groupmembership'::regclass AND contype = 'f' "
            "ORDER BY conname"
        )
        return [row[0] for row in cursor.fetchall()]


def test_names_have_no_trigram_index():
    """Every search is within a group, planned from its memberships by primary key: an
    index over the national register's names would never be used (and would cost every
    first import the time to build it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'institutions_institution' "
            "AND indexdef LIKE '%gin_trgm_ops%'"
        )
        assert cursor.fetchall() == []


def test_the_applications_role_never_changes_the_schema(monkeypatch):
    from institutions import register_import as module

    monkeypatch.setattr(module, "BULK_LOAD_FROM", 10)
    with CaptureQueriesContext(connection) as captured:
        assert run(make_csv(many_rows(30, 600000))).created == 30
    assert not any("DROP CONSTRAINT" in query["sql"] for query in captured.captured_queries)


def test_a_first_import_checks_after_loading_and_puts_everything_back(monkeypatch):
    from institutions import register_import as module

    monkeypatch.setattr(module, "BULK_LOAD_FROM", 10)
    before = catalogue_definitions()
    assert len(before) == 2

    # As the tables' owner (manage.py import_gias): the application's role may not.
    with CaptureQueriesContext(connection) as captured, owner_role():
        result = run(make_csv(many_rows(50, 400000)))

    statements = [query["sql"] for query in captured.captured_queries]
    assert any("DROP CONSTRAINT" in sql for sql in statements)
    assert catalogue_definitions() == before
    assert (result.created, result.memberships_started) == (50, 100)
    assert GroupMembership.objects.filter(left_on__isnull=True).count() == 100
    assert Institution.objects.filter(search_name__trigram_word_similar="schol 400007").exists()

    # A later import that adds fewer sites than there are leaves them in place.
    with CaptureQueriesContext(connection) as later, owner_role():
        assert run(make_csv(many_rows(20, 500000))).created == 20
    assert not any("DROP CONSTRAINT" in query["sql"] for query in later.captured_queries)
    assert catalogue_definitions() == before
