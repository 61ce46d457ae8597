"""Demo data: deterministic, idempotent, and only for development.

The demo is a generated national register (``bench.register``, profile ``demo``: about
4,000 establishments around the local authority Northshire and the Oak Ridge Trust),
imported by the register importer exactly as a real export would be, plus a platform
support admin (with two-factor sign-in, which the platform requires); staff on the trust
(one per role) and on each trust school (head, deputy, data manager); two clusters at the
trust (``DEMO_CLUSTERS``); approved agreements
at each level, so Data Sharing has something in every tab and the trust administrator can
Log in to MIS at Oak Ridge Primary School; and MIS records at each of the trust's schools
(``bench.mis``: pupils, this term's attendance up to today, suspensions), with their
roll-ups refreshed, so the dashboards show this term.
"""

import base64
import datetime
import io
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import Actor, system_actor
from accounts.models import RoleAssignment, StaffAssociation, StaffProfile, User
from accounts.staff.onboarding import (
    NewStaffMember,
    invitation_resend,
    invitation_state,
    open_invitation,
    staff_member_add,
)
from accounts.staff.services import (
    role_assign,
    roles_ensure_defaults,
    staff_profile_ensure,
    user_ensure,
)
from analytics.published_import import published_figures_import
from bench.mis import generate_group_mis
from bench.published import absence_csv, academic_years, suspensions_csv
from bench.register import (
    DEMO_ESTABLISHMENTS,
    DEMO_HEAD_SCHOOL,
    DEMO_LA_CODE,
    DEMO_TRUST_CODE,
    REGISTER_DATE,
    write_register,
)
from institutions.models import Institution, InstitutionKind, Phase
from institutions.register_import import register_import
from institutions.selectors import SITE_KIND_ORDER, current_schools
from institutions.services import cluster_create, cluster_set_schools
from mis.rollups import rollups_refresh_due
from sharing.models import AccessLevel
from sharing.services.agreements import agreement_raise

DEMO_PASSWORD = "matmis-demo-2026"  # noqa: S105 - printed for people trying the demo
DEMO_SEED = 2026
# Each trust school's pupils: the register's figure, at most this many. At 400, 11,300
# pupils and 1.26 million marks by late November: made in full once a term (7 to 13 s with
# two workers on a shared 2-core machine), then each later day only that day's marks are
# added (about 2 s with the roll-ups), and a second run on a day changes nothing (1 s).
DEMO_MIS_MAX_PUPILS = 400
# The latest academic year the DfE has published figures for, in the demo.
DEMO_PUBLISHED_LATEST = "202425"
DEMO_MIS_WORKERS = 2
# The second factor of the trust administrator and of platform support: an authenticator
# key anyone can add to an app, and single-use backup codes that every run of seed_demo
# restores.
DEMO_TOTP_KEY_HEX = "6d61746d69732d64656d6f2d32303236"
DEMO_BACKUP_CODES = tuple(f"demo{letter * 4}" for letter in "abcdefghij")
DEMO_SUPPORT_EMAIL = "support@matmis.test"
DEMO_CLUSTERS = ("Oak Ridge Primary Partnership", "Oak Ridge Secondary Partnership")
TRUST_STAFF = (
    ("Chief Executive / Executive Head Teacher", "ceo@oak-ridge.test", "Margaret Ellis"),
    ("Trust Administrator", "trust.admin@oak-ridge.test", "Priya Shah"),
    ("Data Lead", "data.lead@oak-ridge.test", "Sam Whitfield"),
    ("Central Team Member", "central@oak-ridge.test", "Jo Bennett"),
)
SCHOOL_STAFF = (
    ("Head Teacher", "head"),
    ("Deputy Head Teacher", "deputy"),
    ("Data Manager", "data"),
)
FIRST_NAMES = ("Helen", "Amir", "Grace", "Owen", "Ruth", "Kwame", "Isla", "Dev", "Nora", "Luke")
LAST_NAMES = (
    "Marsh",
    "Patel",
    "Okoye",
    "Hughes",
    "Byrne",
    "Mensah",
    "Reid",
    "Khan",
    "Shaw",
    "Cole",
)


@dataclass(frozen=True)
class DemoLogin:
    site: Institution
    email: str
    role: str


def demo_sites() -> list[Institution]:
    """The demo's trust, local authority and the school its head signs in to, once the demo
    is loaded (they have staff accounts then); an empty list otherwise (one query). The
    bare domain's site list puts them first."""
    sites = (
        Institution.objects.filter(
            Q(kind=InstitutionKind.TRUST, group_code=DEMO_TRUST_CODE)
            | Q(kind=InstitutionKind.LOCAL_AUTHORITY, group_code=DEMO_LA_CODE)
            | Q(kind=InstitutionKind.SCHOOL, name=DEMO_HEAD_SCHOOL, trust_code=DEMO_TRUST_CODE)
        )
        .filter(Exists(StaffProfile.objects.filter(site=OuterRef("pk"))))
        .only("kind", "name", "slug")
    )
    order = {kind: rank for rank, kind in enumerate(SITE_KIND_ORDER)}
    return sorted(sites, key=lambda site: (order[site.kind], site.name))


