"""A pupil's marks and exclusions belong to the pupil's own school, by the database's
word: (pupil_id, site_id) references the pupil's (id, site_id)."""

from django.db import migrations

TABLES = ("mis_attendancemark", "mis_exclusion")


class Migration(migrations.Migration):
    dependencies = [("mis", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=f"""
            ALTER TABLE {table} ADD CONSTRAINT {table}_pupil_of_site
                FOREIGN KEY (pupil_id, site_id) REFERENCES mis_pupil (id, site_id)
                ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED;
            """,
            reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {table}_pupil_of_site;",
        )
        for table in TABLES
    ]
