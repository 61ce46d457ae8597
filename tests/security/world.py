"""One world for the probe matrix: trust A (the site under attack) and trust B (the foreign
one), with schools, clusters, staff holding every permission, agreements, pending requests,
audit events, email deliveries, hop tokens, a register import and platform staff.

Every object a response must not show carries a distinctive marker string, so a probe can
search the body for it: trust A's are "Probe"/"Aardvark" names and ``@oakridge-probe.test``
addresses, trust B's are "Foreign"/"Zebra" names and ``zz-foreign-…@zebra-foreign.test``.
"""

import dataclasses
import datetime
import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import audit
from accounts.audit import Actor
from accounts.identity.views import PasswordResetConfirmView
from accounts.models import (
    AuditAction,
    BusinessRole,
    HopToken,
    RoleGrant,
    StaffAssociation,
    StaffProfile,
    User,
)
from accounts.permissions import INSTITUTION_DETAILS, LOGIN_TO_MIS, NETWORK_LEADERSHIP, Access
from accounts.staff.onboarding import NewStaffMember, staff_member_add
from accounts.staff.services import role_assign, roles_ensure_defaults
from institutions.models import Institution, RegisterImport, Status
from matmis.tenancy import SESSION_SITE_KEY, session_mark
from mis.models import (
    AttendanceRollup,
    CtfImport,
    OutsideRead,
    OutsideReadKind,
    PupilArrival,
    RollupState,
)
from networks.models import (
    Network,
    NetworkKind,
    NetworkOrganisation,
    Resource,
    ResourceKind,
    ResourceShare,
    ShareGroup,
)
from notifications.models import DeliveryStatus, EmailDelivery
from sharing.emails import AGREEMENT_REQUEST_EMAIL, EmailKind, request_topic
from sharing.models import (
    AccessLevel,
    Agreement,
    AgreementRequest,
    RequestRecipient,
    RequestStatus,
)
from tests.conftest import SiteClient
from tests.factories import TEST_PASSWORD, TrustFactory, UserFactory
from tests.hop.factories import agreement_changed_past_its_guard
from tests.institutions.factories import ClusterFactory, add_school, put_in_cluster
from tests.mis.ctf_files import ctf_xml, pupil_xml
from tests.mis.factories import (
    PupilFactory,
    in_site,
    make_upn,
    mark_days,
    registration_group,
    school_days,
    suspend,
)
from tests.thirdparty.factories import authorise, make_app, token_for
from thirdparty.models import AppStatus, RequestOrigin
from thirdparty.scopes import CONSENT_SCOPES
from thirdparty.services import access_request_open, app_status_set

PLATFORM = "platform"  # the bare base domain's "host" key
TRUST_A = "oak-ridge-probe"  # the group site under attack
SCHOOL_A1 = "aster-probe"  # a school of trust A (level 2, a pending request for level 3)
SCHOOL_A2 = "birch-probe"  # a school of trust A at level 3: the hop goes here
SCHOOL_A5 = "elder-probe"  # level 3, left trust A during a hop (REVOKED_HOPS)
SCHOOL_A6 = "fir-probe"  # level 3, its agreement lowered during a hop (REVOKED_HOPS)
SCHOOL_A7 = "gorse-probe"  # level 3, its agreement ended during a hop (REVOKED_HOPS)
SITE_HOSTS = (TRUST_A, SCHOOL_A1, SCHOOL_A2, SCHOOL_A5, SCHOOL_A6, SCHOOL_A7)
MISSING_INT = 2_000_000_000  # an id no row has (still a valid PostgreSQL integer)
MISSING_URN = "123450"
MISSING_EMAIL = "nobody-probe@nowhere-probe.test"
MISSING_TOKEN = "not-a-real-hop-token"
PLATFORM_STAFF_EMAIL = "pp-platform@probe-platform.test"  # a platform superuser's address


@dataclass(frozen=True)
class Ids:
    """The identifiers of one side (own, foreign or missing) as a route would take them."""

    urn: str
    cluster: int
    profile: int  # a staff profile of the site
    group_request: int  # a pending request sent by the group
    school_request: int  # a pending request to the school
    role: int
    email: str
    password: str  # the password sign-in probes send with ``email``
    user: int
    hop_token: str
    reset_token: str  # a password reset token for ``user`` (a real one, except missing)
    pupil: int  # a pupil of the side's school
    people_search: str  # a search that finds this side's staff by name
    audit_search: str  # part of this side's staff email addresses
    admin: dict = field(default_factory=dict)  # admin model label -> object id
    invitation: int = MISSING_INT  # a staff invitation of the site, not yet accepted
    arrival: int = MISSING_INT  # a pupil arriving at the school from another school
    ctf_import: int = MISSING_INT  # a Common Transfer File uploaded to the school
    registration_group: int = MISSING_INT  # a registration group of the side's school
    # Staff sharing (``networks``): a resource of the site's staff, one of its shares, a
    # network the site belongs to, and one of its local groups.
    resource: int = MISSING_INT
    share: int = MISSING_INT
    network: int = MISSING_INT
    share_group: int = MISSING_INT
    # Third-party apps: a Data Access Request to the side's school, its authorisation of an
    # app, and an app (the foreign side's is suspended: not in any directory).
    app_request: int = MISSING_INT
    app_authorisation: int = MISSING_INT
    app: int = MISSING_INT


