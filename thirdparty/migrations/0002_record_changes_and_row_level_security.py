"""Row-Level Security on the access log and the record changes (each row only within its
school's scope, as pupil data), and the triggers that keep the record changes: every
insert, update or delete of a pupil or an exclusion stamps (site, entity, id) with the
time and whether it was removed, so an app can ask what changed since its last sync
(``updated_since``) and what to delete (the deletions list). The triggers run as whoever
writes the pupil, inside that school's scope."""

from django.db import migrations

from matmis.personal_data import disable_sql, enable_sql

TABLES = ("thirdparty_appcall", "thirdparty_recordchange")

FUNCTION = """
CREATE FUNCTION thirdparty_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    INSERT INTO thirdparty_recordchange (site_id, entity, record_id, changed_at, deleted)
    VALUES (changed.site_id, TG_ARGV[0], changed.id, clock_timestamp(), TG_OP = 'DELETE')
    ON CONFLICT (site_id, entity, record_id)
    DO UPDATE SET changed_at = EXCLUDED.changed_at, deleted = EXCLUDED.deleted;
    RETURN NULL;
END;
$$;
"""

TRIGGERS = {"mis_pupil": "student", "mis_exclusion": "exclusion"}


def _trigger_sql(table: str, entity: str) -> str:
    return (
        f"CREATE TRIGGER thirdparty_record_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION thirdparty_record_change('{entity}');"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("thirdparty", "0001_apps_requests_authorisations_access_log"),
        ("mis", "0003_row_level_security"),
    ]

    operations = [
        *(
            migrations.RunSQL(sql=enable_sql(table), reverse_sql=disable_sql(table))
            for table in TABLES
        ),
        migrations.RunSQL(
            sql=FUNCTION, reverse_sql="DROP FUNCTION thirdparty_record_change();"
        ),
        *(
            migrations.RunSQL(
                sql=_trigger_sql(table, entity),
                reverse_sql=f"DROP TRIGGER thirdparty_record_change ON {table};",
            )
            for table, entity in TRIGGERS.items()
        ),
    ]
