"""Demo data: deterministic, idempotent, and only for development.

The demo is a generated national register (``bench.register``, profile ``demo``: about
4,000 establishments around the local authority Northshire and the Oak Ridge Trust),
imported by the register importer exactly as a real export would be, plus a platform
support admin and staff who can sign in at the trust, the local authority and one school.
Later capabilities extend ``seed_demo``.
"""

import io
from dataclasses import dataclass

from django.db import transaction

from accounts.services import staff_profile_ensure, user_ensure
from bench.register import (
    DEMO_ESTABLISHMENTS,
    DEMO_HEAD_SCHOOL,
    DEMO_LA_CODE,
    DEMO_TRUST_CODE,
    REGISTER_DATE,
    write_register,
)
from institutions.models import GroupMembership, Institution, InstitutionKind, Status
from institutions.register_import import register_import
from institutions.selectors import current_schools

DEMO_PASSWORD = "matmis-demo-2026"  # noqa: S105 - printed for people trying the demo
DEMO_SEED = 2026

# The sites of the demo before it was a generated register (slug, kind), kept by databases
# seeded then: their groups are adopted by the register's, their schools retired.
_EARLIER_GROUPS = {
    "oak-ridge-trust": (InstitutionKind.TRUST, DEMO_TRUST_CODE),
    "northshire": (InstitutionKind.LOCAL_AUTHORITY, DEMO_LA_CODE),
}
_EARLIER_SCHOOLS = (
    "oak-ridge-primary",
    "st-marys-primary",
    "hollins-park-academy",
    "westbrook-secondary",
    "northshire-nursery",
    "fenwick-primary",
    "ashdown-infants",
)


@dataclass(frozen=True)
class DemoLogin:
    site: Institution
    email: str
    role: str


def demo_register() -> io.BytesIO:
    """The demo's register export (cp1252, like a real download), in memory."""
    stream = io.BytesIO()
    write_register(stream, establishments=DEMO_ESTABLISHMENTS, seed=DEMO_SEED, profile="demo")
    stream.seek(0)
    return stream


@transaction.atomic
def seed_demo() -> list[DemoLogin]:
    """Create or refresh the demo; returns the sign-in details to show a person."""
    _adopt_earlier_demo()
    result = register_import(stream=demo_register(), today=REGISTER_DATE)
    if result.rejected:
        raise RuntimeError(f"The demo register has rejected records: {result.rejected[:3]}")

    trust = Institution.objects.get(kind=InstitutionKind.TRUST, group_code=DEMO_TRUST_CODE)
    la = Institution.objects.get(kind=InstitutionKind.LOCAL_AUTHORITY, group_code=DEMO_LA_CODE)
    school = current_schools(group=trust).get(name=DEMO_HEAD_SCHOOL)

    user_ensure(
        email="support@matmis.test",
        full_name="Platform Support",
        password=DEMO_PASSWORD,
        is_platform_staff=True,
    )
    logins = []
    trust_admin = user_ensure(
        email="trust.admin@oak-ridge.test", full_name="Priya Shah", password=DEMO_PASSWORD
    )
    staff_profile_ensure(site=trust, user=trust_admin, job_title="Trust Administrator")
    logins.append(DemoLogin(trust, trust_admin.email, "Trust Administrator"))
    la_officer = user_ensure(
        email="data.lead@northshire.test", full_name="Tom Okafor", password=DEMO_PASSWORD
    )
    staff_profile_ensure(site=la, user=la_officer, job_title="Data Lead")
    logins.append(DemoLogin(la, la_officer.email, "Data Lead"))
    head = user_ensure(
        email="head@oak-ridge-primary.test", full_name="Helen Marsh", password=DEMO_PASSWORD
    )
    staff_profile_ensure(site=school, user=head, job_title="Head Teacher")
    logins.append(DemoLogin(school, head.email, "Head Teacher"))
    return logins


def _adopt_earlier_demo() -> None:
    """A database seeded by the earlier, hand-made demo keeps its trust and local authority
    hosts (the import takes them over by code) and its hand-made schools leave the groups.
    Does nothing on any other database."""
    for slug, (kind, code) in _EARLIER_GROUPS.items():
        if not Institution.objects.filter(kind=kind, group_code=code).exists():
            Institution.objects.filter(slug=slug, kind=kind, group_code="").update(group_code=code)
    earlier = Institution.objects.filter(
        slug__in=_EARLIER_SCHOOLS, kind=InstitutionKind.SCHOOL, urn__isnull=True
    ).exclude(status=Status.CLOSED)
    GroupMembership.objects.filter(school__in=earlier, left_on__isnull=True).update(
        left_on=REGISTER_DATE
    )
    earlier.update(status=Status.CLOSED)
