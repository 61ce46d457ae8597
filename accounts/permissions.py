"""Who may do what, where: decided here and nowhere else.

Views, the API and services all ask ``has_permission``. A user acts at a site only through
an active staff profile there (or, on the bare base domain, as platform staff); what they
may do there comes from the business roles assigned to that profile, each of which grants
permissions from the registry below at Off, View or Administer.
"""

from dataclasses import dataclass
from enum import IntEnum

from django.db.models import Max, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.staff.selectors import staff_profile_for
from accounts.two_factor.gate import Gate, person_two_factor_gate, two_factor_gate
from accounts.two_factor.selectors import session_is_verified, user_has_two_factor
from institutions.models import Institution, InstitutionKind

from .models import RoleGrant, User, in_force_q


class Access(IntEnum):
    OFF = 0
    VIEW = 1
    ADMINISTER = 2

    @property
    def label(self) -> str:
        return {0: "Off", 1: "View", 2: "Administer"}[self.value]


@dataclass(frozen=True)
class PermissionDef:
    code: str
    label: str
    description: str
    site_kinds: tuple[str, ...]
    # The levels a role may grant it at (a permission that only means something at
    # Administer, such as Log in to MIS, offers only that).
    levels: tuple[Access, ...] = (Access.VIEW, Access.ADMINISTER)
    # A school permission a group role may carry into a school during a hop (its in-school
    # set); False for what stays with the school's own staff.
    in_school_set: bool = True


GROUP_KINDS = (InstitutionKind.TRUST.value, InstitutionKind.LOCAL_AUTHORITY.value)
SCHOOL_KINDS = (InstitutionKind.SCHOOL.value,)

INSTITUTION_DETAILS = "institution.details"
LOGIN_TO_MIS = "login_to_mis.associated"
DATA_SHARING_REQUEST = "data_sharing_request"
USER_DETAILS = "user_details.all_users"
# Pupil data: a school's own records (``mis``) and, on a group site, its Analytics.
STUDENTS = "students.records"
ATTENDANCE = "attendance.records"
BEHAVIOUR = "behaviour.exclusions"
ANALYTICS = "analytics.group"
# Staff sharing beyond the organisation (``networks``): community groups and whitelists;
# approving a network on behalf of the organisation's leadership.
SHARING_NETWORKS = "sharing_networks.administer"
NETWORK_LEADERSHIP = "sharing_networks.leadership_approval"
# Third-party apps (issue 14): decide a school's Data Access Requests, see its apps' calls.
THIRD_PARTY_APPS = "third_party_apps"