@dataclass(frozen=True)
class RevokedHop:
    """A hop session whose right went after it was redeemed: the role that replays it, the
    school host it was redeemed at, what went, and words of the reason the person must be
    shown when the next request ends it."""

    role: str
    host: str
    what: str
    reason: str


REVOKED_HOPS = (
    RevokedHop(
        "hop_permission_removed",
        SCHOOL_A2,
        "the Login to MIS grant of their role was removed (its school-level set stays)",
        "Login to MIS: Associated institutions",
    ),
    RevokedHop(
        "hop_association_removed",
        SCHOOL_A2,
        "their association with the school was removed",
        "You are not associated with Birch Probe Academy",
    ),
    RevokedHop(
        "hop_membership_ended",
        SCHOOL_A5,
        "the school's membership of the trust ended",
        "Elder Probe School is not one of Oak Ridge Probe Trust",
    ),
    RevokedHop(
        "hop_agreement_lowered",
        SCHOOL_A6,
        "the agreement fell to level 2 (past the database's guard)",
        "Fir Probe School has not agreed to",
    ),
    RevokedHop(
        "hop_agreement_ended",
        SCHOOL_A7,
        "the agreement ended (deleted past the database's guard)",
        "Gorse Probe School has not agreed to",
    ),
)


@dataclass
class Marker:
    text: str
    side: str  # "A" (trust A's world) or "B" (foreign)
    public_on: tuple[str, ...] = ()  # hosts where the text is the site's own name
    kind: str = ""  # "audit", "school:<slug>"... for role-specific rules


