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
from accounts.models import (
    BusinessRole,
    RoleAssignment,
    SiteSecurityPolicy,
    StaffAssociation,
    StaffProfile,
    User,
)
from accounts.permissions import INSTITUTION_DETAILS
from accounts.roles.services import role_create, role_grants_set, role_retire
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
from bench.published import (
    absence_csv,
    academic_years,
    census_csv,
    ks2_csv,
    ks4_csv,
    sen_csv,
    suspensions_csv,
)
from bench.register import (
    DEMO_ESTABLISHMENTS,
    DEMO_HEAD_SCHOOL,
    DEMO_LA_CODE,
    DEMO_TRUST_CODE,
    REGISTER_DATE,
    write_register,
)
from institutions.models import GroupMembership, Institution, InstitutionKind, Phase
from institutions.register_import import register_import
from institutions.selectors import SITE_KIND_ORDER, current_schools
from institutions.services import (
    cluster_create,
    cluster_set_schools,
    membership_end,
    membership_ensure,
)
from matmis.tenancy import site_scope
from mis.codes import upn_check_letter
from mis.ctf.records import Address, FsmInstance, SenEntry, TransferRecord, YearAttendance
from mis.ctf.selectors import school_ref
from mis.ctf.writer import write_ctf
from mis.models import (
    OutsideRead,
    OutsideReadKind,
    Pupil,
    PupilArrival,
    RegistrationGroup,
    RegistrationGroupTeacher,
)
from mis.outside_reads import outside_read_record
from mis.rollups import rollups_refresh_due
from portal.demo_sharing import seed_staff_sharing
from sharing.models import AccessLevel, Agreement, AgreementRequest
from sharing.services.agreements import agreement_raise
from sharing.services.forwarding import agreement_request_forward
from sharing.services.requests import agreement_requests_send
from thirdparty.models import App, AppAuthorisation, RequestOrigin
from thirdparty.services import access_request_open, app_register, request_authorise

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
    ("Teacher", "teacher"),  # teaches the school's first registration group
)
# Pupils of one year group share registration groups of at most this many.
DEMO_GROUP_SIZE = 30
_GROUP_PREFIX = {-2: "N1", -1: "N2", 0: "R"}
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


