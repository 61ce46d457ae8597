"""A trust, one of its schools with its seeded roles and staff, and requests between them:
what the notifications and school-side data sharing tests share."""

from dataclasses import dataclass

from accounts.models import StaffProfile, User
from accounts.staff.services import role_assign, roles_ensure_defaults
from institutions.models import Institution, Status
from sharing.models import (
    AccessLevel,
    AgreementRequest,
    RequestRecipient,
    RequestReminder,
    RequestStatus,
)
from tests.factories import InstitutionFactory, MembershipFactory, TrustFactory, UserFactory


def school_staff(school: Institution, role_name: str, **user_fields) -> User:
    """A member of ``school``'s staff holding the seeded role ``role_name``."""
    user = UserFactory(**user_fields)
    profile = StaffProfile.objects.create(site=school, user=user, job_title=role_name)
    role = roles_ensure_defaults(site=school)[role_name]
    role_assign(profile=profile, role=role)
    return user


@dataclass
class Pair:
    trust: Institution
    school: Institution
    sender: StaffProfile
    head: User
    data_manager: User
    teacher: User


def make_pair(
    *,
    trust_name: str = "Oak Ridge Trust",
    trust_slug: str = "oak-ridge",
    school_name: str = "St Mary’s",
    school_slug: str = "st-marys",
) -> Pair:
    trust = TrustFactory(name=trust_name, slug=trust_slug)
    school = InstitutionFactory(name=school_name, slug=school_slug, status=Status.OPEN)
    MembershipFactory(group=trust, school=school)
    sender_user = UserFactory(full_name="Priya Shah", email=f"priya@{trust_slug}.test")
    sender = StaffProfile.objects.create(
        site=trust, user=sender_user, job_title="Trust Administrator"
    )
    return Pair(
        trust=trust,
        school=school,
        sender=sender,
        head=school_staff(
            school, "Head Teacher", full_name="Helen Archer", email=f"head@{school_slug}.test"
        ),
        data_manager=school_staff(
            school, "Data Manager", full_name="Dan Moss", email=f"data@{school_slug}.test"
        ),
        teacher=school_staff(
            school, "Teacher", full_name="Tom Reed", email=f"teacher@{school_slug}.test"
        ),
    )


def make_request(
    pair: Pair,
    *,
    level: int = AccessLevel.DFE_AND_MIS_DATA,
    recipients: tuple[tuple[User, str], ...] | None = None,
    status: str = RequestStatus.PENDING,
) -> AgreementRequest:
    """A request from ``pair.trust`` to ``pair.school`` with its recipients (default: the
    head and the data manager), created directly (not through the sharing services)."""
    request = AgreementRequest.objects.create(
        group=pair.trust, school=pair.school, level=level, sender=pair.sender, status=status
    )
    if recipients is None:
        recipients = ((pair.head, "Head Teacher"), (pair.data_manager, "Data Manager"))
    RequestRecipient.objects.bulk_create(
        RequestRecipient(
            request=request, school=pair.school, user=user, email=user.email, role_name=role
        )
        for user, role in recipients
    )
    return request


def make_reminder(request: AgreementRequest, by: User) -> RequestReminder:
    return RequestReminder.objects.create(request=request, sent_by=by)
