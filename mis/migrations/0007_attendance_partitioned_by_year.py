"""Attendance marks at national scale: keyed (site, date, session, pupil), partitioned by
academic year, every change noted by triggers for the incremental roll-up refresh.

1. ``mis_attendancemark`` becomes a table partitioned by RANGE (date), one partition per
   academic year (1 September to 1 September), made by the SECURITY DEFINER function
   ``mis_attendancemark_partitions_ensure(from, through)`` (the application may call it:
   ``matmis.db_roles.APP_FUNCTIONS``; the beat job ``mis.attendance_partitions_ensure``
   makes the next year's ahead of time). Its primary key is (site_id, date, session,
   pupil_id); (pupil_id, site_id) still references the pupil's (id, site_id); the known
   code check and the generated category are the old table's own (read from it, so they
   cannot drift). Row-Level Security is enabled and forced on the parent AND on every
   partition (the application is granted only the parent; a partition read directly would
   otherwise skip the parent's policy).
2. The marks move over with one INSERT ... SELECT into the bare partitions, in the new
   key's order (a school's day is then a few heap pages, as new registers will be), then the
   primary key is built (one sort per partition instead of 11 million index insertions),
   then the foreign key is validated. The old table's Row-Level Security is lifted first
   (NO FORCE), so a tables' owner without BYPASSRLS reads every site's rows: forced, it
   would see none and move nothing. The counts are compared before the old table goes.
3. ``mis_attendancechange`` (the marks written since a school's last refresh, as signed
   sessions per pupil, day and category) is filled by three statement-level triggers on the
   parent with transition tables: every writer is covered (the ORM, the register service,
   amendments, deletions, ``COPY``), a whole statement at a time.
4. ``mis_pupilweekattendance`` (each pupil's sessions per week and term) is seeded from the
   moved marks dated up to today; marks dated later go to the change table (they wait for
   their day). Every school's weeks are recounted from it, its state marks it folded
   through today, and every school is due.

The reverse moves the marks back into an unpartitioned table with the old key.
"""

import django.db.models.deletion
from django.db import migrations, models

from matmis.personal_data import disable_sql, enable_sql
from matmis.tenancy import SITE_SETTING

MARKS = "mis_attendancemark"
OLD = "mis_attendancemark_unpartitioned"
_SITE_MATCHES = f"site_id = nullif(current_setting('{SITE_SETTING}', true), '')::bigint"

# The first day of a date's term (mis.calendar.term_of) and of its week (Monday): date
# arithmetic, which no session time zone can move.
TERM_START = """(CASE WHEN extract(month FROM {d}) >= 9 THEN make_date(extract(year FROM {d})::int, 9, 1)
      WHEN extract(month FROM {d}) <= 3 THEN make_date(extract(year FROM {d})::int, 1, 1)
      ELSE make_date(extract(year FROM {d})::int, 4, 1) END)"""
WEEK_START = "({d} - (extract(isodow FROM {d})::int - 1))"

PARTITIONS_FUNCTION = f"""
CREATE FUNCTION mis_attendancemark_partitions_ensure(from_day date, through date)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first_year integer;
    last_year integer;
    year integer;
    name text;
    made integer := 0;
BEGIN
    IF from_day IS NULL OR through IS NULL OR through < from_day
       OR through > current_date + 3 * 366 OR from_day < date '1990-09-01' THEN
        RAISE EXCEPTION 'Attendance partitions from % through % refused.', from_day, through
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    first_year := extract(year FROM from_day)::int - (extract(month FROM from_day) < 9)::int;
    last_year := extract(year FROM through)::int - (extract(month FROM through) < 9)::int;
    FOR year IN first_year .. last_year LOOP
        name := format('{MARKS}_y%s', year);
        CONTINUE WHEN to_regclass('public.' || name) IS NOT NULL;
        EXECUTE format(
            'CREATE TABLE public.%I PARTITION OF public.{MARKS} FOR VALUES FROM (%L) TO (%L)',
            name, make_date(year, 9, 1), make_date(year + 1, 9, 1));
        EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format(
            'CREATE POLICY site_isolation ON public.%I USING ({_SITE_MATCHES.replace("'", "''")}) '
            'WITH CHECK ({_SITE_MATCHES.replace("'", "''")})', name);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;
REVOKE ALL ON FUNCTION mis_attendancemark_partitions_ensure(date, date) FROM PUBLIC;
"""

