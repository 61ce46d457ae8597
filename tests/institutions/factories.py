"""Factories for the institutions tests: register-like schools in a group, clusters."""

import factory
from factory.django import DjangoModelFactory

from accounts.permissions import INSTITUTION_DETAILS, Access
from institutions.models import Cluster, ClusterMembership, GroupMembership, Status
from tests.factories import InstitutionFactory, StaffProfileFactory, TrustFactory, grant_permission


class SchoolFactory(InstitutionFactory):
    """An open school with the register fields Browse Institutions shows."""

    name = factory.Sequence(lambda n: f"Test School {n}")
    slug = factory.Sequence(lambda n: f"test-school-{n}")
    urn = factory.Sequence(lambda n: f"{500000 + n:06d}")
    status = Status.OPEN
    phase = "Primary"
    type_name = "Academy converter"
    type_group = "Academies"
    la_code = "383"
    la_name = "Leeds"
    establishment_number = factory.Sequence(lambda n: f"{2000 + n % 8000:04d}")
    town = "Leeds"
    postcode = factory.Sequence(lambda n: f"LS{20 + n % 7} {n % 10}AB")
    pupils = 210


class ClusterFactory(DjangoModelFactory):
    class Meta:
        model = Cluster

    name = factory.Sequence(lambda n: f"Cluster {n}")


def add_school(group, **fields):
    """A school that is a current member of ``group``."""
    school = SchoolFactory(**fields)
    GroupMembership.objects.create(group=group, school=school)
    return school


def put_in_cluster(cluster, *schools):
    for school in schools:
        ClusterMembership.objects.create(group=cluster.group, cluster=cluster, school=school)


def group_staff(group):
    """A staff member of ``group`` with no business role: may browse, not manage."""
    return StaffProfileFactory(site=group).user


def group_admin(group):
    """A staff member of ``group`` holding Institution: Administer Institution Details."""
    user = StaffProfileFactory(site=group).user
    grant_permission(user, group, INSTITUTION_DETAILS, Access.ADMINISTER)
    return user


def outsider():
    """A staff member (with every institution permission) of some other trust."""
    other = TrustFactory()
    user = StaffProfileFactory(site=other).user
    grant_permission(user, other, INSTITUTION_DETAILS, Access.ADMINISTER)
    return user
