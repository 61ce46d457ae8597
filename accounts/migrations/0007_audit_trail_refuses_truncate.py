# The audit trail is append-only for the application (matmis.db_roles grants it INSERT and
# SELECT only). TRUNCATE is refused here as well, whoever asks: the trail is never emptied
# wholesale (manage.py flush, as the owner, switches this off for its own transaction).

from django.db import migrations

GUARD_SQL = """
CREATE FUNCTION accounts_auditevent_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The audit trail cannot be emptied (TRUNCATE).'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_auditevent_refuse_truncate
    BEFORE TRUNCATE ON accounts_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_auditevent_refuse_truncate();
"""

DROP_GUARD_SQL = """
DROP TRIGGER IF EXISTS accounts_auditevent_refuse_truncate ON accounts_auditevent;
DROP FUNCTION IF EXISTS accounts_auditevent_refuse_truncate();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_sharing_audit_actions'),
    ]

    operations = [
        migrations.RunSQL(sql=GUARD_SQL, reverse_sql=DROP_GUARD_SQL),
    ]
