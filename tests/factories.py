import factory
from factory.django import DjangoModelFactory

from accounts.models import StaffProfile, User
from institutions.models import GroupMembership, Institution, InstitutionKind

TEST_PASSWORD = "correct-horse-battery"


class InstitutionFactory(DjangoModelFactory):
    class Meta:
        model = Institution

    kind = InstitutionKind.SCHOOL
    name = factory.Sequence(lambda n: f"School {n}")
    slug = factory.Sequence(lambda n: f"school-{n}")


class TrustFactory(InstitutionFactory):
    kind = InstitutionKind.TRUST
    name = factory.Sequence(lambda n: f"Trust {n}")
    slug = factory.Sequence(lambda n: f"trust-{n}")


class LocalAuthorityFactory(InstitutionFactory):
    kind = InstitutionKind.LOCAL_AUTHORITY
    name = factory.Sequence(lambda n: f"Local Authority {n}")
    slug = factory.Sequence(lambda n: f"la-{n}")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = GroupMembership

    group = factory.SubFactory(TrustFactory)
    school = factory.SubFactory(InstitutionFactory)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name", locale="en_GB")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffProfileFactory(DjangoModelFactory):
    class Meta:
        model = StaffProfile

    site = factory.SubFactory(InstitutionFactory)
    user = factory.SubFactory(UserFactory)


def grant_permission(user, site, code: str, access=None):
    """Give ``user`` a role at ``site`` that grants ``code`` at ``access`` (default
    Administer), creating the staff profile if needed. Returns the role."""
    from accounts.models import BusinessRole, RoleAssignment, RoleGrant
    from accounts.permissions import Access

    access = Access.ADMINISTER if access is None else access
    profile, _ = StaffProfile.objects.get_or_create(site=site, user=user)
    role = BusinessRole.objects.create(site=site, name=f"Role {code} {access.name} {user.pk}")
    RoleGrant.objects.create(site=site, role=role, code=code, access=int(access))
    RoleAssignment.objects.create(site=site, profile=profile, role=role)
    return role


def pupil_data_staff(site, access=None, *, user=None):
    """A member of staff of ``site`` (a new person unless ``user``) whose role opens its
    pupil data: at a school Students, Attendance and Behaviour, at a group Analytics, at
    ``access`` (default View), as the seeded Head Teacher or Data Lead roles do. Returns the
    user."""
    from accounts.models import BusinessRole, RoleAssignment, RoleGrant
    from accounts.permissions import ANALYTICS, PUPIL_DATA, Access

    access = Access.VIEW if access is None else access
    user = user or UserFactory()
    profile, _ = StaffProfile.objects.get_or_create(site=site, user=user)
    role = BusinessRole.objects.create(site=site, name=f"Pupil data {access.name} {user.pk}")
    codes = (ANALYTICS,) if site.is_group else PUPIL_DATA
    RoleGrant.objects.bulk_create(
        RoleGrant(site=site, role=role, code=code, access=int(access)) for code in codes
    )
    RoleAssignment.objects.create(site=site, profile=profile, role=role)
    return user