REGISTRY: dict[str, PermissionDef] = {
    p.code: p
    for p in (
        PermissionDef(
            INSTITUTION_DETAILS,
            "Institution: Administer Institution Details",
            "See the group's schools; at Administer, manage clusters and send data "
            "sharing requests.",
            GROUP_KINDS + SCHOOL_KINDS,
        ),
        PermissionDef(
            LOGIN_TO_MIS,
            "Login to MIS: Associated institutions",
            "Log in to the MIS of the schools one is associated with.",
            GROUP_KINDS,
            levels=(Access.ADMINISTER,),
        ),
        PermissionDef(
            DATA_SHARING_REQUEST,
            "Data Sharing Request: Administer",
            "Approve or decline a group's requests to see this school's data.",
            SCHOOL_KINDS,
            levels=(Access.ADMINISTER,),
            in_school_set=False,  # approving data sharing stays with the school
        ),
        PermissionDef(
            USER_DETAILS,
            "User Details: Manage All Users",
            "Manage staff, their roles and their associations.",
            GROUP_KINDS + SCHOOL_KINDS,
        ),
        PermissionDef(
            STUDENTS,
            "Students: Student Records",
            "See the school's pupils: the Students list, each pupil's details and their "
            "exports; at Administer, change pupils' records.",
            SCHOOL_KINDS,
        ),
        PermissionDef(
            ATTENDANCE,
            "Attendance: Attendance Records",
            "See the registers and attendance figures, and a pupil's marks and attendance; "
            "at Administer, change marks.",
            SCHOOL_KINDS,
        ),
        PermissionDef(
            BEHAVIOUR,
            "Behaviour: Behaviour and Exclusions",
            "See a pupil's suspensions and exclusions; at Administer, record them.",
            SCHOOL_KINDS,
        ),
        PermissionDef(
            ANALYTICS,
            "Analytics: Group Analytics",
            "See the group's Analytics: its schools' figures, their trends and exports.",
            GROUP_KINDS,
            levels=(Access.VIEW,),  # Analytics only reads
        ),
        PermissionDef(
            SHARING_NETWORKS,
            "Sharing Networks: Administer",
            "Request sharing networks with other organisations, approve community groups "
            "and decide which other organisations' community groups staff may contribute to.",
            GROUP_KINDS + SCHOOL_KINDS,
            levels=(Access.ADMINISTER,),
            in_school_set=False,  # an organisation's sharing stays its own decision
        ),
        PermissionDef(
            NETWORK_LEADERSHIP,
            "Sharing Networks: Leadership Approval",
            "Approve or withdraw this organisation's part in a coaching or collaboration "
            "network, on behalf of its leadership.",
            GROUP_KINDS + SCHOOL_KINDS,
            levels=(Access.ADMINISTER,),
            in_school_set=False,
        ),
        PermissionDef(
            THIRD_PARTY_APPS,
            "Third-party Apps: Administer",
            "Authorise, change, decline or revoke the Data Access Requests of education "
            "apps, and read the log of every call they make.",
            SCHOOL_KINDS,
            levels=(Access.ADMINISTER,),
            in_school_set=False,  # what leaves the school for an app stays with the school
        ),
    )
}

# The permissions that open pupil data at a school.
PUPIL_DATA = (STUDENTS, ATTENDANCE, BEHAVIOUR)

ADMIN = Access.ADMINISTER
VIEW = Access.VIEW

# Seeded business roles per kind of site: name -> grants. Editable per site afterwards.
# (``accounts/migrations/0010_pupil_data_default_grants.py`` gave sites seeded before the
# pupil-data permissions the same defaults; a change here is a change there too.)
PUPIL_DATA_ADMIN = {STUDENTS: ADMIN, ATTENDANCE: ADMIN, BEHAVIOUR: ADMIN}
PUPIL_DATA_VIEW = {STUDENTS: VIEW, ATTENDANCE: VIEW, BEHAVIOUR: VIEW}

DEFAULT_ROLES: dict[str, dict[str, dict[str, Access]]] = {
    "group": {
        "Chief Executive / Executive Head Teacher": {
            INSTITUTION_DETAILS: ADMIN,
            LOGIN_TO_MIS: ADMIN,
            USER_DETAILS: ADMIN,
            ANALYTICS: VIEW,
            SHARING_NETWORKS: ADMIN,
            NETWORK_LEADERSHIP: ADMIN,
        },
        "Trust Administrator": {
            INSTITUTION_DETAILS: ADMIN,
            LOGIN_TO_MIS: ADMIN,
            USER_DETAILS: ADMIN,
            ANALYTICS: VIEW,
            SHARING_NETWORKS: ADMIN,
        },
        "Data Lead": {INSTITUTION_DETAILS: VIEW, LOGIN_TO_MIS: ADMIN, ANALYTICS: VIEW},
        # No Analytics: a central team member (finance, HR, estates) sees the schools, not
        # their pupils' figures; a group grants it in its roles when it wants to.
        "Central Team Member": {INSTITUTION_DETAILS: VIEW},
    },
    "school": {
        "Head Teacher": {
            DATA_SHARING_REQUEST: ADMIN,
            THIRD_PARTY_APPS: ADMIN,
            USER_DETAILS: ADMIN,
            INSTITUTION_DETAILS: ADMIN,
            SHARING_NETWORKS: ADMIN,
            NETWORK_LEADERSHIP: ADMIN,
            **PUPIL_DATA_ADMIN,
        },
        # An executive head leads the school as its head does.
        "Executive Head Teacher": {
            USER_DETAILS: ADMIN,
            INSTITUTION_DETAILS: ADMIN,
            SHARING_NETWORKS: ADMIN,
            NETWORK_LEADERSHIP: ADMIN,
            **PUPIL_DATA_ADMIN,
        },
        "Deputy Head Teacher": {INSTITUTION_DETAILS: VIEW, **PUPIL_DATA_ADMIN},
        "Data Manager": {INSTITUTION_DETAILS: VIEW, THIRD_PARTY_APPS: ADMIN, **PUPIL_DATA_ADMIN},
        "Teacher": {STUDENTS: VIEW, ATTENDANCE: VIEW},
        "Office Administrator": {STUDENTS: VIEW},
    },
}