class World:
    """Build with ``World.build()`` inside a transaction that is rolled back afterwards."""

    def __init__(self):
        self.markers: list[Marker] = []
        self.sessions: dict[tuple[str, str], str] = {}  # (role, host) -> session key
        self.people: dict[tuple[str, str], User] = {}  # (role, host) -> who is signed in

    # --- helpers ----------------------------------------------------------------------------

    def mark(self, text: str, side: str, *, public_on=(), kind="") -> str:
        self.markers.append(Marker(text, side, tuple(public_on), kind))
        return text

    def person(self, site, name, email, role_name=None, *, side, marked=True) -> StaffProfile:
        """``marked``: False for someone whose name may rightly show at other sites of the
        world (a trust's staff who hopped into a school are in that school's audit trail)."""
        kind = f"staff:{site.slug}"
        if marked:
            name, email = self.mark(name, side, kind=kind), self.mark(email, side, kind=kind)
        user = UserFactory(full_name=name, email=email)
        profile = StaffProfile.objects.create(site=site, user=user, job_title="Probe")
        if role_name:
            role_assign(profile=profile, role=roles_ensure_defaults(site=site)[role_name])
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        return profile

    def invite(self, site, name, email, inviter: StaffProfile, *, side) -> int:
        """An invitation (not yet accepted) of a new person to ``site``: its id."""
        kind = f"staff:{site.slug}"
        role = next(iter(roles_ensure_defaults(site=site).values()))
        result = staff_member_add(
            site=site,
            member=NewStaffMember(
                full_name=self.mark(name, side, kind=kind),
                email=self.mark(email, side, kind=kind),
                job_title="Probe",
                roles=[role],
            ),
            actor=Actor(user=inviter.user, site=site),
        )
        return result.invitation.pk

    def school(self, group, name, slug, urn, *, side):
        school = add_school(
            group,
            name=self.mark(name, side, public_on=(slug,), kind=f"school:{slug}"),
            slug=slug,
            urn=self.mark(urn, side, kind=f"school:{slug}"),
            status=Status.OPEN,
        )
        roles_ensure_defaults(site=school)
        return school

    def agree(self, group, school, level):
        return Agreement.objects.create(
            group=group, school=school, level=level, approved_at=timezone.now()
        )

    def pending(self, group, school, level, sender, heads):
        request = AgreementRequest.objects.create(
            group=group, school=school, level=level, sender=sender, status=RequestStatus.PENDING
        )
        for head in heads:
            recipient = RequestRecipient.objects.create(
                request=request,
                school=school,
                user=head.user,
                email=head.user.email,
                role_name="Head Teacher",
            )
            EmailDelivery.objects.create(
                site=group,
                address=recipient.email,
                kind=EmailKind.REQUEST,
                topic=request_topic(request.pk),
                builder=AGREEMENT_REQUEST_EMAIL,
                params={
                    "request_id": request.pk,
                    "recipient_id": recipient.pk,
                    "reminder_id": None,
                },
                dedupe_key=f"{request.pk}:{recipient.pk}:request:",
                status=DeliveryStatus.SENT,
                attempts=1,
                sent_at=timezone.now(),
            )
        return request

    def pupil(self, school, first, last, upn, *, side):
        """A pupil with a week of marks and a suspension: personal data of ``school``."""
        kind = f"pupil:{school.slug}"
        pupil = PupilFactory(
            site=school,
            legal_first_name=self.mark(first, side, kind=kind),
            legal_last_name=self.mark(last, side, kind=kind),
            upn=self.mark(upn, side, kind=kind),
        )
        days = school_days(datetime.date(2026, 11, 16), datetime.date(2026, 11, 20))
        mark_days(pupil, days, ["/", "O"] * 5)
        suspend(pupil, datetime.date(2026, 10, 5))
        return pupil

    def arrival_and_ctf(self, school, from_school, first, last, upn, uploader, *, side):
        """A pupil arriving at ``school`` from ``from_school`` and a CTF uploaded to it, both
        naming the same (marked) pupil: personal data of ``school``."""
        kind = f"pupil:{school.slug}"
        first, last = self.mark(first, side, kind=kind), self.mark(last, side, kind=kind)
        upn = self.mark(upn, side, kind=kind)
        record = ctf_xml(pupil_xml(upn, surname=last, forename=first, preferred=first))
        with in_site(school):
            arrival = PupilArrival.objects.create(
                site=school,
                from_school=from_school,
                upn=upn,
                legal_first_name=first,
                legal_last_name=last,
                date_of_birth=datetime.date(2016, 5, 2),
                left_on=datetime.date(2026, 12, 4),
                record=record,
                sent_by="probe",
            )
            ctf_import = CtfImport.objects.create(
                site=school,
                uploaded_by=uploader.user,
                original_name=self.mark(f"{last}-ctf.xml", side, kind=kind),
                content=record,
                source_school="Probe source",
                pupils_in_file=1,
            )
        return arrival.pk, ctf_import.pk

    def registration_group(self, school, name, pupil, teacher, *, side):
        """A registration group of ``school`` holding ``pupil``, taught by ``teacher``."""
        return registration_group(
            school,
            self.mark(name, side, kind=f"pupil:{school.slug}"),
            teachers=[teacher],
            pupils=[pupil],
        )

    def unshared_live_figures(self, school):
        """Live figures (roll-ups) of a school whose agreement is at level 1: no page or
        answer of trust A's may show them, not even to its administrator."""
        counts = {"pupils_on_roll": 9753, "possible_sessions": 864200, "persistent": 4321}
        for value in counts.values():
            self.mark(str(value), "A", kind="unshared-live")
            self.mark(f"{value:,}", "A", kind="unshared-live")
        RollupState.objects.create(
            school=school,
            changed_at=timezone.now(),
            refreshed_at=timezone.now(),
            refreshed_for=timezone.localdate(),
        )
        AttendanceRollup.objects.create(
            school=school,
            year_group=5,
            disadvantaged=False,
            sen_provision="N",
            pupils_on_roll=counts["pupils_on_roll"],
            pupils_with_sessions=counts["pupils_on_roll"],
            possible_sessions=counts["possible_sessions"],
            present_sessions=800000,
            authorised_sessions=40000,
            unauthorised_sessions=24200,
            persistent_absentees=counts["persistent"],
            suspensions=77,
            permanent_exclusions=0,
        )

    def audit(self, profile, target, side):
        actor = Actor(user=profile.user, site=profile.site, ip_address="127.0.0.1")
        audit.record(
            actor=actor,
            action=AuditAction.CLUSTER_CHANGED,
            target=self.mark(target, side, kind="audit"),
        )

    def hop_token(self, *, user, group, school, group_session_key, token):
        now = timezone.now()
        HopToken.objects.create(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            user=user,
            group=group,
            school=school,
            group_session_key=group_session_key,
            created_at=now,
            expires_at=now + datetime.timedelta(days=1),
        )
        return token

    def session(self, user, site, *, verified=True) -> str:
        """A signed-in session for ``user`` bound to ``site``'s host (None: the platform),
        past two-factor sign-in: as if they had signed in there."""
        store = SessionStore()
        store["_auth_user_id"] = str(user.pk)
        store["_auth_user_backend"] = "accounts.backends.SiteStaffBackend"
        store["_auth_user_hash"] = user.get_session_auth_hash()
        store[SESSION_SITE_KEY] = session_mark(site)
        if verified:
            device = TOTPDevice.objects.filter(user=user).first()
            if device is None:
                device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
            store[DEVICE_ID_SESSION_KEY] = device.persistent_id
        store.create()
        return store.session_key

    def sign_in(self, role: str, slug: str, user, site, *, verified=True) -> None:
        self.sessions[(role, slug)] = self.session(user, site, verified=verified)
        self.people[(role, slug)] = user

    def signed_out(self, user, site) -> str:
        """Sign in, sign out through the real view, and return the old cookie's key."""
        key = self.session(user, site)
        client = SiteClient(site)
        client.cookies[settings.SESSION_COOKIE_NAME] = key
        response = client.post("/sign-out/" if site is None else "/accounts/sign-out/")
        assert response.status_code in {200, 302}, response.status_code
        assert not SessionStore().exists(key), "signing out left the session alive"
        return key

    # --- the world ----------------------------------------------------------------------------

    @classmethod
    def build(cls) -> "World":
        w = cls()
        # Trust A: the site under attack.
        w.ta = TrustFactory(
            name=w.mark("Oak Ridge Probe Trust", "A", public_on=("oak-ridge-probe",)),
            slug="oak-ridge-probe",
        )
        w.a1 = w.school(w.ta, "Aster Probe Primary", "aster-probe", "700001", side="A")
        w.a2 = w.school(w.ta, "Birch Probe Academy", "birch-probe", "700002", side="A")
        w.a3 = w.school(w.ta, "Cedar Probe School", "cedar-probe", "700003", side="A")
        w.a4 = w.school(w.ta, "Damson Probe School", "damson-probe", "700004", side="A")
        w.cluster_a = ClusterFactory(
            group=w.ta, name=w.mark("Aardvark Probe Cluster", "A", kind="cluster")
        )
        put_in_cluster(w.cluster_a, w.a1, w.a2)

        w.a_admin = w.person(
            w.ta, "Amelia Aardvark", "aa-admin@oakridge-probe.test", "Trust Administrator", side="A"
        )
        StaffAssociation.objects.create(site=w.ta, profile=w.a_admin, all_schools=True)
        # Trust A's administrator holds every permission the routes need (the "level too
        # low" role), also approving networks on behalf of the trust's leadership.
        leadership = BusinessRole.objects.create(site=w.ta, name="Probe network leadership")
        RoleGrant.objects.create(
            site=w.ta, role=leadership, code=NETWORK_LEADERSHIP, access=int(Access.ADMINISTER)
        )
        role_assign(profile=w.a_admin, role=leadership)
        w.a_noperm = w.person(
            w.ta, "Arthur Nopermission", "aa-noperm@oakridge-probe.test", side="A"
        )
        w.a_leaver = w.person(
            w.ta,
            "Abigail Signedout",
            "aa-signedout@oakridge-probe.test",
            "Trust Administrator",
            side="A",
        )
        heads = {}
        for school, first in ((w.a1, "Alice"), (w.a2, "Bella"), (w.a3, "Cora"), (w.a4, "Daisy")):
            heads[school.pk] = w.person(
                school,
                f"{first} Probehead",
                f"aa-head-{school.slug}@oakridge-probe.test",
                "Head Teacher",
                side="A",
            )
        w.a1_head = heads[w.a1.pk]
        w.a2_head = heads[w.a2.pk]
        # School staff whose role grants none of the pupil-data permissions (issue 13).
        w.a1_no_pupils = w.person(
            w.a1, "Alfie Nopupils", "aa-nopupils@oakridge-probe.test", side="A"
        )
        caretaker = BusinessRole.objects.create(site=w.a1, name="Site Manager")
        RoleGrant.objects.create(
            site=w.a1, role=caretaker, code=INSTITUTION_DETAILS, access=int(Access.VIEW)
        )
        role_assign(profile=w.a1_no_pupils, role=caretaker)
        w.agree(w.ta, w.a1, AccessLevel.DFE_AND_MIS_DATA)
        w.agree(w.ta, w.a2, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS)  # the hop target
        w.agree(w.ta, w.a3, AccessLevel.DFE_DATA)  # the level too low to hop
        w.a1_request = w.pending(
            w.ta, w.a1, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS, w.a_admin, [heads[w.a1.pk]]
        )
        w.a4_request = w.pending(w.ta, w.a4, AccessLevel.DFE_DATA, w.a_admin, [heads[w.a4.pk]])
        w.a1_pupil = w.pupil(w.a1, "Aphra", "Probepupil", make_upn("383", "7001", 11), side="A")
        w.a2_pupil = w.pupil(w.a2, "Bryony", "Hoppupil", make_upn("383", "7002", 12), side="A")
        w.a1_arrival, w.a1_ctf_import = w.arrival_and_ctf(
            w.a1, w.a3, "Ariadne", "Arrivingprobe", make_upn("383", "7001", 21), w.a1_head, side="A"
        )
        w.a1_group = w.registration_group(w.a1, "Aspen Form", w.a1_pupil, w.a1_head, side="A")
        w.unshared_live_figures(w.a3)
        w.audit(w.a_admin, "Aardvark probe audit entry", "A")
        w.audit(w.a1_head, "Aster probe audit entry", "A")
        w.ta_invitation = w.invite(
            w.ta, "Ingrid Invitedprobe", "aa-invited@oakridge-probe.test", w.a_admin, side="A"
        )
        w.a1_invitation = w.invite(
            w.a1, "Iona Invitedhead", "aa-invited-head@oakridge-probe.test", w.a1_head, side="A"
        )

        # Trust B: everything here is foreign to trust A's sites.
        w.tb = TrustFactory(
            name=w.mark("Zebra Foreign Trust", "B", public_on=("zebra-foreign",)),
            slug="zebra-foreign",
        )
        w.b1 = w.school(w.tb, "Zebra Foreign Academy", "zebra-academy", "799901", side="B")
        w.b2 = w.school(w.tb, "Zulu Foreign Primary", "zulu-primary", "799902", side="B")
        w.b3 = w.school(w.tb, "Yak Foreign School", "yak-school", "799903", side="B")
        w.cluster_b = ClusterFactory(
            group=w.tb, name=w.mark("Zebra Foreign Cluster", "B", kind="cluster")
        )
        put_in_cluster(w.cluster_b, w.b1, w.b2)
        w.b_admin = w.person(
            w.tb,
            "Zed Foreigner",
            "zz-foreign-admin@zebra-foreign.test",
            "Trust Administrator",
            side="B",
        )
        StaffAssociation.objects.create(site=w.tb, profile=w.b_admin, all_schools=True)
        w.b1_head = w.person(
            w.b1, "Zara Foreignhead", "zz-foreign-head@zebra-foreign.test", "Head Teacher", side="B"
        )
        w.b2_head = w.person(
            w.b2, "Zoe Foreignhead", "zz-foreign-head2@zebra-foreign.test", "Head Teacher", side="B"
        )
        w.agree(w.tb, w.b1, AccessLevel.DFE_AND_MIS_DATA)
        w.agree(w.tb, w.b3, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS)
        w.b1_request = w.pending(
            w.tb, w.b1, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS, w.b_admin, [w.b1_head]
        )
        w.b2_request = w.pending(w.tb, w.b2, AccessLevel.DFE_DATA, w.b_admin, [w.b2_head])
        w.b1_pupil = w.pupil(w.b1, "Zinnia", "Foreignpupil", make_upn("384", "7991", 13), side="B")
        w.b1_arrival, w.b1_ctf_import = w.arrival_and_ctf(
            w.b1,
            w.b2,
            "Zephyrine",
            "Arrivingforeign",
            make_upn("384", "7991", 23),
            w.b1_head,
            side="B",
        )
        w.b1_group = w.registration_group(w.b1, "Zebra Form", w.b1_pupil, w.b1_head, side="B")
        with in_site(w.b1):  # a read of B1's pupil from trust B: nobody at trust A sees it
            OutsideRead.objects.create(
                site=w.b1,
                reader=w.b_admin.user,
                from_group=w.tb,
                what=OutsideReadKind.PUPIL,
                pupil=w.b1_pupil,
                path=f"/students/{w.b1_pupil.pk}/",
            )
        w.audit(w.b_admin, "Zebra foreign audit entry", "B")
        w.audit(w.b1_head, "Zebra foreign school audit entry", "B")
        w.tb_invitation = w.invite(
            w.tb, "Zinovia Invitedforeign", "zz-invited@zebra-foreign.test", w.b_admin, side="B"
        )
        w.b1_invitation = w.invite(
            w.b1, "Zelda Invitedforeign", "zz-invited-head@zebra-foreign.test", w.b1_head, side="B"
        )

        # The platform: a support superuser (with an authenticator, like the demo's), one
        # who has not set up two-factor sign-in yet, and one register import.
        w.platform_staff = UserFactory(
            full_name="Pat Platform",
            email=PLATFORM_STAFF_EMAIL,
            is_staff=True,
            is_superuser=True,
        )
        TOTPDevice.objects.create(user=w.platform_staff, name="phone", confirmed=True)
        w.platform_newcomer = UserFactory(
            full_name="Nadia Newsupport",
            email="pn-platform@probe-platform.test",
            is_staff=True,
            is_superuser=True,
        )
        w.register_import = RegisterImport.objects.create(
            uploaded_by=w.platform_staff,
            file="register-imports/probe.csv",
            original_name="probe-register.csv",
            size=1,
            status=RegisterImport.State.DONE,
        )

        w.sharing = {
            "ta": w.staff_sharing(w.ta, w.a_admin, w.a1, "A"),
            "a1": w.staff_sharing(w.a1, w.a1_head, w.a2, "A"),
            "tb": w.staff_sharing(w.tb, w.b_admin, w.b1, "B"),
            "b1": w.staff_sharing(w.b1, w.b1_head, w.b2, "B"),
        }

        w._sessions_and_tokens()
        w._ids()
        w._revoked_hops()
        w._app_client()
        return w

    def staff_sharing(self, site, owner: StaffProfile, partner, side) -> dict:
        """A resource of ``owner`` at ``site`` shared with a colleague, a pending network of
        ``site`` with ``partner`` and a local group: their ids."""
        colleague = self.person(
            site, f"Colleague {site.slug}", f"colleague-{site.slug}@sharing-probe.test", side=side
        )
        resource = Resource.objects.create(
            site=site,
            owner=owner.user,
            kind=ResourceKind.NOTE,
            title=self.mark(f"Resource probe {site.slug}", side, kind="resource"),
            note="Probe note",
        )
        share = ResourceShare.objects.create(
            site=site,
            resource=resource,
            recipient=colleague.user,
            recipient_site=site,
            shared_by=owner.user,
        )
        network = Network.objects.create(
            kind=NetworkKind.COLLABORATION,
            name=self.mark(f"Network probe {site.slug}", side, kind="network"),
            site=site,
            requested_by=owner.user,
        )
        for member in (site, partner):
            NetworkOrganisation.objects.create(network=network, site=member)
        group = ShareGroup.objects.create(
            site=site,
            owner=owner.user,
            name=self.mark(f"Group probe {site.slug}", side, kind="group"),
        )
        return {
            "resource": resource.pk,
            "share": share.pk,
            "network": network.pk,
            "group": group.pk,
        }

    def _app_client(self):
        """A third-party app authorised at school A1 for every scope, with a live token:
        the probe matrix's "app_client" role calls every route with it."""
        app, _ = make_app(required=CONSENT_SCOPES, vendor="Probe Vendor", name="Probe Reader")
        own_grant = authorise(app, self.a1)
        self.app_token = token_for(app, expires_in=24 * 3600)  # outlives a slow run of the matrix
        # School B1 authorised another app (the app_client role's app never reaches it).
        elsewhere, _ = make_app(vendor="Probe Vendor", name="B1 Reader")
        foreign_grant = authorise(elsewhere, self.b1)
        # A pending request at each side's school, from an app asking for more than any
        # school granted; and a suspended app for the foreign side.
        asking, _ = make_app(required=("students", "staff"), vendor="Probe Vendor", name="Asker")
        own_request = access_request_open(app=asking, school=self.a1, origin=RequestOrigin.APP)
        foreign_request = access_request_open(app=asking, school=self.b1, origin=RequestOrigin.APP)
        suspended, _ = make_app(vendor="Probe Vendor", name="Suspended")
        app_status_set(app=suspended, status=AppStatus.SUSPENDED, actor=audit.system_actor())
        for (host, mode), ids in list(self.ids.items()):
            own = mode == "own"
            self.ids[(host, mode)] = dataclasses.replace(
                ids,
                app_request=(own_request if own else foreign_request).request.pk,
                app_authorisation=(own_grant if own else foreign_grant).pk,
                app=asking.pk if own else suspended.pk,
            )

    def _sessions_and_tokens(self):
        ta, a1, a2 = self.ta, self.a1, self.a2
        admin = self.a_admin.user
        # The group session the hop hangs from (also the "level too low" role's session).
        self.group_session = self.session(admin, ta)
        self.sessions[("level_too_low", ta.slug)] = self.group_session
        self.people[("level_too_low", ta.slug)] = admin
        # A real hop into A2 through the group site's pages.
        group_client = SiteClient(ta)
        group_client.cookies[settings.SESSION_COOKIE_NAME] = self.group_session
        chosen = group_client.post("/log-in-to-mis/", {"school": a2.urn})
        assert chosen.status_code == 200, chosen.content.decode()[:2000]
        token = chosen.context["token"]
        school_client = SiteClient(a2)
        redeemed = school_client.post("/hop/", {"token": token})
        assert redeemed.status_code == 302, redeemed.content.decode()[:2000]
        hop_key = school_client.cookies[settings.SESSION_COOKIE_NAME].value
        assert school_client.get("/").wsgi_request.hop_group == ta
        self.sessions[("hop", a2.slug)] = hop_key  # foreign ids inside the hop's school
        self.sessions[("hop", a1.slug)] = hop_key  # the hop's cookie at another school
        self.people[("hop", a2.slug)] = self.people[("hop", a1.slug)] = admin
        # A hop into A2 by trust A staff whose group role may log in to MIS but whose
        # in-school set is empty: inside, no pupil data at all (issue 13).
        hopper_role = BusinessRole.objects.create(site=ta, name="Probe Visitor")
        RoleGrant.objects.create(
            site=ta, role=hopper_role, code=LOGIN_TO_MIS, access=int(Access.ADMINISTER)
        )
        hopper = self.person(
            ta, "Hetty Emptyset", "aa-emptyset@oakridge-probe.test", side="A", marked=False
        )
        role_assign(profile=hopper, role=hopper_role)
        StaffAssociation.objects.create(site=ta, profile=hopper, all_schools=True)
        self.sessions[("hop_no_pupil_grants", a2.slug)] = self._hop_in(hopper.user, a2)
        self.people[("hop_no_pupil_grants", a2.slug)] = hopper.user

        for host in (ta, a1, None):
            slug = host.slug if host is not None else PLATFORM
            self.sign_in("other_trust", slug, self.b_admin.user, host)
            self.sign_in("other_school", slug, self.b1_head.user, host)
        self.sign_in("no_permission", ta.slug, self.a_noperm.user, ta)
        self.sign_in("no_pupil_permission", a1.slug, self.a1_no_pupils.user, a1)
        self.sign_in("no_permission", PLATFORM, self.a_noperm.user, None)
        for host in (ta, a1):
            self.sign_in("platform_staff", host.slug, self.platform_staff, host)
        # On the platform: a password-only session of staff with an authenticator, and of
        # staff without one; and a verified session, which may use every platform page.
        self.sign_in("platform_unverified", PLATFORM, self.platform_staff, None, verified=False)
        self.sign_in(
            "platform_no_two_factor", PLATFORM, self.platform_newcomer, None, verified=False
        )
        self.platform_staff_session = self.session(self.platform_staff, None)
        self.sessions[("signed_out", ta.slug)] = self.signed_out(self.a_leaver.user, ta)
        self.sessions[("signed_out", a1.slug)] = self.signed_out(self.a1_head.user, a1)
        self.sessions[("signed_out", PLATFORM)] = self.signed_out(self.platform_staff, None)

        # Tokens for the redeem endpoints: one for another school of trust A, one of trust B.
        self.token_a = self.hop_token(
            user=admin,
            group=ta,
            school=a2,
            group_session_key=self.group_session,
            token="probe-token-own-" + "a" * 24,
        )
        b_session = self.session(self.b_admin.user, self.tb)
        self.token_b = self.hop_token(
            user=self.b_admin.user,
            group=self.tb,
            school=self.b3,
            group_session_key=b_session,
            token="probe-token-foreign-" + "b" * 20,
        )

    def _ids(self):
        def role_id(site, name):
            return roles_ensure_defaults(site=site)[name].pk

        def reset(user):
            return PasswordResetConfirmView.token_generator.make_token(user)

        def device(profile):
            return TOTPDevice.objects.get(user=profile.user).pk

        def admin_ids(school, agreement_group, request, profile):
            return {
                "accounts.user": profile.user.pk,
                "institutions.institution": school.pk,
                "sharing.agreement": Agreement.objects.get(group=agreement_group, school=school).pk,
                "sharing.agreementrequest": request.pk,
                "otp_totp.totpdevice": device(profile),
                "contenttype": ContentType.objects.get_for_model(Institution).pk,
                # Register imports belong to the platform, not to a trust: the same one.
                "register_import": self.register_import.pk,
            }

        group_own = Ids(
            urn=self.a1.urn,
            cluster=self.cluster_a.pk,
            profile=self.a_admin.pk,
            group_request=self.a4_request.pk,
            school_request=self.a1_request.pk,
            role=role_id(self.ta, "Trust Administrator"),
            email=self.a_admin.user.email,
            password="not-the-password",
            user=self.a_admin.user.pk,
            hop_token=self.token_a,
            reset_token=reset(self.a_admin.user),
            pupil=self.a1_pupil.pk,
            arrival=self.a1_arrival,
            ctf_import=self.a1_ctf_import,
            people_search="Aardvark",
            audit_search="oakridge-probe.test",
            admin=admin_ids(self.a1, self.ta, self.a1_request, self.a_admin),
            invitation=self.ta_invitation,
            registration_group=self.a1_group.pk,
            resource=self.sharing["ta"]["resource"],
            share=self.sharing["ta"]["share"],
            network=self.sharing["ta"]["network"],
            share_group=self.sharing["ta"]["group"],
        )
        school_own = Ids(
            urn=self.a1.urn,
            cluster=self.cluster_a.pk,
            profile=self.a1_head.pk,
            group_request=self.a4_request.pk,
            school_request=self.a1_request.pk,
            role=role_id(self.a1, "Head Teacher"),
            email=self.a1_head.user.email,
            password="not-the-password",
            user=self.a1_head.user.pk,
            hop_token=self.token_a,  # a token for A2, presented at A1
            reset_token=reset(self.a1_head.user),
            pupil=self.a1_pupil.pk,
            arrival=self.a1_arrival,
            ctf_import=self.a1_ctf_import,
            people_search="Probehead",
            audit_search="oakridge-probe.test",
            admin=group_own.admin,
            invitation=self.a1_invitation,
            registration_group=self.a1_group.pk,
            resource=self.sharing["a1"]["resource"],
            share=self.sharing["a1"]["share"],
            network=self.sharing["a1"]["network"],
            share_group=self.sharing["a1"]["group"],
        )
        # Foreign sign-in probes send the foreign person's real password: it must not work.
        group_foreign = Ids(
            urn=self.b1.urn,
            cluster=self.cluster_b.pk,
            profile=self.b_admin.pk,
            group_request=self.b2_request.pk,
            school_request=self.b1_request.pk,
            role=role_id(self.tb, "Trust Administrator"),
            email=self.b_admin.user.email,
            password=TEST_PASSWORD,
            user=self.b_admin.user.pk,
            hop_token=self.token_b,
            reset_token=reset(self.b_admin.user),
            pupil=self.b1_pupil.pk,
            arrival=self.b1_arrival,
            ctf_import=self.b1_ctf_import,
            people_search="Foreigner",
            audit_search="zebra-foreign.test",
            admin=admin_ids(self.b1, self.tb, self.b1_request, self.b_admin),
            invitation=self.tb_invitation,
            registration_group=self.b1_group.pk,
            resource=self.sharing["tb"]["resource"],
            share=self.sharing["tb"]["share"],
            network=self.sharing["tb"]["network"],
            share_group=self.sharing["tb"]["group"],
        )
        school_foreign = Ids(
            urn=self.b1.urn,
            cluster=self.cluster_b.pk,
            profile=self.b1_head.pk,
            group_request=self.b2_request.pk,
            school_request=self.b1_request.pk,
            role=role_id(self.b1, "Head Teacher"),
            email=self.b1_head.user.email,
            password=TEST_PASSWORD,
            user=self.b1_head.user.pk,
            hop_token=self.token_b,
            reset_token=reset(self.b1_head.user),
            pupil=self.b1_pupil.pk,
            arrival=self.b1_arrival,
            ctf_import=self.b1_ctf_import,
            people_search="Foreignhead",
            audit_search="zebra-foreign.test",
            admin=group_foreign.admin,
            invitation=self.b1_invitation,
            registration_group=self.b1_group.pk,
            resource=self.sharing["b1"]["resource"],
            share=self.sharing["b1"]["share"],
            network=self.sharing["b1"]["network"],
            share_group=self.sharing["b1"]["group"],
        )
        missing = Ids(
            urn=MISSING_URN,
            cluster=MISSING_INT,
            profile=MISSING_INT,
            group_request=MISSING_INT,
            school_request=MISSING_INT,
            role=MISSING_INT,
            email=MISSING_EMAIL,
            password="not-the-password",
            user=MISSING_INT,
            hop_token=MISSING_TOKEN,
            reset_token="probe-set-password-token",
            pupil=MISSING_INT,
            people_search="Nobodyprobe",
            audit_search="nowhere-probe.test",
            admin={key: MISSING_INT for key in group_own.admin},
        )
        # The platform's "own" objects are trust A's: support pages must not show either.
        platform_own = Ids(**{**group_own.__dict__, "password": TEST_PASSWORD})
        self.ids = {
            (self.ta.slug, "own"): group_own,
            (self.ta.slug, "foreign"): group_foreign,
            (self.a1.slug, "own"): school_own,
            (self.a1.slug, "foreign"): school_foreign,
            (self.a2.slug, "own"): school_own,
            (self.a2.slug, "foreign"): school_foreign,
            (PLATFORM, "own"): platform_own,
            (PLATFORM, "foreign"): group_foreign,
        }
        self.missing = missing
        # The "level too low" role's own school: an agreement at level 1.
        self.low_level_ids = Ids(**{**group_own.__dict__, "urn": self.a3.urn})

    # --- hops whose right has gone (REVOKED_HOPS) -------------------------------------------

    def _hop_in(self, user, school) -> str:
        """A real hop of ``user`` (from trust A, through its pages) into ``school``: the
        school host's session key."""
        group_client = SiteClient(self.ta)
        group_client.cookies[settings.SESSION_COOKIE_NAME] = self.session(user, self.ta)
        chosen = group_client.post("/log-in-to-mis/", {"school": school.urn})
        assert chosen.status_code == 200, chosen.content.decode()[:2000]
        school_client = SiteClient(school)
        redeemed = school_client.post("/hop/", {"token": chosen.context["token"]})
        assert redeemed.status_code == 302, redeemed.content.decode()[:2000]
        assert school_client.get("/").wsgi_request.hop_group == self.ta
        return school_client.cookies[settings.SESSION_COOKIE_NAME].value

    def _revoked_hops(self):
        """One hop per ``REVOKED_HOPS`` entry, redeemed while everything held, then the
        right taken away: the next request on it must end it and say why."""
        ta, admin = self.ta, self.a_admin
        schools = {}
        for slug, name, urn, first in (
            (SCHOOL_A5, "Elder Probe School", "700005", "Edwina"),
            (SCHOOL_A6, "Fir Probe School", "700006", "Fenella"),
            (SCHOOL_A7, "Gorse Probe School", "700007", "Gwendolen"),
        ):
            school = self.school(ta, name, slug, urn, side="A")
            self.agree(ta, school, AccessLevel.DFE_MIS_AND_GROUP_ACTIONS)
            upn = make_upn("383", urn[2:], 14)
            pupil = self.pupil(school, first, "Revokedpupil", upn, side="A")
            schools[slug] = school
            own = self.ids[(self.a2.slug, "own")]
            self.ids[(slug, "own")] = Ids(**{**own.__dict__, "urn": urn, "pupil": pupil.pk})
            self.ids[(slug, "foreign")] = self.ids[(self.a2.slug, "foreign")]

        data_lead = self.person(
            ta,
            "Rhoda Revokedright",
            "aa-revoked-right@oakridge-probe.test",
            "Data Lead",
            side="A",
            marked=False,
        )
        StaffAssociation.objects.create(site=ta, profile=data_lead, all_schools=True)
        unassociated = self.person(
            ta,
            "Ulla Unassociated",
            "aa-unassociated@oakridge-probe.test",
            "Trust Administrator",
            side="A",
            marked=False,
        )
        association = StaffAssociation.objects.create(site=ta, profile=unassociated)
        association.school_links.create(site=ta, school=self.a2)
        who = {
            "hop_permission_removed": (data_lead.user, self.a2),
            "hop_association_removed": (unassociated.user, self.a2),
            "hop_membership_ended": (admin.user, schools[SCHOOL_A5]),
            "hop_agreement_lowered": (admin.user, schools[SCHOOL_A6]),
            "hop_agreement_ended": (admin.user, schools[SCHOOL_A7]),
        }
        for revoked in REVOKED_HOPS:
            user, school = who[revoked.role]
            self.sessions[(revoked.role, revoked.host)] = self._hop_in(user, school)
            self.people[(revoked.role, revoked.host)] = user

        # Now the rights go.
        data_lead_role = roles_ensure_defaults(site=ta)["Data Lead"]
        data_lead_role.grants.filter(code=LOGIN_TO_MIS, in_school=False).delete()
        association.school_links.all().delete()
        schools[SCHOOL_A5].group_links.update(left_on=timezone.localdate())
        agreement_changed_past_its_guard(
            Agreement.objects.get(group=ta, school=schools[SCHOOL_A6]),
            level=AccessLevel.DFE_AND_MIS_DATA,
        )
        agreement_changed_past_its_guard(
            Agreement.objects.get(group=ta, school=schools[SCHOOL_A7]), level=None
        )

    def ids_for(self, host: str, mode: str) -> Ids:
        return self.missing if mode == "missing" else self.ids[(host, mode)]

    def host_site(self, host: str):
        return None if host == PLATFORM else Institution.objects.get(slug=host)
