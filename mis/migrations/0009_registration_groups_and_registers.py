"""Registration groups with their teachers, each pupil's group, the register's amendments
(kept beside the marks, never overwriting) and each school's register closing times.

The database holds the tenancy: a pupil's group, a teacher row and an amendment all belong
to the same school as what they point at ((x, site) references (id, site)), and the rows of
the groups, their teachers and the amendments are visible only inside their school's scope
(Row-Level Security, as on the pupils)."""

import datetime
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from matmis.personal_data import disable_sql, enable_sql

SCOPED_TABLES = ("mis_registrationgroup", "mis_registrationgroupteacher", "mis_markamendment")
SAME_SCHOOL = (
    ("mis_pupil", "registration_group_id", "mis_registrationgroup"),
    ("mis_registrationgroupteacher", "group_id", "mis_registrationgroup"),
    ("mis_markamendment", "pupil_id", "mis_pupil"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0015_provider_sign_in"),
        ("institutions", "0003_register_import"),
        ("mis", "0008_leaving_and_transfers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RegisterSettings",
            fields=[
                (
                    "site",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="institutions.institution",
                    ),
                ),
                (
                    "am_closes_at",
                    models.TimeField(
                        default=datetime.time(9, 30), verbose_name="morning register closes at"
                    ),
                ),
                (
                    "pm_closes_at",
                    models.TimeField(
                        default=datetime.time(13, 45), verbose_name="afternoon register closes at"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="RegistrationGroup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="As the school calls it, e.g. 4B or 7KM.", max_length=40
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="institutions.institution",
                    ),
                ),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.AddField(
            model_name="pupil",
            name="registration_group",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="pupils",
                to="mis.registrationgroup",
            ),
        ),
        migrations.CreateModel(
            name="RegistrationGroupTeacher",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "group",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="mis.registrationgroup",
                    ),
                ),
                (
                    "profile",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.staffprofile",
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="institutions.institution",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="registrationgroup",
            name="teachers",
            field=models.ManyToManyField(
                blank=True,
                related_name="registration_groups",
                through="mis.RegistrationGroupTeacher",
                to="accounts.staffprofile",
            ),
        ),
        migrations.CreateModel(
            name="MarkAmendment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("date", models.DateField()),
                (
                    "session",
                    models.CharField(
                        choices=[("AM", "Morning"), ("PM", "Afternoon")], max_length=2
                    ),
                ),
                ("original_code", models.CharField(max_length=2)),
                ("new_code", models.CharField(max_length=2)),
                ("amended_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("reason", models.CharField(max_length=500)),
                (
                    "amended_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "pupil",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="mis.pupil",
                    ),
                ),
                (
                    "site",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="institutions.institution",
                    ),
                ),
            ],
            options={
                "ordering": ["amended_at", "id"],
                "indexes": [
                    models.Index(
                        fields=["site", "date", "session", "pupil"], name="mark_amendment_key"
                    ),
                    models.Index(fields=["site", "pupil", "date"], name="mark_amendment_pupil"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("original_code", models.F("new_code")), _negated=True),
                        name="mark_amendment_changes",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("reason", ""), _negated=True),
                        name="mark_amendment_has_reason",
                    ),
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="registrationgroupteacher",
            constraint=models.UniqueConstraint(
                fields=("group", "profile"), name="registration_teacher_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="registrationgroup",
            constraint=models.UniqueConstraint(
                fields=("site", "name"), name="registration_group_name_unique_per_school"
            ),
        ),
        migrations.AddConstraint(
            model_name="registrationgroup",
            constraint=models.UniqueConstraint(
                fields=("id", "site"), name="registration_group_id_site"
            ),
        ),
        *(
            migrations.RunSQL(
                sql=f"""
            ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_of_site
                FOREIGN KEY ({column}, site_id) REFERENCES {target} (id, site_id)
                ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED;
            """,
                reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_of_site;",
            )
            for table, column, target in SAME_SCHOOL
        ),
        *(
            migrations.RunSQL(sql=enable_sql(table), reverse_sql=disable_sql(table))
            for table in SCOPED_TABLES
        ),
    ]
