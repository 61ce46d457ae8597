"""A school's attendance by week and year group (``mis.WeeklyAttendance``), kept by the
roll-up refresh.

Counts of a year group, not a pupil's records: the group reads them, as it reads the
roll-ups, through ``sharing.access``. Writes, though, belong to the school alone: Row-Level
Security lets a row be added, changed or removed only in a transaction bound to its site
(as the refresh is), while reading is open to the selectors that gate it.

Every school's figures are made due, so that the next sweep counts its weeks from all its
marks (the backfill) rather than waiting for tomorrow's refresh.
"""

import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models

from matmis.tenancy import SITE_SETTING

TABLE = "mis_weeklyattendance"
_SITE_MATCHES = f"site_id = nullif(current_setting('{SITE_SETTING}', true), '')::bigint"

WRITES_BOUND_TO_THE_SITE = f"""
    ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY;
    ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY;
    CREATE POLICY weekly_read ON {TABLE} FOR SELECT USING (true);
    CREATE POLICY weekly_insert ON {TABLE} FOR INSERT WITH CHECK ({_SITE_MATCHES});
    CREATE POLICY weekly_update ON {TABLE} FOR UPDATE
        USING ({_SITE_MATCHES}) WITH CHECK ({_SITE_MATCHES});
    CREATE POLICY weekly_delete ON {TABLE} FOR DELETE USING ({_SITE_MATCHES});
"""
WRITES_OPEN = f"""
    DROP POLICY weekly_read ON {TABLE};
    DROP POLICY weekly_insert ON {TABLE};
    DROP POLICY weekly_update ON {TABLE};
    DROP POLICY weekly_delete ON {TABLE};
    ALTER TABLE {TABLE} NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("institutions", "0003_register_import"),
        ("mis", "0003_row_level_security"),
    ]

    operations = [
        migrations.CreateModel(
            name="WeeklyAttendance",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("week_start", models.DateField(help_text="The week's Monday.")),
                ("year_group", models.SmallIntegerField()),
                ("possible_sessions", models.PositiveIntegerField()),
                ("present_sessions", models.PositiveIntegerField()),
                ("authorised_sessions", models.PositiveIntegerField()),
                ("unauthorised_sessions", models.PositiveIntegerField()),
                (
                    "site",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="institutions.institution",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("site", "week_start", "year_group"),
                        name="weekly_attendance_one_per_cell",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("week_start__week_day", 2)),
                        name="weekly_attendance_starts_on_monday",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "possible_sessions",
                                django.db.models.expressions.CombinedExpression(
                                    django.db.models.expressions.CombinedExpression(
                                        models.F("present_sessions"),
                                        "+",
                                        models.F("authorised_sessions"),
                                    ),
                                    "+",
                                    models.F("unauthorised_sessions"),
                                ),
                            )
                        ),
                        name="weekly_attendance_possible_adds_up",
                    ),
                ],
            },
        ),
        migrations.RunSQL(sql=WRITES_BOUND_TO_THE_SITE, reverse_sql=WRITES_OPEN),
        migrations.RunSQL(
            sql="UPDATE mis_rollupstate SET changed_at = now()", reverse_sql=migrations.RunSQL.noop
        ),
    ]
