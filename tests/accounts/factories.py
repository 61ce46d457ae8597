"""Factories for the staff tests: people with roles, a group with schools and clusters,
associations."""

from accounts.models import (
    AssociatedCluster,
    AssociatedSchool,
    BusinessRole,
    RoleAssignment,
    RoleGrant,
    StaffAssociation,
    StaffProfile,
)
from accounts.permissions import USER_DETAILS, Access
from institutions.models import GroupMembership, Status
from tests.factories import StaffProfileFactory, TrustFactory, UserFactory, grant_permission
from tests.institutions.factories import ClusterFactory, SchoolFactory, add_school, put_in_cluster

__all__ = [
    "ClusterFactory",
    "SchoolFactory",
    "add_school",
    "another_trust",
    "associate",
    "closed_school",
    "cluster_of",
    "departed_school",
    "hold",
    "person",
    "role_with",
    "staff_admin",
    "staff_viewer",
]


def person(site, *, name: str = "", email: str | None = None, job_title: str = "") -> StaffProfile:
    """A staff profile at ``site`` with no role."""
    user_fields = {"full_name": name} if name else {}
    if email:
        user_fields["email"] = email
    return StaffProfileFactory(site=site, user=UserFactory(**user_fields), job_title=job_title)


def staff_admin(site, **kwargs) -> StaffProfile:
    """A staff profile holding User Details: Manage All Users at Administer."""
    profile = person(site, **kwargs)
    grant_permission(profile.user, site, USER_DETAILS, Access.ADMINISTER)
    return profile


def staff_viewer(site, **kwargs) -> StaffProfile:
    """A staff profile holding User Details: Manage All Users at View."""
    profile = person(site, **kwargs)
    grant_permission(profile.user, site, USER_DETAILS, Access.VIEW)
    return profile


def role_with(site, name: str, grants: dict[str, Access], in_school: dict | None = None):
    """A business role of ``site`` granting ``grants`` (and ``in_school`` school-level)."""
    role = BusinessRole.objects.create(site=site, name=name)
    for code, access in grants.items():
        RoleGrant.objects.create(site=site, role=role, code=code, access=int(access))
    for code, access in (in_school or {}).items():
        RoleGrant.objects.create(
            site=site, role=role, code=code, access=int(access), in_school=True
        )
    return role


def hold(profile, role, starts_on=None, ends_on=None) -> RoleAssignment:
    return RoleAssignment.objects.create(
        site=profile.site, profile=profile, role=role, starts_on=starts_on, ends_on=ends_on
    )


def cluster_of(group, name: str, *schools):
    cluster = ClusterFactory(group=group, name=name)
    put_in_cluster(cluster, *schools)
    return cluster


def associate(profile, *, all_schools=False, schools=(), clusters=()) -> StaffAssociation:
    """Set up associations directly (the services are what the tests exercise)."""
    association, _ = StaffAssociation.objects.get_or_create(
        profile=profile, defaults={"site": profile.site, "all_schools": all_schools}
    )
    for school in schools:
        AssociatedSchool.objects.create(site=profile.site, association=association, school=school)
    for cluster in clusters:
        AssociatedCluster.objects.create(
            site=profile.site, association=association, cluster=cluster
        )
    return association


def closed_school(group, **fields):
    """A school still a member of ``group`` but closed."""
    return add_school(group, status=Status.CLOSED, **fields)


def departed_school(group, **fields):
    """An open school that has left ``group``."""
    school = SchoolFactory(**fields)
    GroupMembership.objects.create(
        group=group,
        school=school,
        joined_on="2020-09-01",
        left_on="2024-08-31",
    )
    return school


def another_trust(name="Elsewhere Trust"):
    return TrustFactory(name=name)
