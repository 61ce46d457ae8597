"""Sites seeded before the pupil-data permissions existed get their defaults: the seeded
roles (matched by their seeded names, only while still marked seeded) gain the grants that
``accounts.permissions.DEFAULT_ROLES`` and ``DEFAULT_IN_SCHOOL_GRANTS`` now give new sites,
so that everyone who saw pupils before still does. A grant the site already has for the
same permission and scope is left as the site set it.

The defaults are copied here as they were when the permissions came, so that a later change
of the defaults does not change what this migration did.
"""

from django.db import migrations

VIEW, ADMIN = 1, 2
STUDENTS = "students.records"
ATTENDANCE = "attendance.records"
BEHAVIOUR = "behaviour.exclusions"
ANALYTICS = "analytics.group"
PUPIL_DATA_ADMIN = {STUDENTS: ADMIN, ATTENDANCE: ADMIN, BEHAVIOUR: ADMIN}
PUPIL_DATA_VIEW = {STUDENTS: VIEW, ATTENDANCE: VIEW, BEHAVIOUR: VIEW}

GROUP_KINDS = ("trust", "la")
# (kind of site, role name) -> (grants, in-school grants)
ADDED = {
    "group": {
        "Chief Executive / Executive Head Teacher": ({ANALYTICS: VIEW}, PUPIL_DATA_VIEW),
        "Trust Administrator": ({ANALYTICS: VIEW}, PUPIL_DATA_VIEW),
        "Data Lead": ({ANALYTICS: VIEW}, PUPIL_DATA_VIEW),
    },
    "school": {
        "Head Teacher": (PUPIL_DATA_ADMIN, {}),
        "Executive Head Teacher": (PUPIL_DATA_ADMIN, {}),
        "Deputy Head Teacher": (PUPIL_DATA_ADMIN, {}),
        "Data Manager": (PUPIL_DATA_ADMIN, {}),
        "Teacher": ({STUDENTS: VIEW, ATTENDANCE: VIEW}, {}),
        "Office Administrator": ({STUDENTS: VIEW}, {}),
    },
}


def add_default_grants(apps, schema_editor):
    BusinessRole = apps.get_model("accounts", "BusinessRole")
    RoleGrant = apps.get_model("accounts", "RoleGrant")
    grants = []
    roles = BusinessRole.objects.filter(is_seeded=True).select_related("site")
    for role in roles.iterator():
        kind = "group" if role.site.kind in GROUP_KINDS else "school"
        added = ADDED[kind].get(role.name)
        if added is None:
            continue
        own, in_school = added
        for scope, codes in ((False, own), (True, in_school)):
            grants += [
                RoleGrant(
                    site_id=role.site_id, role=role, code=code, access=access, in_school=scope
                )
                for code, access in codes.items()
            ]
    # A grant the site already holds for the role, code and scope stays as it is.
    RoleGrant.objects.bulk_create(grants, ignore_conflicts=True, batch_size=1000)


def remove_default_grants(apps, schema_editor):
    RoleGrant = apps.get_model("accounts", "RoleGrant")
    RoleGrant.objects.filter(code__in=(STUDENTS, ATTENDANCE, BEHAVIOUR, ANALYTICS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_used_backup_code"),
        ("institutions", "0002_register_fields_and_clusters"),
    ]

    operations = [migrations.RunPython(add_default_grants, remove_default_grants)]