def demo_totp_secret() -> str:
    """The authenticator key in the base32 form apps accept."""
    return base64.b32encode(bytes.fromhex(DEMO_TOTP_KEY_HEX)).decode().rstrip("=")


def demo_register() -> io.BytesIO:
    """The demo's register export (cp1252, like a real download), in memory."""
    stream = io.BytesIO()
    write_register(stream, establishments=DEMO_ESTABLISHMENTS, seed=DEMO_SEED, profile="demo")
    stream.seek(0)
    return stream


def _no_progress(step: str) -> None:
    pass


def seed_demo(
    *,
    mis_max_pupils: int = DEMO_MIS_MAX_PUPILS,
    today: datetime.date | None = None,
    progress: Callable[[str], None] = _no_progress,
) -> list[DemoLogin]:
    """Create or refresh the demo; returns the sign-in details to show a person.

    The trust's schools get this term's MIS records up to ``today`` (default: today), each
    with at most ``mis_max_pupils`` pupils (0: none): the same records for the same day,
    and a later day of the term adds to an earlier day's (``bench.mis``). ``progress`` is
    told each step as it starts (the first run takes most of a minute)."""
    logins, trust_schools = _seed_sites_and_staff(progress)
    today = today or timezone.localdate()
    if mis_max_pupils > 0:
        progress(
            f"MIS records of the trust's {len(trust_schools)} schools up to {today:%-d %B %Y} "
            f"(up to {mis_max_pupils} pupils each)"
        )
        # One transaction per school (bench.mis), two at a time; records made on an earlier
        # day of the term are brought up to today, not made again. Then the figures the
        # dashboards read.
        generate_group_mis(
            trust_schools,
            today=today,
            seed=DEMO_SEED,
            max_pupils=mis_max_pupils,
            keep_current=True,
            workers=DEMO_MIS_WORKERS,
        )
        progress("This term's attendance figures (roll-ups)")
        rollups_refresh_due(today=today)
    return logins


@transaction.atomic
def _seed_sites_and_staff(progress) -> tuple[list[DemoLogin], list[Institution]]:
    progress(f"The register: {DEMO_ESTABLISHMENTS:,} generated establishments")
    result = register_import(stream=demo_register(), today=REGISTER_DATE)
    if result.rejected:
        raise RuntimeError(f"The demo register has rejected records: {result.rejected[:3]}")

    trust = Institution.objects.get(kind=InstitutionKind.TRUST, group_code=DEMO_TRUST_CODE)
    la = Institution.objects.get(kind=InstitutionKind.LOCAL_AUTHORITY, group_code=DEMO_LA_CODE)
    school = current_schools(group=trust).get(name=DEMO_HEAD_SCHOOL)

    progress("Staff accounts, two-factor sign-in, clusters and agreements")
    support = user_ensure(
        email=DEMO_SUPPORT_EMAIL,
        full_name="Platform Support",
        password=DEMO_PASSWORD,
        is_platform_staff=True,
    )
    _seed_two_factor(support)  # the platform requires it of all its staff
    logins = _seed_group_staff(trust, TRUST_STAFF)
    logins += _seed_group_staff(la, [("Data Lead", "data.lead@northshire.test", "Tom Okafor")])
    trust_admin = User.objects.get(email="trust.admin@oak-ridge.test")
    _seed_two_factor(trust_admin)
    admin_profile = StaffProfile.objects.get(site=trust, user=trust_admin)
    StaffAssociation.objects.update_or_create(
        profile=admin_profile, defaults={"site": trust, "all_schools": True}
    )
    _seed_invitation(trust, admin_profile)
    trust_schools = list(current_schools(group=trust))
    _seed_school_staff(trust_schools)
    _seed_clusters(trust, school, trust_schools)
    _seed_agreements(trust, school, trust_schools)
    progress("Published (DfE) absence and suspension figures")
    _seed_published_figures([*trust_schools, *current_schools(group=la)])
    # The head school's staff: the recipients the send panel offers (head, deputy, data).
    logins += [
        DemoLogin(school, f"{local}@{school.slug}.test", role_name)
        for role_name, local in SCHOOL_STAFF
    ]
    return logins, trust_schools


def _seed_published_figures(schools: list[Institution]) -> None:
    """The DfE's published absence and suspension figures for the last two years, as
    generated files in the Explore Education Statistics layout, through the importer."""
    entries = [(s.urn, s.pupils, s.phase) for s in schools]
    years = academic_years(DEMO_PUBLISHED_LATEST, 2)
    for text in (
        absence_csv(entries, years=years, seed=DEMO_SEED),
        suspensions_csv(entries, years=years, seed=DEMO_SEED),
    ):
        published_figures_import(stream=io.BytesIO(text.encode()))