# One function for the three triggers: each statement's marks, netted per pupil, day and
# category, added to the change table in key order (two statements never wait on each
# other in opposite orders).
NOTE_CHANGES_FUNCTION = f"""
CREATE FUNCTION mis_attendancemark_note_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.mis_attendancechange AS c (site_id, pupil_id, date, category, sessions)
        SELECT site_id, pupil_id, date, category, count(*) FROM added
        GROUP BY site_id, pupil_id, date, category ORDER BY site_id, pupil_id, date, category
        ON CONFLICT (site_id, pupil_id, date, category)
        DO UPDATE SET sessions = c.sessions + EXCLUDED.sessions;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO public.mis_attendancechange AS c (site_id, pupil_id, date, category, sessions)
        SELECT site_id, pupil_id, date, category, -count(*) FROM removed
        GROUP BY site_id, pupil_id, date, category ORDER BY site_id, pupil_id, date, category
        ON CONFLICT (site_id, pupil_id, date, category)
        DO UPDATE SET sessions = c.sessions + EXCLUDED.sessions;
    ELSE
        INSERT INTO public.mis_attendancechange AS c (site_id, pupil_id, date, category, sessions)
        SELECT site_id, pupil_id, date, category, sum(n) FROM (
            SELECT site_id, pupil_id, date, category, -1 AS n FROM before_update
            UNION ALL
            SELECT site_id, pupil_id, date, category, 1 FROM after_update
        ) changed
        GROUP BY site_id, pupil_id, date, category HAVING sum(n) <> 0
        ORDER BY site_id, pupil_id, date, category
        ON CONFLICT (site_id, pupil_id, date, category)
        DO UPDATE SET sessions = c.sessions + EXCLUDED.sessions;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {MARKS}_note_inserts AFTER INSERT ON {MARKS}
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION mis_attendancemark_note_changes();
CREATE TRIGGER {MARKS}_note_updates AFTER UPDATE ON {MARKS}
    REFERENCING OLD TABLE AS before_update NEW TABLE AS after_update FOR EACH STATEMENT
    EXECUTE FUNCTION mis_attendancemark_note_changes();
CREATE TRIGGER {MARKS}_note_deletes AFTER DELETE ON {MARKS}
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION mis_attendancemark_note_changes();
"""

DROP_NOTE_CHANGES = f"""
DROP TRIGGER IF EXISTS {MARKS}_note_inserts ON {MARKS};
DROP TRIGGER IF EXISTS {MARKS}_note_updates ON {MARKS};
DROP TRIGGER IF EXISTS {MARKS}_note_deletes ON {MARKS};
DROP FUNCTION IF EXISTS mis_attendancemark_note_changes();
"""


def _scalar(cursor, query, params=None):
    cursor.execute(query, params)
    return cursor.fetchone()[0]


def _definitions(cursor, table: str) -> tuple[str, str]:
    """The generated category's expression and the known-code check of ``table``."""
    category = _scalar(
        cursor,
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d "
        "JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
        "WHERE d.adrelid = %s::regclass AND a.attname = 'category'",
        [table],
    )
    check = _scalar(
        cursor,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND conname = 'attendance_mark_known_code'",
        [table],
    )
    return category, check


