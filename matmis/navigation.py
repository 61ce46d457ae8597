"""The main menu of each kind of site.

Each page adds its entry here when it exists, so the menu never links to a page that is
not there. Entries name URL patterns; ``nav_for`` turns them into what the layout renders.
"""

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import reverse

from accounts.permissions import (
    ANALYTICS,
    ATTENDANCE,
    STUDENTS,
    THIRD_PARTY_APPS,
    USER_DETAILS,
    Access,
    request_has_permission,
)
from institutions.models import InstitutionKind


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    children: tuple["NavEntry", ...] = ()
    # The permission the page needs (its view's ``method_permissions`` for GET): without
    # it the entry is not shown. None: any staff member of the site may open it.
    permission: tuple[str, Access] | None = None


@dataclass
class NavItem:
    label: str
    url: str
    active: bool
    children: list["NavItem"] = field(default_factory=list)


GROUP_MENU: tuple[NavEntry, ...] = (
    NavEntry("Home", "home"),
    NavEntry(
        "Institutions",
        "institutions:browse",
        children=(
            NavEntry("Browse Institutions", "institutions:browse"),
            NavEntry("Data Sharing Agreements", "sharing:agreements"),
            NavEntry("Clusters", "institutions:clusters"),
            NavEntry("Log in to MIS", "hop:choose"),
            NavEntry("Apps at our schools", "group_apps:index"),
        ),
    ),
    NavEntry("Analytics", "analytics:dashboard", permission=(ANALYTICS, Access.VIEW)),
    NavEntry(
        "Sharing",
        "networks:resources",
        children=(
            NavEntry("Resources", "networks:resources"),
            NavEntry("Groups", "networks:groups"),
            NavEntry("Networks", "networks:networks"),
        ),
    ),
    NavEntry(
        "Staff",
        "staff:list",
        children=(NavEntry("Staff", "staff:list"), NavEntry("Business roles", "roles:list")),
    ),
    NavEntry("Audit", "audit:events", permission=(USER_DETAILS, Access.VIEW)),
)
SCHOOL_MENU: tuple[NavEntry, ...] = (
    NavEntry("Home", "home"),
    NavEntry(
        "Students",
        "mis:students",
        children=(
            NavEntry("Students", "mis:students"),
            NavEntry("Registration groups", "mis:registration-groups"),
        ),
        permission=(STUDENTS, Access.VIEW),
    ),
    NavEntry(
        "Attendance",
        "mis:attendance",
        children=(NavEntry("Attendance", "mis:attendance"), NavEntry("Registers", "mis:registers")),
        permission=(ATTENDANCE, Access.VIEW),
    ),
    NavEntry(
        "Data",
        "school_sharing:index",
        children=(
            NavEntry("Data Sharing", "school_sharing:index"),
            NavEntry("Apps", "school_apps:index", permission=(THIRD_PARTY_APPS, Access.ADMINISTER)),
        ),
    ),
    NavEntry(
        "Sharing",
        "networks:resources",
        children=(
            NavEntry("Resources", "networks:resources"),
            NavEntry("Groups", "networks:groups"),
            NavEntry("Networks", "networks:networks"),
        ),
    ),
    NavEntry(
        "Staff",
        "staff:list",
        children=(NavEntry("Staff", "staff:list"), NavEntry("Business roles", "roles:list")),
    ),
    NavEntry("Audit", "audit:events", permission=(USER_DETAILS, Access.VIEW)),
)

MENUS = {
    InstitutionKind.TRUST: GROUP_MENU,
    InstitutionKind.LOCAL_AUTHORITY: GROUP_MENU,
    InstitutionKind.SCHOOL: SCHOOL_MENU,
}


def _item(entry: NavEntry, request: HttpRequest) -> NavItem:
    url = reverse(entry.url_name, urlconf=getattr(request, "urlconf", None))
    children = [
        _item(child, request)
        for child in entry.children
        if child.permission is None or request_has_permission(request, *child.permission)
    ]
    # Of sibling pages whose addresses both contain this one (/institutions/ and
    # /institutions/clusters/), only the closest is the current page.
    active_children = [child for child in children if child.active]
    if active_children:
        closest = max(active_children, key=lambda child: len(child.url))
        for child in active_children:
            child.active = child is closest
    active = request.path == "/" if url == "/" else request.path.startswith(url)
    active = active or any(child.active for child in children)
    return NavItem(label=entry.label, url=url, active=active, children=children)


def nav_for(request: HttpRequest) -> list[NavItem]:
    site = getattr(request, "site", None)
    if site is None or not request.user.is_authenticated:
        return []
    return [
        _item(entry, request)
        for entry in MENUS[site.kind]
        if entry.permission is None or request_has_permission(request, *entry.permission)
    ]