# The seeded group role whose holders are the group's Trust Administrators (told of every
# school's decision on a data sharing request).
TRUST_ADMINISTRATOR = "Trust Administrator"


# The school-level set of each seeded group role: what its holders may do inside a school
# site they logged in to from the group. Approving data sharing stays with the school; pupil
# data is read, never changed, from outside (every read recorded for the school).
DEFAULT_IN_SCHOOL_GRANTS: dict[str, dict[str, Access]] = {
    "Chief Executive / Executive Head Teacher": {
        INSTITUTION_DETAILS: VIEW,
        USER_DETAILS: VIEW,
        **PUPIL_DATA_VIEW,
    },
    "Trust Administrator": {INSTITUTION_DETAILS: ADMIN, USER_DETAILS: ADMIN, **PUPIL_DATA_VIEW},
    "Data Lead": {INSTITUTION_DETAILS: VIEW, **PUPIL_DATA_VIEW},
    "Central Team Member": {},
}


def default_roles_for(site: Institution) -> dict[str, dict[str, Access]]:
    return DEFAULT_ROLES["group" if site.is_group else "school"]


def default_in_school_grants_for(site: Institution) -> dict[str, dict[str, Access]]:
    return DEFAULT_IN_SCHOOL_GRANTS if site.is_group else {}


def access_level(
    *, user: User, site: Institution, code: str, via_group: Institution | None = None
) -> Access:
    """The highest access ``user`` holds for ``code`` at ``site``, through roles assigned to
    their active profile there and in force today.

    ``via_group``: the user is inside school ``site`` through a hop from that group site;
    the answer then comes from the school-level set of their roles at the group.
    """
    if code not in REGISTRY:
        raise KeyError(f"Unknown permission {code!r}")
    if not user.is_authenticated or not user.is_active:
        return Access.OFF
    grants = permission_grants(user=user, site=site, code=code, via_group=via_group)
    level = grants.aggregate(level=Max("access"))["level"]
    return Access(level or 0)


def permission_grants(
    *, user: User, site: Institution, code: str, via_group: Institution | None = None
) -> QuerySet[RoleGrant]:
    """The grants of ``code`` that ``user`` holds at ``site`` today, through roles assigned
    to their active profile (``via_group``: see ``access_level``, which takes the highest).
    A queryset, so that a larger query can ask ``Exists`` of it in the same round trip;
    the caller checks ``user.is_active`` as ``access_level`` does. A retired role grants
    nothing."""
    return RoleGrant.objects.filter(
        in_force_q(timezone.localdate(), prefix="role__assignments__"),
        site=via_group if via_group is not None else site,
        in_school=via_group is not None,
        code=code,
        role__retired_at__isnull=True,
        role__assignments__profile__user=user,
        role__assignments__profile__is_active=True,
    )


def permission_holders(
    *, site: Institution, code: str, access: Access = Access.VIEW
) -> QuerySet[User]:
    """Everyone ``has_permission`` says may do ``code`` at ``access`` at ``site`` on their
    own profile there (not through a hop): active users holding it today through roles
    assigned to their active profile. A queryset, so that a larger query can take it as a
    subquery (one round trip however many hold it)."""
    if code not in REGISTRY:
        raise KeyError(f"Unknown permission {code!r}")
    grants = RoleGrant.objects.filter(
        in_force_q(timezone.localdate(), prefix="role__assignments__"),
        site=site,
        in_school=False,
        code=code,
        access__gte=int(access),
        role__retired_at__isnull=True,
        role__assignments__profile__site=site,
        role__assignments__profile__is_active=True,
    )
    return User.objects.filter(
        is_active=True, pk__in=grants.values("role__assignments__profile__user")
    )


