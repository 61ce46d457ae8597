"""Sites seeded before the permission "Third-party Apps: Administer" existed give it, as
new sites do (``accounts.permissions.DEFAULT_ROLES``), to their seeded Head Teacher and
Data Manager roles (matched by their seeded names, only while still marked seeded). A
grant the site already has is left as the site set it. The defaults are copied here as
they were when the permission came."""

from django.db import migrations

ADMIN = 2
THIRD_PARTY_APPS = "third_party_apps"
ROLES = ("Head Teacher", "Data Manager")


def add_default_grants(apps, schema_editor):
    BusinessRole = apps.get_model("accounts", "BusinessRole")
    RoleGrant = apps.get_model("accounts", "RoleGrant")
    roles = BusinessRole.objects.filter(is_seeded=True, name__in=ROLES, site__kind="school")
    RoleGrant.objects.bulk_create(
        [
            RoleGrant(
                site_id=role.site_id, role=role, code=THIRD_PARTY_APPS, access=ADMIN, in_school=False
            )
            for role in roles.iterator()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )


def remove_default_grants(apps, schema_editor):
    apps.get_model("accounts", "RoleGrant").objects.filter(code=THIRD_PARTY_APPS).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0016_sharing_networks_default_grants")]

    operations = [migrations.RunPython(add_default_grants, remove_default_grants)]
