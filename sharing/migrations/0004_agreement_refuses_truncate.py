# The agreement guard (0001) covers UPDATE and DELETE, row by row; TRUNCATE fires no row
# trigger, so emptying the table and inserting a lower level would lower an agreement.
# This statement-level guard refuses TRUNCATE, whoever asks (the application's role may not
# TRUNCATE at all: matmis.db_roles; manage.py flush, as the owner, switches it off for its
# own transaction).

from django.db import migrations

GUARD_SQL = """
CREATE FUNCTION sharing_agreement_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Data sharing agreements cannot be emptied (TRUNCATE).'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER sharing_agreement_refuse_truncate
    BEFORE TRUNCATE ON sharing_agreement
    FOR EACH STATEMENT EXECUTE FUNCTION sharing_agreement_refuse_truncate();
"""

DROP_GUARD_SQL = """
DROP TRIGGER IF EXISTS sharing_agreement_refuse_truncate ON sharing_agreement;
DROP FUNCTION IF EXISTS sharing_agreement_refuse_truncate();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('sharing', '0003_request_decline_reason'),
    ]

    operations = [
        migrations.RunSQL(sql=GUARD_SQL, reverse_sql=DROP_GUARD_SQL),
    ]
