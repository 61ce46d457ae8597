"""Demo data: deterministic, idempotent, and only for development.

A trust and a local authority with their schools as sites, a platform support admin, and
staff who can sign in at each. Later capabilities extend ``seed_demo``.
"""

from dataclasses import dataclass

from django.db import transaction

from accounts.services import staff_profile_ensure, user_ensure
from institutions.models import Institution, InstitutionKind, Status
from institutions.services import institution_ensure, membership_ensure

DEMO_PASSWORD = "matmis-demo-2026"  # noqa: S105 - printed for people trying the demo

TRUST = ("Oak Ridge Trust", "oak-ridge-trust")
LOCAL_AUTHORITY = ("Northshire County Council", "northshire")
TRUST_SCHOOLS = [
    ("Oak Ridge Primary School", "oak-ridge-primary"),
    ("St Mary’s Church of England Primary School", "st-marys-primary"),
    ("Hollins Park Academy", "hollins-park-academy"),
    ("Westbrook Secondary School", "westbrook-secondary"),
]
LA_SCHOOLS = [
    ("Northshire Nursery School", "northshire-nursery"),
    ("Fenwick Community Primary School", "fenwick-primary"),
    ("Ashdown Infant School", "ashdown-infants"),
]


@dataclass(frozen=True)
class DemoLogin:
    site: Institution
    email: str
    role: str


@transaction.atomic
def seed_demo() -> list[DemoLogin]:
    """Create or refresh the demo; returns the sign-in details to show a person."""
    trust = institution_ensure(kind=InstitutionKind.TRUST, name=TRUST[0], slug=TRUST[1])
    la = institution_ensure(
        kind=InstitutionKind.LOCAL_AUTHORITY, name=LOCAL_AUTHORITY[0], slug=LOCAL_AUTHORITY[1]
    )
    schools = []
    for name, slug in TRUST_SCHOOLS + LA_SCHOOLS:
        school = institution_ensure(
            kind=InstitutionKind.SCHOOL, name=name, slug=slug, status=Status.OPEN
        )
        membership_ensure(group=la, school=school)
        if (name, slug) in TRUST_SCHOOLS:
            membership_ensure(group=trust, school=school)
        schools.append(school)

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
    staff_profile_ensure(site=schools[0], user=head, job_title="Head Teacher")
    logins.append(DemoLogin(schools[0], head.email, "Head Teacher"))
    return logins
