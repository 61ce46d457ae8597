"""The schema's readiness for Citus with the school's site as the distribution column
(README, "Beyond one machine"): read from the models and the database's own catalogue.

Distributed by site: every table of pupil data (``matmis.personal_data``: the models that
point at a pupil, and the pupils) and the per-school figures. Everything else is a
reference table (copied to every node). Citus needs: the distribution column in every
primary key and unique constraint of a distributed table; foreign keys between
distributed tables that include it on both sides; and no foreign key from a reference
table into a distributed one. The surrogate ``id`` primary keys Django keeps on four of
these tables are the known, listed gaps (README): any new gap fails here.
"""

import pytest
from django.apps import apps
from django.db import connection

from matmis.personal_data import personal_data_tables

pytestmark = pytest.mark.django_db

# Per-school figures keyed by the school's site under another name.
FIGURES = {
    "mis_weeklyattendance": "site_id",
    "mis_attendancerollup": "school_id",
    "mis_rollupstate": "school_id",
}
# Django's surrogate primary keys (a single "id") on distributed tables: to become
# (id, site_id) before distribution (README, "Beyond one machine").
KNOWN_GAPS = {
    "mis_pupil_pkey",
    "mis_exclusion_pkey",
    "mis_outsideread_pkey",
    "mis_weeklyattendance_pkey",
    "mis_attendancerollup_pkey",
    # Registers, Common Transfer Files and transfers (issue 15), the same kind of gap.
    "mis_markamendment_pkey",
    "mis_ctfimport_pkey",
    "mis_pupiladdress_pkey",
    "mis_fsmperiod_pkey",
    "mis_senperiod_pkey",
    "mis_priorattendance_pkey",
    "mis_pupilarrival_pkey",
}


def distributed() -> dict[str, str]:
    return {table: "site_id" for table in personal_data_tables()} | FIGURES


def _constraints(kinds: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.conrelid::regclass::text, c.conname, c.contype,
                      c.confrelid::regclass::text,
                      ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                            ORDER BY k.i),
                      ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                            JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                            ORDER BY k.i)
               FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
               JOIN pg_namespace s ON s.oid = r.relnamespace
               WHERE s.nspname = 'public' AND NOT r.relispartition
                 AND c.contype = ANY(%s)""",
            [list(kinds)],
        )
        return cursor.fetchall()


def test_every_distributed_table_has_its_site_as_a_bigint_that_is_never_empty():
    tables = {model._meta.db_table for model in apps.get_models()}
    assert set(distributed()) <= tables
    with connection.cursor() as cursor:
        for table, column in distributed().items():
            cursor.execute(
                "SELECT data_type, is_nullable FROM information_schema.columns "
                "WHERE table_name = %s AND column_name = %s",
                [table, column],
            )
            assert cursor.fetchone() == ("bigint", "NO"), table


def test_every_key_of_a_distributed_table_includes_its_site_but_the_listed_gaps():
    tables = distributed()
    missing = {
        name
        for table, name, _kind, _target, columns, _ in _constraints("pu")
        if table in tables and tables[table] not in columns
    }
    assert missing == KNOWN_GAPS


def test_foreign_keys_between_distributed_tables_join_on_the_site():
    tables = distributed()
    for table, name, _kind, target, columns, target_columns in _constraints("f"):
        if table in tables and target in tables:
            assert tables[table] in columns, name
            position = columns.index(tables[table])
            assert target_columns[position] == tables[target], name


def test_no_reference_table_points_into_a_distributed_one():
    tables = distributed()
    pointing_in = [
        name
        for table, name, _kind, target, _columns, _ in _constraints("f")
        if table not in tables and target in tables
    ]
    assert pointing_in == []


def test_the_attendance_tables_are_keyed_by_site_first():
    keys = {
        table: columns
        for table, _name, kind, _target, columns, _ in _constraints("p")
        if table in ("mis_attendancemark", "mis_attendancechange", "mis_pupilweekattendance")
    }
    assert all(columns[0] == "site_id" for columns in keys.values()), keys