def partition_marks(apps, schema_editor):
    cursor = schema_editor.connection.cursor()
    category, check = _definitions(cursor, MARKS)
    cursor.execute(f"""
        {disable_sql(MARKS)}
        ALTER TABLE {MARKS} RENAME TO {OLD};
        ALTER TABLE {OLD} RENAME CONSTRAINT {MARKS}_pkey TO {OLD}_pkey;
        CREATE TABLE {MARKS} (
            site_id bigint NOT NULL,
            pupil_id bigint NOT NULL,
            date date NOT NULL,
            category smallint GENERATED ALWAYS AS ({category}) STORED,
            session varchar(2) NOT NULL,
            code varchar(2) NOT NULL,
            CONSTRAINT attendance_mark_known_code {check}
        ) PARTITION BY RANGE (date);
    """)  # noqa: S608 - the old table's own definitions
    cursor.execute(PARTITIONS_FUNCTION)
    first, moved = (
        _scalar(cursor, f"SELECT min(date) FROM {OLD}"),
        _scalar(cursor, f"SELECT count(*) FROM {OLD}"),
    )
    cursor.execute(
        "SELECT mis_attendancemark_partitions_ensure("
        "  least(%s::date, date '2015-09-01'), "
        "  (greatest(current_date, %s::date) + interval '1 year')::date)",
        [first, _scalar(cursor, f"SELECT max(date) FROM {OLD}")],
    )
    cursor.execute(f"""
        INSERT INTO {MARKS} (site_id, pupil_id, date, session, code)
        SELECT site_id, pupil_id, date, session, code FROM {OLD}
        ORDER BY site_id, date, session, pupil_id;
    """)  # noqa: S608
    arrived = _scalar(cursor, f"SELECT count(*) FROM {MARKS}")
    if arrived != moved:
        raise RuntimeError(f"Moving the attendance marks lost rows: {moved} -> {arrived}.")
    cursor.execute(f"""
        ALTER TABLE {MARKS} ADD CONSTRAINT {MARKS}_pkey
            PRIMARY KEY (site_id, date, session, pupil_id);
        ALTER TABLE {MARKS} ADD CONSTRAINT {MARKS}_pupil_of_site
            FOREIGN KEY (pupil_id, site_id) REFERENCES mis_pupil (id, site_id)
            ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED;
        DROP TABLE {OLD};
        {enable_sql(MARKS)}
    """)
    _seed_weekly_totals(cursor)
    cursor.execute(NOTE_CHANGES_FUNCTION)


def _seed_weekly_totals(cursor):
    """Each pupil's weeks from the moved marks up to today; later-dated marks wait in the
    change table; every school's weeks recounted; every school folded through today and
    due."""
    cursor.execute(f"""
        INSERT INTO mis_pupilweekattendance (
            site_id, pupil_id, week_start, term_start, present, authorised, unauthorised,
            not_possible)
        SELECT site_id, pupil_id, {WEEK_START.format(d="date")}, {TERM_START.format(d="date")},
               count(*) FILTER (WHERE category = 1), count(*) FILTER (WHERE category = 2),
               count(*) FILTER (WHERE category = 3), count(*) FILTER (WHERE category = 4)
        FROM {MARKS} WHERE date <= current_date
        GROUP BY 1, 2, 3, 4;

        INSERT INTO mis_attendancechange (site_id, pupil_id, date, category, sessions)
        SELECT site_id, pupil_id, date, category, count(*) FROM {MARKS}
        WHERE date > current_date GROUP BY 1, 2, 3, 4;

        ALTER TABLE mis_weeklyattendance NO FORCE ROW LEVEL SECURITY;
        DELETE FROM mis_weeklyattendance;
        INSERT INTO mis_weeklyattendance (
            site_id, week_start, year_group, possible_sessions, present_sessions,
            authorised_sessions, unauthorised_sessions)
        SELECT w.site_id, w.week_start, p.year_group,
               sum(w.present + w.authorised + w.unauthorised), sum(w.present),
               sum(w.authorised), sum(w.unauthorised)
        FROM mis_pupilweekattendance w
        JOIN mis_pupil p ON p.id = w.pupil_id AND p.site_id = w.site_id
        GROUP BY 1, 2, 3
        HAVING sum(w.present + w.authorised + w.unauthorised) > 0;
        SET CONSTRAINTS ALL IMMEDIATE;  -- no deferred check may be pending at ALTER TABLE
        ALTER TABLE mis_weeklyattendance FORCE ROW LEVEL SECURITY;
        SET CONSTRAINTS ALL DEFERRED;

        INSERT INTO mis_rollupstate (school_id, changed_at)
        SELECT DISTINCT site_id, now() FROM mis_pupilweekattendance
        ON CONFLICT (school_id) DO NOTHING;
        UPDATE mis_rollupstate SET changed_at = now(), folded_through = current_date;
    """)  # noqa: S608


