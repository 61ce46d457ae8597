"""Sites seeded before staff sharing networks existed get its defaults: the seeded roles
(matched by their seeded names, only while still marked seeded) gain the grants that
``accounts.permissions.DEFAULT_ROLES`` now gives new sites. Leadership approval of a network
goes to heads and trust executives; administering sharing networks to them and to Trust
Administrators. A grant the site already has for the same permission is left as it is.

The defaults are copied here as they were when the permissions came.
"""

from django.db import migrations

ADMIN = 2
SHARING_NETWORKS = "sharing_networks.administer"
NETWORK_LEADERSHIP = "sharing_networks.leadership_approval"
BOTH = {SHARING_NETWORKS: ADMIN, NETWORK_LEADERSHIP: ADMIN}

GROUP_KINDS = ("trust", "la")
ADDED = {
    "group": {
        "Chief Executive / Executive Head Teacher": BOTH,
        "Trust Administrator": {SHARING_NETWORKS: ADMIN},
    },
    "school": {"Head Teacher": BOTH, "Executive Head Teacher": BOTH},
}


def add_default_grants(apps, schema_editor):
    BusinessRole = apps.get_model("accounts", "BusinessRole")
    RoleGrant = apps.get_model("accounts", "RoleGrant")
    grants = []
    for role in BusinessRole.objects.filter(is_seeded=True).select_related("site").iterator():
        kind = "group" if role.site.kind in GROUP_KINDS else "school"
        for code, access in ADDED[kind].get(role.name, {}).items():
            grants.append(
                RoleGrant(site_id=role.site_id, role=role, code=code, access=access, in_school=False)
            )
    RoleGrant.objects.bulk_create(grants, ignore_conflicts=True, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0015_provider_sign_in")]

    operations = [migrations.RunPython(add_default_grants, migrations.RunPython.noop)]
