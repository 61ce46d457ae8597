"""The hop tests' world: a trust, a school at level 3 and a Trust Administrator associated
with it, with helpers to ask for a hop and redeem it; and the way to stage an agreement the
application itself can never lower or end."""

import re

from django.db import connection
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AssociatedSchool, StaffAssociation
from accounts.staff.services import role_assign, roles_ensure_defaults
from institutions.models import Status
from matmis.db_roles import owner_role
from sharing.models import AccessLevel, Agreement
from tests.conftest import SiteClient
from tests.factories import (
    InstitutionFactory,
    MembershipFactory,
    StaffProfileFactory,
    TrustFactory,
)


def verified_client(site, user) -> SiteClient:
    """A client signed in at ``site`` whose session passed the second factor."""
    device = TOTPDevice.objects.get_or_create(
        user=user, name="phone", defaults={"confirmed": True}
    )[0]
    client = SiteClient(site)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


class World:
    def __init__(self):
        self.trust = TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust")
        self.school = self.make_school("Fenwick Primary", "fenwick")
        self.profile = StaffProfileFactory(site=self.trust)
        self.user = self.profile.user
        roles = roles_ensure_defaults(site=self.trust)
        role_assign(profile=self.profile, role=roles["Trust Administrator"])
        association = StaffAssociation.objects.create(site=self.trust, profile=self.profile)
        AssociatedSchool.objects.create(
            site=self.trust, association=association, school=self.school
        )

    def make_school(self, name, slug, level=AccessLevel.DFE_MIS_AND_GROUP_ACTIONS):
        school = InstitutionFactory(name=name, slug=slug, status=Status.OPEN, urn=None)
        MembershipFactory(group=self.trust, school=school)
        if level:
            Agreement.objects.create(
                group=self.trust, school=school, level=level, approved_at=timezone.now()
            )
        return school

    def group_client(self):
        return verified_client(self.trust, self.user)

    def start(self, client=None, school=None):
        """Ask the group site for a hop; returns (response, token or None)."""
        client = client or self.group_client()
        school = school or self.school
        school.urn = school.urn or f"{100000 + school.pk}"
        school.save(update_fields=["urn"])
        response = client.post("/log-in-to-mis/", {"school": school.urn})
        match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
        return response, (match.group(1) if match else None)

    def redeem(self, token, school=None):
        client = SiteClient(school or self.school)
        return client, client.post("/hop/", {"token": token})

    def hop_in(self, group_client=None) -> SiteClient:
        """A client at the school signed in through a hop."""
        _, token = self.start(client=group_client)
        client, redeemed = self.redeem(token)
        assert redeemed.status_code == 302, redeemed.content.decode()[:500]
        return client


def agreement_changed_past_its_guard(agreement: Agreement, *, level: int | None) -> None:
    """Lower ``agreement`` to ``level``, or end it (None), which the database's guard
    refuses to anyone (``sharing_agreement_guard``): staged here, as the tables' owner with
    the guard off for one statement, so that the tests can show the hop checks the level
    whatever way it might fall. Inside the test's transaction, like everything else."""
    with owner_role(), connection.cursor() as cursor:
        # ALTER TABLE waits for no deferred check: run the foreign-key checks now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE sharing_agreement DISABLE TRIGGER sharing_agreement_guard")
        if level is None:
            cursor.execute("DELETE FROM sharing_agreement WHERE id = %s", [agreement.pk])
        else:
            cursor.execute(
                "UPDATE sharing_agreement SET level = %s WHERE id = %s", [level, agreement.pk]
            )
        cursor.execute("ALTER TABLE sharing_agreement ENABLE TRIGGER sharing_agreement_guard")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