# Third-party apps (issue 14): a demo app's client credentials, printed by seed_demo (a
# demo secret, like the demo password; a real app's secret is shown once and never again).
DEMO_APP_CLIENT_ID = "demo-reading-stars"
DEMO_APP_SECRET = "matmis-demo-app-secret-2026"  # noqa: S105  (the demo's, printed on purpose)
DEMO_APPS = (
    {
        "vendor": "Classroom Co",
        "name": "Reading Stars",
        "purpose": "Reading records and home reading logs for each class.",
        "website": "https://reading-stars.example/",
        "privacy_notice_url": "https://reading-stars.example/privacy",
        "support_email": "support@reading-stars.example",
        "required_scopes": ["students", "attendance"],
        "optional_scopes": ["student_characteristics"],
    },
    {
        "vendor": "Maps for Schools",
        "name": "School Finder",
        "purpose": "Shows parents where a school is and how to contact it.",
        "website": "https://school-finder.example/",
        "privacy_notice_url": "https://school-finder.example/privacy",
        "support_email": "help@school-finder.example",
        "required_scopes": [],
        "optional_scopes": [],
    },
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
        progress("Registration groups and their teachers")
        _seed_registration_groups(trust_schools, today=today)
        progress("This term's attendance figures (roll-ups)")
        rollups_refresh_due(today=today)
        _seed_outside_reads(trust_schools)
    _seed_pending_transfer(trust_schools, today=today)
    return logins


def _seed_registration_groups(schools: list[Institution], *, today: datetime.date) -> None:
    """Each school's pupils on roll in registration groups by year group (3A, 3B, RA...),
    at most ``DEMO_GROUP_SIZE`` each, of even sizes, in the order of their records; the
    school's teacher teaches the first group, its deputy head the others. The same groups
    and members on every run (a run changes only pupils whose group is not yet the one they
    belong in).

    The registers themselves are the generator's marks (``bench.mis``): a mark the demo
    took or amended itself would no longer be the generator's plan, and the next run would
    replace the school's records."""
    for school in schools:
        with transaction.atomic(), site_scope(school.pk):
            _school_registration_groups(school, today=today)


def _school_registration_groups(school: Institution, *, today: datetime.date) -> None:
    by_year: dict[int, list[int]] = {}
    on_roll = (
        Pupil.objects.filter(site=school, enrolled_on__lte=today)
        .filter(Q(left_on__isnull=True) | Q(left_on__gte=today))
        .order_by("year_group", "pk")
        .values_list("year_group", "pk")
    )
    for year_group, pupil_id in on_roll:
        by_year.setdefault(year_group, []).append(pupil_id)
    members: dict[str, list[int]] = {}
    for year_group, pupil_ids in by_year.items():
        prefix = _GROUP_PREFIX.get(year_group, str(year_group))
        # As few groups as hold them all, of even sizes (31 pupils: 16 and 15).
        count = min(-(-len(pupil_ids) // DEMO_GROUP_SIZE), 10)
        for index, pupil_id in enumerate(pupil_ids):
            letter = "ABCDEFGHJK"[index * count // len(pupil_ids)]
            members.setdefault(f"{prefix}{letter}", []).append(pupil_id)
    groups = {group.name: group for group in RegistrationGroup.objects.filter(site=school)}
    for name in members:
        if name not in groups:
            groups[name] = RegistrationGroup.objects.create(site=school, name=name)
    for name, pupil_ids in members.items():
        Pupil.objects.filter(site=school, pk__in=pupil_ids).exclude(
            registration_group=groups[name]
        ).update(registration_group=groups[name])
    teachers = {
        profile.user.email.split("@")[0]: profile
        for profile in StaffProfile.objects.filter(
            site=school,
            user__email__in=[f"teacher@{school.slug}.test", f"deputy@{school.slug}.test"],
        ).select_related("user")
    }
    RegistrationGroupTeacher.objects.bulk_create(
        (
            RegistrationGroupTeacher(
                site=school,
                group=groups[name],
                profile=teachers["teacher" if index == 0 else "deputy"],
            )
            for index, name in enumerate(members)
            if ("teacher" if index == 0 else "deputy") in teachers
        ),
        ignore_conflicts=True,
    )


def _seed_outside_reads(schools: list[Institution]) -> None:
    """At the head school, two reads of its pupils by the trust administrator through Log in
    to MIS (the Students list, then one pupil's record), so that its administrators' "Reads
    from outside the school" beside the audit trail shows what it records. Once: a school
    that has any is left as it is."""
    school = next(s for s in schools if s.name == DEMO_HEAD_SCHOOL)
    trust = Institution.objects.get(kind=InstitutionKind.TRUST, group_code=DEMO_TRUST_CODE)
    reader = User.objects.get(email="trust.admin@oak-ridge.test")
    with transaction.atomic(), site_scope(school.pk):
        if OutsideRead.objects.filter(site=school).exists():
            return
        pupil = Pupil.objects.filter(site=school).order_by("legal_last_name", "pk").first()
        if pupil is None:
            return
        for what, path, pupil_id in (
            (OutsideReadKind.STUDENTS, "/students/", None),
            (OutsideReadKind.PUPIL, f"/students/{pupil.pk}/", pupil.pk),
        ):
            outside_read_record(
                site=school,
                reader=reader,
                from_group=trust,
                what=what,
                path=path,
                api=False,
                pupil_id=pupil_id,
            )


# The demo's pending transfer: a pupil the head school took off roll for another of the
# trust's schools (mis/samples/ctf-sample.xml is the demo's file to import).
DEMO_TRANSFER_PUPIL = ("Maisie", "Thornbury")


def _seed_pending_transfer(schools: list[Institution], *, today: datetime.date) -> None:
    """At the trust's second school, a pupil arriving from the head school, waiting to be
    accepted or rejected: the record exactly as the head school's off-roll would send it.
    (The head school's own pupils are the generator's, ``bench.mis``, which replaces any
    record it did not make: so the sending side's off-roll is not staged there.) Once: a
    school that has received any arrival from the head school is left as it is."""
    source = next(s for s in schools if s.name == DEMO_HEAD_SCHOOL)
    others = [s for s in schools if s.pk != source.pk]
    destination = next((s for s in others if s.phase == source.phase), others[0])
    body = f"{source.la_code or DEMO_LA_CODE}{(source.establishment_number or '2000')[:4]}25777"
    upn = upn_check_letter(body) + body
    first, last = DEMO_TRANSFER_PUPIL
    record = TransferRecord(
        upn=upn,
        legal_last_name=last,
        legal_first_name=first,
        preferred_first_name="",
        date_of_birth=datetime.date(2017, 1, 9),
        sex="F",
        year_group=4,
        addresses=(Address(paon="27", street="Church Road", town="Leeds", postcode="LS12 1TR"),),
        attendance=(
            YearAttendance(
                2025, source.name, source.la_code, source.establishment_number, 380, 14, 3
            ),
        ),
        fsm=(FsmInstance(datetime.date(2023, 9, 4), None),),
        sen=(SenEntry(datetime.date(2024, 1, 8), "K"),),
    )
    with transaction.atomic(), site_scope(destination.pk):
        if PupilArrival.objects.filter(site=destination, from_school=source).exists():
            return
        document = write_ctf(
            source=school_ref(source, today=today),
            destination=school_ref(destination),
            generated_at=f"{today:%Y-%m-%d}T09:00:00",
            records=[record],
        )
        PupilArrival.objects.create(
            site=destination,
            from_school=source,
            upn=upn,
            legal_first_name=first,
            legal_last_name=last,
            date_of_birth=record.date_of_birth,
            left_on=today - datetime.timedelta(days=1),
            record=document.decode("utf-8"),
            sent_by=f"head@{source.slug}.test",
        )


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
    _seed_business_roles(trust)
    _seed_invitation(trust, admin_profile)
    # Sign-in with Microsoft for the trust's own domain: the sign-in page offers it once
    # the deployment configures Microsoft (README, "Sign-in with Microsoft or Google").
    SiteSecurityPolicy.objects.update_or_create(
        site=trust,
        defaults={
            "sign_in_provider": "microsoft",
            "sign_in_domains": "oak-ridge.test",
            "accept_provider_mfa": True,
        },
    )
    trust_schools = list(current_schools(group=trust))
    _seed_school_staff(trust_schools)
    _seed_clusters(trust, school, trust_schools)
    _seed_agreements(trust, school, trust_schools)
    _seed_forwarded_request(trust, school, trust_schools)
    _seed_departure(trust, school, trust_schools)
    seed_staff_sharing(
        schools=[school, *(s for s in trust_schools if s != school)],
        hub=current_schools(group=la).exclude(pk__in=[s.pk for s in trust_schools]).first(),
        password=DEMO_PASSWORD,
    )
    _seed_apps(school, trust_schools)
    progress("Published (DfE) census, performance, absence and suspension figures")
    _seed_published_figures([*trust_schools, *current_schools(group=la)])
    # The head school's staff: the recipients the send panel offers (head, deputy, data).
    logins += [
        DemoLogin(school, f"{local}@{school.slug}.test", role_name)
        for role_name, local in SCHOOL_STAFF
    ]
    return logins, trust_schools


def _seed_published_figures(schools: list[Institution]) -> None:
    """The DfE's published figures for the last two years (absence, suspensions, the
    census with its SEN figures, key stage 2 and key stage 4: all that level 1 shows), as
    generated files in the Explore Education Statistics layout, through the importer."""
    entries = [(s.urn, s.pupils, s.phase) for s in schools]
    years = academic_years(DEMO_PUBLISHED_LATEST, 2)
    for text in (
        absence_csv(entries, years=years, seed=DEMO_SEED),
        suspensions_csv(entries, years=years, seed=DEMO_SEED),
        census_csv(entries, years=years, seed=DEMO_SEED),
        sen_csv(entries, years=years, seed=DEMO_SEED),
        ks2_csv(entries, years=years, seed=DEMO_SEED),
        ks4_csv(entries, years=years, seed=DEMO_SEED),
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


# Roles the trust made itself (Staff > Business roles): one in use, one retired.
DEMO_OWN_ROLE = "Attendance Officer"
DEMO_RETIRED_ROLE = "Exams Officer (until 2025)"


def _seed_business_roles(trust: Institution) -> None:
    """A role the trust made for itself and one it has retired, as their pages show them;
    created once (the trust may change them afterwards)."""
    actor = system_actor(site=trust)
    existing = set(BusinessRole.objects.filter(site=trust).values_list("name", flat=True))
    for name, retired in ((DEMO_OWN_ROLE, False), (DEMO_RETIRED_ROLE, True)):
        if name in existing:
            continue
        role = role_create(site=trust, name=name, actor=actor)
        role_grants_set(
            role=role,
            grants={INSTITUTION_DETAILS: "view"},
            in_school={INSTITUTION_DETAILS: "view"},
            actor=actor,
        )
        if retired:
            role_retire(role=role, actor=actor)


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


def _seed_forwarded_request(trust: Institution, hop_school: Institution, schools) -> None:
    """A pending request to one school without an agreement, sent to its Head Teacher and,
    chosen by name, its Data Manager; the head forwarded it to the deputy ("not me"). So
    the Pending tab, the school's request page and the mail page show recipients by person
    and a forward. A later run finds the request and leaves it."""
    others = [s for s in schools if s.pk != hop_school.pk]
    school = others[16]  # after the sixteen _seed_agreements gives an agreement
    if AgreementRequest.objects.filter(group=trust, school=school).exists():
        return
    staff = {
        p.user.email: p for p in StaffProfile.objects.filter(site=school).select_related("user")
    }
    sender = StaffProfile.objects.get(site=trust, user__email="trust.admin@oak-ridge.test")
    agreement_requests_send(
        group=trust,
        schools=[school],
        sender=sender,
        recipient_roles=["Head Teacher"],
        named_recipients=[staff[f"data@{school.slug}.test"].pk],
        level=AccessLevel.DFE_AND_MIS_DATA,
        actor=system_actor(site=trust),
    )
    head = staff[f"head@{school.slug}.test"]
    agreement_request_forward(
        request=AgreementRequest.objects.get(group=trust, school=school),
        to_profile_id=staff[f"deputy@{school.slug}.test"].pk,
        actor=Actor(user=head.user, site=school),
    )


def _seed_departure(trust: Institution, hop_school: Institution, schools) -> None:
    """One school that left the trust and rejoined: the agreement it had ended when it left
    (history on both sites: Data Sharing Agreements > Ended agreements, the school's Data
    Sharing page) and it is back on the No Agreement tab. Done once."""
    others = [s for s in schools if s.pk != hop_school.pk]
    if len(others) <= 17:  # the first sixteen have their level (_seed_agreements), the
        return  # seventeenth a forwarded request (_seed_forwarded_request)
    school = others[17]
    if Agreement.objects.ended().filter(group=trust, school=school).exists():
        return
    actor = system_actor(site=trust)
    agreement_raise(group=trust, school=school, level=AccessLevel.DFE_AND_MIS_DATA, actor=actor)
    today = timezone.localdate()
    membership_end(
        memberships=GroupMembership.objects.filter(group=trust, school=school, left_on=None),
        actor=system_actor(),
        left_on=today,
    )
    membership_ensure(group=trust, school=school, joined_on=today)


def _seed_apps(head_school: Institution, schools: list[Institution]) -> None:
    """Two apps: Reading Stars (Students and Attendance required, Student Characteristics
    optional) authorised at the head school without the optional scope and waiting at
    another trust school; School Finder (Public School Data only). Its client id and secret
    are the demo's own (``DEMO_APP_CLIENT_ID``, ``DEMO_APP_SECRET``)."""
    actor = system_actor(site=head_school)
    apps = []
    for spec in DEMO_APPS:
        app = App.objects.filter(vendor=spec["vendor"], name=spec["name"]).first()
        if app is None:
            app, _ = app_register(**spec, actor=actor)
        apps.append(app)
    reading_stars = apps[0]
    client = reading_stars.oauth_client
    client.client_id = DEMO_APP_CLIENT_ID
    client.client_secret = DEMO_APP_SECRET  # hashed as it is saved
    client.save(update_fields=["client_id", "client_secret", "updated"])
    if not AppAuthorisation.objects.filter(app=reading_stars, school=head_school).exists():
        outcome = access_request_open(
            app=reading_stars, school=head_school, origin=RequestOrigin.APP
        )
        request_authorise(
            request=outcome.request,
            required_scopes=list(reading_stars.required_scopes),
            optional_scopes=[],
            actor=actor,
        )
    others = [s for s in schools if s.pk != head_school.pk]
    if others:
        access_request_open(app=reading_stars, school=others[0], origin=RequestOrigin.APP)


def demo_app_lines(base_url: str) -> list[str]:
    """What the run prints for an app developer: the demo app's credentials and one curl
    line that fetches a token and a page of students at the school that authorised it."""
    authorisation = (
        AppAuthorisation.objects.filter(app__oauth_client__client_id=DEMO_APP_CLIENT_ID)
        .select_related("school")
        .first()
    )
    if authorisation is None:
        return []
    token_url = f"{base_url}/api/apps/v1/oauth/token/"
    students = f"{base_url}/api/apps/v1/schools/{authorisation.school.urn}/students/?page_size=5"
    return [
        f"  Demo app (Reading Stars): client id {DEMO_APP_CLIENT_ID}, secret {DEMO_APP_SECRET}",
        f"  A token and a page of students at {authorisation.school.name}:",
        f'    curl -s -H "Authorization: Bearer $(curl -s -d grant_type=client_credentials '
        f"-d client_id={DEMO_APP_CLIENT_ID} -d client_secret={DEMO_APP_SECRET} {token_url} "
        f'| python3 -c \'import json,sys; print(json.load(sys.stdin)["access_token"])\')" '
        f"'{students}'",
    ]
