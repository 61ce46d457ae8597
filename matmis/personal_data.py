"""Which tables hold personal data about pupils, and the database policy that guards them.

Every such table carries ``site_id`` and has Row-Level Security enabled AND forced with the
policy ``site_isolation``: a row is visible (and may be written) only inside a transaction
bound to its site by ``matmis.tenancy.site_scope``; with no site bound, none is. A model
with a foreign key to a pupil is personal data by definition: ``personal_data_tables``
finds those by itself, so a later table cannot be forgotten, and the test suite fails when
one lacks the policy (``tests/security/test_row_level_security.py``).
"""

from django.apps import apps

from .tenancy import SITE_SETTING

# Models that hold personal data without pointing at a pupil (the pupil itself, and an
# uploaded Common Transfer File).
DECLARED = ("mis.Pupil", "mis.CtfImport")

POLICY_NAME = "site_isolation"
_SITE_MATCHES = f"site_id = nullif(current_setting('{SITE_SETTING}', true), '')::bigint"


def personal_data_tables() -> list[str]:
    pupil = apps.get_model("mis", "Pupil")
    tables = {apps.get_model(label)._meta.db_table for label in DECLARED}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if field.many_to_one and field.concrete and field.related_model is pupil:
                tables.add(model._meta.db_table)
    return sorted(tables)


def enable_sql(table: str) -> str:
    return f"""
        ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
        ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
        CREATE POLICY {POLICY_NAME} ON {table}
            USING ({_SITE_MATCHES}) WITH CHECK ({_SITE_MATCHES});
    """


def disable_sql(table: str) -> str:
    return f"""
        DROP POLICY {POLICY_NAME} ON {table};
        ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
    """