def has_permission(
    *,
    user: User,
    site: Institution,
    code: str,
    access: Access = Access.VIEW,
    via_group: Institution | None = None,
) -> bool:
    """May ``user`` do ``code`` at ``access`` level at ``site`` (inside it from
    ``via_group`` during a hop)?"""
    return access_level(user=user, site=site, code=code, via_group=via_group) >= access


def may_access_site(*, user: User, site: Institution | None) -> bool:
    """May ``user`` use ``site`` at all? ``site`` None means the platform (bare domain)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if site is None:
        return user.is_staff
    return staff_profile_for(site=site, user=user) is not None


_SITE_ACCESS_CACHE = "_matmis_site_access"


def request_may_access_site(request: HttpRequest) -> bool:
    """``may_access_site`` for the request's user and site, asked once per request."""
    cached = getattr(request, _SITE_ACCESS_CACHE, None)
    if cached is None:
        # A live hop (checked by HopMiddleware) admits the user to this school site.
        cached = getattr(request, "hop_group", None) is not None or may_access_site(
            user=request.user, site=request.site
        )
        setattr(request, _SITE_ACCESS_CACHE, cached)
    return cached


def request_site_gate(request: HttpRequest, *, recheck_two_factor: bool = False) -> Gate | None:
    """How far a signed-in request may go at its site: None when the user may not use the
    site at all; otherwise what two-factor sign-in says (``accounts.two_factor.gate.Gate``).

    ``recheck_two_factor``: whoever has two-factor set up must have used it in this session,
    whatever the gate last concluded (the pages that manage one's own two-factor sign-in).
    """
    if not request_may_access_site(request):
        return None
    if (
        recheck_two_factor
        and not session_is_verified(request)
        and user_has_two_factor(user=request.user)
    ):
        return Gate.SIGN_IN_AGAIN
    return two_factor_gate(request)


_ACCESS_LEVELS_CACHE = "_matmis_access_levels"


def access_levels(
    *, user: User, site: Institution, via_group: Institution | None = None
) -> dict[str, Access]:
    """``access_level`` of every permission ``user`` holds at ``site`` (the others are
    Off), in one query."""
    if not user.is_authenticated or not user.is_active:
        return {}
    grants = RoleGrant.objects.filter(
        in_force_q(timezone.localdate(), prefix="role__assignments__"),
        site=via_group if via_group is not None else site,
        in_school=via_group is not None,
        role__assignments__profile__user=user,
        role__assignments__profile__is_active=True,
        role__retired_at__isnull=True,
    )
    levels = grants.values("code").annotate(level=Max("access")).order_by()
    return {row["code"]: Access(row["level"]) for row in levels if row["code"] in REGISTRY}


def request_access_levels(request: HttpRequest) -> dict[str, Access]:
    """``access_levels`` for the request's user and site (inside a hop, the school-level
    set of their group roles), asked once per request: the view's check, the menu and a
    page's optional sections then cost one query together."""
    cached = getattr(request, _ACCESS_LEVELS_CACHE, None)
    if cached is None:
        cached = access_levels(
            user=request.user, site=request.site, via_group=getattr(request, "hop_group", None)
        )
        setattr(request, _ACCESS_LEVELS_CACHE, cached)
    return cached


def person_site_gate(*, user: User, site: Institution) -> Gate | None:
    """``request_site_gate`` for ``user`` at ``site`` signed in on their own profile (no
    hop) with every factor they have: None when they may not use the site at all."""
    if not may_access_site(user=user, site=site):
        return None
    return person_two_factor_gate(user=user, site=site)


def request_has_permission(request: HttpRequest, code: str, access: Access) -> bool:
    """``has_permission`` for the request, on top of site access."""
    if code not in REGISTRY:
        raise KeyError(f"Unknown permission {code!r}")
    if request.site is None or not request_may_access_site(request):
        return False
    return request_access_levels(request).get(code, Access.OFF) >= access
