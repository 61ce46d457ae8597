# Audit retention: the application may only add to the audit trail (matmis.db_roles grants
# it SELECT and INSERT), so the retention job deletes through this function, which runs as
# the tables' owner (SECURITY DEFINER) and deletes only events older than a cut-off at
# least AUDIT_MINIMUM_RETENTION_DAYS in the past. The application's role is granted EXECUTE
# on it (matmis.db_roles.APP_FUNCTIONS, after every migrate); nobody else may run it, and a
# direct DELETE by the application is still refused.

from django.db import migrations

FUNCTION_SQL = """
CREATE FUNCTION accounts_auditevent_delete_older_than(cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    deleted bigint;
BEGIN
    IF cutoff IS NULL OR cutoff > now() - interval '365 days' THEN
        RAISE EXCEPTION 'Audit events are kept for at least 365 days: cut-off % refused.', cutoff
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM public.accounts_auditevent WHERE at < cutoff;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;
REVOKE ALL ON FUNCTION accounts_auditevent_delete_older_than(timestamptz) FROM PUBLIC;
"""

DROP_FUNCTION_SQL = """
DROP FUNCTION IF EXISTS accounts_auditevent_delete_older_than(timestamptz);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_audit_actions"),
    ]

    operations = [
        migrations.RunSQL(sql=FUNCTION_SQL, reverse_sql=DROP_FUNCTION_SQL),
    ]
