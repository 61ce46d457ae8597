"""Row-Level Security on the pupil-level tables: each row only within its site's scope."""

from django.db import migrations

from matmis.personal_data import disable_sql, enable_sql

TABLES = ("mis_pupil", "mis_attendancemark", "mis_exclusion")


class Migration(migrations.Migration):
    dependencies = [("mis", "0002_pupil_site_consistency")]

    operations = [
        migrations.RunSQL(sql=enable_sql(table), reverse_sql=disable_sql(table))
        for table in TABLES
    ]