def _seed_group_staff(group: Institution, people) -> list[DemoLogin]:
    roles = roles_ensure_defaults(site=group)
    logins = []
    for role_name, email, name in people:
        user = user_ensure(email=email, full_name=name, password=DEMO_PASSWORD)
        profile = staff_profile_ensure(site=group, user=user, job_title=role_name)
        role_assign(profile=profile, role=roles[role_name])
        logins.append(DemoLogin(group, email, role_name))
    return logins


DEMO_INVITEE = ("Alex Morgan", "new.colleague@oak-ridge.test", "Central Team Member")


def _seed_invitation(trust: Institution, inviter: StaffProfile) -> None:
    """A colleague the trust administrator has invited and who has not accepted yet (the
    Staff list's "Invited" table; the email with its link is on the mail page). An expired
    invitation is sent again, so the demo's link always works."""
    name, email, role_name = DEMO_INVITEE
    actor = Actor(user=inviter.user, site=trust)
    profile = StaffProfile.objects.filter(site=trust, user__email=email).first()
    if profile is None:
        staff_member_add(
            site=trust,
            member=NewStaffMember(
                full_name=name,
                email=email,
                job_title="Finance officer",
                roles=[roles_ensure_defaults(site=trust)[role_name]],
            ),
            actor=actor,
        )
        return
    invitation = open_invitation(profile)
    if invitation is not None and invitation_state(invitation) == "expired":
        invitation_resend(invitation=invitation, actor=actor)


def _seed_two_factor(user: User) -> None:
    """A known authenticator key and backup codes, so a person can pass the second factor
    (needed for Log in to MIS and on the platform) without setting it up first."""
    TOTPDevice.objects.update_or_create(
        user=user, name="Authenticator app", defaults={"key": DEMO_TOTP_KEY_HEX, "confirmed": True}
    )
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="Backup codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in DEMO_BACKUP_CODES)


def _seed_school_staff(schools: list[Institution]) -> None:
    """A head, a deputy and a data manager at each school, with email addresses: the
    recipients of data sharing requests. Bulk writes: hashing one password per person
    would take most of a minute."""
    rng = random.Random(DEMO_SEED)  # noqa: S311 - made-up names, not secrets
    password = make_password(DEMO_PASSWORD)
    wanted = {}
    for school in schools:
        for role_name, local in SCHOOL_STAFF:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            wanted[f"{local}@{school.slug}.test"] = (school, role_name, name)
    existing = set(User.objects.filter(email__in=wanted).values_list("email", flat=True))
    User.objects.bulk_create(
        User(email=email, full_name=name, password=password)
        for email, (_, _, name) in wanted.items()
        if email not in existing
    )
    users = {u.email: u for u in User.objects.filter(email__in=wanted)}
    StaffProfile.objects.bulk_create(
        (
            StaffProfile(site=school, user=users[email], job_title=role_name)
            for email, (school, role_name, _) in wanted.items()
        ),
        ignore_conflicts=True,
    )
    profiles = {
        (p.site_id, p.user_id): p
        for p in StaffProfile.objects.filter(user__in=users.values(), site__in=schools)
    }
    assignments = []
    for school in schools:
        roles = roles_ensure_defaults(site=school)
        for email, (staff_school, role_name, _) in wanted.items():
            if staff_school.pk == school.pk:
                profile = profiles[(school.pk, users[email].pk)]
                assignments.append(
                    RoleAssignment(site=school, profile=profile, role=roles[role_name])
                )
    RoleAssignment.objects.bulk_create(assignments, ignore_conflicts=True)


def _seed_clusters(trust: Institution, head_school: Institution, schools) -> None:
    """Two clusters at the trust, a few schools each, so its cluster filters show something:
    the head school and four other primaries, and five secondaries (a run puts the same
    schools back)."""
    primaries = [s for s in schools if s.phase == Phase.PRIMARY and s.pk != head_school.pk]
    secondaries = [s for s in schools if s.phase == Phase.SECONDARY]
    actor = system_actor(site=trust)
    for name, members in (
        (DEMO_CLUSTERS[0], [head_school, *primaries[:4]]),
        (DEMO_CLUSTERS[1], secondaries[:5]),
    ):
        cluster = trust.clusters.filter(name=name).first() or cluster_create(
            group=trust, name=name, actor=actor
        )
        cluster_set_schools(cluster=cluster, schools=members, actor=actor)


def _seed_agreements(trust: Institution, hop_school: Institution, schools) -> None:
    """Group Actions at the school the head signs in to (so the trust can log in to its
    MIS), and a spread of levels elsewhere; the rest have no agreement yet."""
    others = [s for s in schools if s.pk != hop_school.pk]
    levels = [(hop_school, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS)]
    levels += [(s, AccessLevel.DFE_DATA) for s in others[0:6]]
    levels += [(s, AccessLevel.DFE_AND_MIS_DATA) for s in others[6:12]]
    levels += [(s, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS) for s in others[12:16]]
    actor = system_actor(site=trust)
    for school, level in levels:
        agreement_raise(group=trust, school=school, level=level, actor=actor)