def unpartition_marks(apps, schema_editor):
    cursor = schema_editor.connection.cursor()
    category, check = _definitions(cursor, MARKS)
    cursor.execute(f"""
        {DROP_NOTE_CHANGES}
        {disable_sql(MARKS)}
        ALTER TABLE {MARKS} RENAME TO {OLD};
        ALTER TABLE {OLD} RENAME CONSTRAINT {MARKS}_pkey TO {OLD}_pkey;
        CREATE TABLE {MARKS} (
            site_id bigint NOT NULL,
            pupil_id bigint NOT NULL,
            date date NOT NULL,
            session varchar(2) NOT NULL,
            code varchar(2) NOT NULL,
            category smallint GENERATED ALWAYS AS ({category}) STORED,
            CONSTRAINT attendance_mark_known_code {check}
        );
        INSERT INTO {MARKS} (site_id, pupil_id, date, session, code)
        SELECT site_id, pupil_id, date, session, code FROM {OLD};
        ALTER TABLE {MARKS} ADD CONSTRAINT {MARKS}_pkey
            PRIMARY KEY (site_id, pupil_id, date, session);
        ALTER TABLE {MARKS} ADD CONSTRAINT {MARKS}_pupil_of_site
            FOREIGN KEY (pupil_id, site_id) REFERENCES mis_pupil (id, site_id)
            ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED;
        DROP TABLE {OLD};
        DROP FUNCTION mis_attendancemark_partitions_ensure(date, date);
        {enable_sql(MARKS)}
        UPDATE mis_rollupstate SET changed_at = now();
    """)  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [
        ("institutions", "0003_register_import"),
        ("mis", "0006_pupil_sex"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollupstate",
            name="folded_through",
            field=models.DateField(
                blank=True,
                help_text="The marks changed up to this day are in the pupils' weekly totals; "
                "later-dated changes wait in AttendanceChange.",
                null=True,
            ),
        ),
        migrations.CreateModel(
            name="AttendanceChange",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "site_id",
                        "pupil_id",
                        "date",
                        "category",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("date", models.DateField()),
                (
                    "category",
                    models.SmallIntegerField(
                        choices=[
                            (1, "Present"),
                            (2, "Authorised absence"),
                            (3, "Unauthorised absence"),
                            (4, "Not a possible session"),
                        ]
                    ),
                ),
                (
                    "sessions",
                    models.IntegerField(
                        help_text="Sessions added (positive) or removed (negative)."
                    ),
                ),
                (
                    "pupil",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="mis.pupil",
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="institutions.institution",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="PupilWeekAttendance",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "site_id",
                        "pupil_id",
                        "week_start",
                        "term_start",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("week_start", models.DateField(help_text="The week's Monday.")),
                (
                    "term_start",
                    models.DateField(
                        help_text="The first day of the term (mis.calendar.term_of)."
                    ),
                ),
                ("present", models.PositiveIntegerField()),
                ("authorised", models.PositiveIntegerField()),
                ("unauthorised", models.PositiveIntegerField()),
                ("not_possible", models.PositiveIntegerField()),
                (
                    "pupil",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="mis.pupil",
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="institutions.institution",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["site", "term_start", "week_start"], name="pupil_week_site_term"
                    )
                ],
            },
        ),
        migrations.RunSQL(
            sql=enable_sql("mis_attendancechange") + enable_sql("mis_pupilweekattendance"),
            reverse_sql=disable_sql("mis_attendancechange")
            + disable_sql("mis_pupilweekattendance"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="attendancemark",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "site_id",
                        "date",
                        "session",
                        "pupil_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(partition_marks, unpartition_marks, elidable=False),
            ],
        ),
    ]
