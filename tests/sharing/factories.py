"""Factories for the data sharing tests: schools with staff in the recipient roles,
group senders, requests and the people who act."""

from collections.abc import Iterable

from accounts.audit import Actor
from accounts.models import BusinessRole, RoleAssignment, RoleGrant, StaffProfile
from accounts.permissions import DATA_SHARING_REQUEST, INSTITUTION_DETAILS, Access
from notifications.models import EmailDelivery
from sharing.models import AccessLevel, AgreementRequest, RequestRecipient, RequestStatus
from tests.factories import StaffProfileFactory, UserFactory, grant_permission
from tests.institutions.factories import add_school


def school_role(school, name: str) -> BusinessRole:
    """The business role ``name`` at ``school`` (created once); a Head Teacher role grants
    Data Sharing Request: Administer, as seeded roles do."""
    role, created = BusinessRole.objects.get_or_create(site=school, name=name)
    if created and name == "Head Teacher":
        RoleGrant.objects.create(
            site=school, role=role, code=DATA_SHARING_REQUEST, access=int(Access.ADMINISTER)
        )
    return role


def school_staff(school, role_name: str | None = None, **user_fields) -> StaffProfile:
    """A member of ``school``'s staff, holding ``role_name`` there if given."""
    profile = StaffProfileFactory(site=school, user=UserFactory(**user_fields))
    if role_name:
        RoleAssignment.objects.create(
            site=school, profile=profile, role=school_role(school, role_name)
        )
    return profile


def head_teacher(school, **user_fields) -> StaffProfile:
    return school_staff(school, "Head Teacher", **user_fields)


def school_with_head(group, **fields):
    """A current school of ``group`` with a Head Teacher who has an email address."""
    school = add_school(group, **fields)
    head_teacher(school)
    return school


def group_admin_profile(group) -> StaffProfile:
    """A member of ``group``'s staff who may send requests (and may be their sender)."""
    profile = StaffProfileFactory(site=group)
    grant_permission(profile.user, group, INSTITUTION_DETAILS, Access.ADMINISTER)
    return profile


def actor_for(profile_or_user, site) -> Actor:
    user = getattr(profile_or_user, "user", profile_or_user)
    return Actor(user=user, site=site, ip_address="127.0.0.1")


def make_request(
    group,
    school,
    *,
    level=AccessLevel.DFE_DATA,
    sender=None,
    status=RequestStatus.PENDING,
    recipients: Iterable[StaffProfile] = (),
) -> AgreementRequest:
    """A request, created directly (no emails queued), sent to ``recipients`` (none by
    default)."""
    request = AgreementRequest.objects.create(
        group=group,
        school=school,
        level=level,
        sender=sender or group_admin_profile(group),
        status=status,
    )
    add_recipients(request, *recipients)
    return request


def add_recipients(request: AgreementRequest, *profiles: StaffProfile) -> None:
    """``profiles`` (staff of the request's school) as recipients of ``request``."""
    RequestRecipient.objects.bulk_create(
        RequestRecipient(
            request=request,
            school_id=request.school_id,
            user=profile.user,
            email=profile.user.email,
            role_name="Head Teacher",
        )
        for profile in profiles
    )


def head_of(school) -> StaffProfile:
    """The Head Teacher of a school made by ``school_with_head``."""
    return StaffProfile.objects.get(site=school, assignments__role__name="Head Teacher")


def queued_emails() -> list[tuple[str, int, int | None]]:
    """The request emails queued in the outbox, in the order queued: one (kind, request id,
    reminder id) however many recipients."""
    queued: dict[tuple[str, int, int | None], None] = {}
    for kind, params in EmailDelivery.objects.order_by("pk").values_list("kind", "params"):
        queued[(kind, params["request_id"], params["reminder_id"])] = None
    return list(queued)
