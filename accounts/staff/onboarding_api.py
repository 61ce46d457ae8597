"""Staff onboarding over REST, for holders of “User Details: Manage All Users” at
Administer: add a member of staff (``POST /api/v1/staff/``, answered by
``StaffListApiView``), the invitations not yet accepted and sending one again or revoking
it, deactivating and reactivating, and adding many from a CSV file. The same services as
the pages (``accounts.staff.onboarding``, ``accounts.staff.bulk_add``).

And, for the invited person, accepting an invitation with its link's token
(``POST /api/v1/invitations/accept/``, public on the site's host).

Another site's invitation or profile id is the same 404 as a missing one; another site's
role id, school URN or cluster id the same 400 as a missing one.
"""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from accounts.audit import actor_from_request, client_ip
from accounts.models import StaffInvitation, StaffProfile
from accounts.permissions import USER_DETAILS, Access
from accounts.two_factor.selectors import site_requires_two_factor
from institutions.models import Cluster
from institutions.selectors import NOT_A_URN, current_schools, malformed_urns
from matmis.api import ErrorSerializer, SiteApiView, validation_error
from matmis.site_access import ANY_SITE

from .bulk_add import MAX_BYTES, StaffFileError, staff_bulk_add
from .onboarding import (
    EMAIL_MAX,
    JOB_TITLE_MAX,
    NAME_MAX,
    InvitationLinkProblem,
    InvitationLinkRefused,
    InvitationState,
    NewStaffMember,
    invitation_accept,
    invitation_for_link,
    invitation_resend,
    invitation_revoke,
    invitation_state,
    staff_deactivate,
    staff_member_add,
    staff_reactivate,
)
from .onboarding_selectors import (
    deactivated_profile_for_id,
    deactivated_staff,
    invitation_for_id,
    invitation_rows,
)
from .selectors import held_roles, site_roles, staff_profile_for_id
from .services import roles_ensure_defaults

MANAGE_STAFF = (USER_DETAILS, Access.ADMINISTER)
ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class StaffAddInputSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=NAME_MAX)
    email = serializers.EmailField(max_length=EMAIL_MAX)
    job_title = serializers.CharField(
        max_length=JOB_TITLE_MAX, required=False, allow_blank=True, default=""
    )
    role_ids = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=1,
        max_length=100,
        help_text="Ids of this site's roles (``/api/v1/roles/``); at least one.",
    )
    all_schools = serializers.BooleanField(
        required=False, default=False, help_text="Group sites only: all current schools."
    )
    school_urns = serializers.ListField(
        child=serializers.CharField(max_length=6),
        required=False,
        default=list,
        max_length=5000,
        help_text="Group sites only: current schools of the group, by URN.",
    )
    cluster_ids = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        max_length=1000,
        help_text="Group sites only: the group's clusters.",
    )


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    profile_id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()
    job_title = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    state = serializers.ChoiceField(choices=[state.value for state in InvitationState])
    invited_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    sends = serializers.IntegerField(help_text="Emails sent; only the last one's link works.")


class StaffAddResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["invited", "existing_user_added"],
        help_text="invited: a new person, emailed a link to set a password (inactive until "
        "they accept); existing_user_added: someone with an account on matmis already, "
        "active here at once, emailed a notice (their password is unchanged).",
    )
    profile_id = serializers.IntegerField()
    invitation = InvitationSerializer(allow_null=True)


class DeactivationSerializer(serializers.Serializer):
    profile_id = serializers.IntegerField()
    active = serializers.BooleanField()
    sessions_ended = serializers.IntegerField(required=False)


class DeactivatedStaffSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()
    job_title = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField(), help_text="Kept roles.")


class StaffFileInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV: a header line (name, email, job title, roles), then one person a "
        "line; several roles separated by “;”. UTF-8 or cp1252, at most 1 MB and 500 people."
    )


class StaffFileLineSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    outcome = serializers.ChoiceField(
        choices=["invited", "existing_user_added", "refused", "not_added"]
    )
    reasons = serializers.ListField(child=serializers.CharField())


class StaffFileResultSerializer(serializers.Serializer):
    added = serializers.BooleanField(help_text="All lines were added (else none was).")
    lines = StaffFileLineSerializer(many=True)


def invitation_data(invitation: StaffInvitation, roles: list[str] | None = None) -> dict:
    person = invitation.profile.user
    if roles is None:
        roles = _role_names(invitation.profile)
    return {
        "id": invitation.pk,
        "profile_id": invitation.profile_id,
        "name": person.display_name,
        "email": person.email,
        "job_title": invitation.profile.job_title,
        "roles": roles,
        "state": invitation_state(invitation).value,
        "invited_by": invitation.invited_by.email if invitation.invited_by else None,
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
        "sends": invitation.sends,
    }


def _role_names(profile: StaffProfile) -> list[str]:
    return list(profile.assignments.order_by("role__name").values_list("role__name", flat=True))


def staff_add(request) -> Response:
    """``POST /api/v1/staff/`` (the handler of ``StaffListApiView.post``)."""
    site = request.site
    data = StaffAddInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    values = data.validated_data
    roles_ensure_defaults(site=site)
    wanted = set(values["role_ids"])
    roles = {role.pk: role for role in site_roles(site=site).filter(pk__in=wanted)}
    unknown = sorted(wanted - set(roles))
    if unknown:
        raise exceptions.ValidationError(
            {
                "role_ids": [
                    "Not one of this site’s roles: "
                    f"{', '.join(str(pk) for pk in unknown)}. Nothing was changed."
                ]
            }
        )
    schools, clusters = [], []
    if site.is_group:
        urns = list(dict.fromkeys(values["school_urns"]))
        malformed = malformed_urns(urns)
        if malformed:
            raise exceptions.ValidationError(
                {"school_urns": [f"{NOT_A_URN}: {', '.join(malformed)}. Nothing was changed."]}
            )
        schools = list(current_schools(group=site).filter(urn__in=urns))
        if len(schools) != len(urns):
            raise exceptions.ValidationError(
                {"school_urns": [f"Choose from {site.name}’s current schools."]}
            )
        cluster_ids = set(values["cluster_ids"])
        clusters = list(Cluster.objects.filter(group=site, pk__in=cluster_ids))
        if len(clusters) != len(cluster_ids):
            raise exceptions.ValidationError(
                {"cluster_ids": [f"Choose from {site.name}’s clusters."]}
            )
    member = NewStaffMember(
        full_name=values["full_name"],
        email=values["email"],
        job_title=values["job_title"],
        roles=[roles[pk] for pk in values["role_ids"] if pk in roles],
        all_schools=values["all_schools"],
        schools=schools,
        clusters=clusters,
    )
    try:
        result = staff_member_add(site=site, member=member, actor=actor_from_request(request))
    except DjangoValidationError as error:
        raise validation_error(
            error, rename={"roles": "role_ids", "associations": "school_urns"}
        ) from None
    body = {
        "outcome": result.outcome.value,
        "profile_id": result.profile.pk,
        "invitation": (
            invitation_data(result.invitation, sorted(role.name for role in member.roles))
            if result.invitation
            else None
        ),
    }
    return Response(StaffAddResultSerializer(body).data, status=status.HTTP_201_CREATED)


class InvitationListApiView(SiteApiView):
    """The site's invitations not yet accepted (pending or expired), newest first."""

    site_kind = ANY_SITE
    method_permissions = {"GET": MANAGE_STAFF}

    @extend_schema(
        operation_id="staff_invitations_list",
        responses={200: InvitationSerializer(many=True), 403: ErrorSerializer},
    )
    def get(self, request):
        data = [
            invitation_data(row.invitation, row.role_names)
            for row in invitation_rows(site=request.site)
        ]
        return Response(InvitationSerializer(data, many=True).data)


class _InvitationActionApiView(SiteApiView):
    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_STAFF}
    change = None

    def post(self, request, invitation_id: int):
        invitation = invitation_for_id(site=request.site, invitation_id=invitation_id)
        try:
            invitation = type(self).change(invitation=invitation, actor=actor_from_request(request))
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(InvitationSerializer(invitation_data(invitation)).data)


class InvitationResendApiView(_InvitationActionApiView):
    """Email a new link (valid 7 days from now); every earlier link stops working."""

    change = staticmethod(invitation_resend)

    @extend_schema(
        operation_id="staff_invitation_resend",
        request=None,
        responses={200: InvitationSerializer, **ERRORS},
    )
    def post(self, request, invitation_id: int):
        return super().post(request, invitation_id)


class InvitationRevokeApiView(_InvitationActionApiView):
    """The invitation's link stops working; the person stays off the site."""

    change = staticmethod(invitation_revoke)

    @extend_schema(
        operation_id="staff_invitation_revoke",
        request=None,
        responses={200: InvitationSerializer, **ERRORS},
    )
    def post(self, request, invitation_id: int):
        return super().post(request, invitation_id)


class StaffDeactivateApiView(SiteApiView):
    """The member of staff may no longer use this site; their sessions here end (and with a
    group session, the hops that hang from it); roles and history are kept. Refused for
    oneself and for the last person who can manage staff here."""

    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_STAFF}

    @extend_schema(
        operation_id="staff_deactivate",
        request=None,
        responses={200: DeactivationSerializer, **ERRORS},
    )
    def post(self, request, profile_id: int):
        profile = staff_profile_for_id(site=request.site, profile_id=profile_id)
        try:
            result = staff_deactivate(profile=profile, actor=actor_from_request(request))
        except DjangoValidationError as error:
            raise validation_error(error) from None
        body = {"profile_id": profile.pk, "active": False, "sessions_ended": result.sessions_ended}
        return Response(DeactivationSerializer(body).data)


class StaffReactivateApiView(SiteApiView):
    """A deactivated member of staff may use this site again, with the roles they held."""

    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_STAFF}

    @extend_schema(
        operation_id="staff_reactivate",
        request=None,
        responses={200: DeactivationSerializer, **ERRORS},
    )
    def post(self, request, profile_id: int):
        profile = deactivated_profile_for_id(site=request.site, profile_id=profile_id)
        try:
            staff_reactivate(profile=profile, actor=actor_from_request(request))
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(DeactivationSerializer({"profile_id": profile.pk, "active": True}).data)


class DeactivatedStaffApiView(SiteApiView):
    """The site's deactivated staff, by name, with the roles they keep."""

    site_kind = ANY_SITE
    method_permissions = {"GET": MANAGE_STAFF}

    @extend_schema(
        operation_id="staff_deactivated_list",
        responses={200: DeactivatedStaffSerializer(many=True), 403: ErrorSerializer},
    )
    def get(self, request):
        data = [
            {
                "id": profile.pk,
                "name": profile.user.display_name,
                "email": profile.user.email,
                "job_title": profile.job_title,
                "roles": [held.name for held in held_roles(profile)],
            }
            for profile in deactivated_staff(site=request.site)
        ]
        return Response(DeactivatedStaffSerializer(data, many=True).data)


class StaffImportApiView(SiteApiView):
    """Add many members of staff from a CSV file (multipart, field ``file``). Every line
    is checked first: 201 when all were added; 422, adding nobody, with each line's result
    when any line is refused; 400 when the file itself cannot be read."""

    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_STAFF}

    @extend_schema(
        operation_id="staff_import",
        request={"multipart/form-data": StaffFileInputSerializer},
        responses={201: StaffFileResultSerializer, 422: StaffFileResultSerializer, **ERRORS},
    )
    def post(self, request):
        data = StaffFileInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > MAX_BYTES:
            raise exceptions.ValidationError(
                {"file": [f"The file is larger than {MAX_BYTES // 1024} KB."]}
            )
        roles_ensure_defaults(site=request.site)
        try:
            result = staff_bulk_add(
                site=request.site, data=upload.read(), actor=actor_from_request(request)
            )
        except StaffFileError as error:
            raise exceptions.ValidationError({"file": [str(error)]}) from None
        body = {
            "added": result.added,
            "lines": [
                {
                    "line": line.line,
                    "name": line.name,
                    "email": line.email,
                    "outcome": line.outcome.value,
                    "reasons": list(line.reasons),
                }
                for line in result.lines
            ],
        }
        return Response(
            StaffFileResultSerializer(body).data,
            status=status.HTTP_201_CREATED if result.added else 422,
        )


class InvitationAcceptInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200, help_text="The token of the emailed link.")
    password = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        default="",
        style={"input_type": "password"},
        help_text="Needed only by someone with no password on matmis yet (the site's "
        "password rules apply); someone who has one keeps it, whatever is sent.",
    )


class InvitationAcceptedSerializer(serializers.Serializer):
    profile_id = serializers.IntegerField()
    site = serializers.CharField()
    email = serializers.EmailField()
    password_set = serializers.BooleanField(help_text="False: the password already in use.")
    two_factor_required = serializers.BooleanField(
        help_text="The site requires two-factor sign-in: set it up after signing in."
    )


class InvitationAcceptApiView(SiteApiView):
    """Accept an invitation with its emailed link's token, on the inviting site's host:
    the password is set (only for someone who has none yet) and the profile becomes active.
    Signs nobody in: sign in afterwards. A token of another site's invitation is a 404
    like a forged one; an expired, used or revoked one is a 410 saying which."""

    site_kind = ANY_SITE
    public = True  # the invited person has no session here: the token is the credential
    method_permissions = {"POST": None}

    @extend_schema(
        operation_id="staff_invitation_accept",
        request=InvitationAcceptInputSerializer,
        responses={
            200: InvitationAcceptedSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
            410: ErrorSerializer,
        },
    )
    def post(self, request):
        data = InvitationAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, password = data.validated_data["token"], data.validated_data["password"]
        try:
            invitation = invitation_for_link(site=request.site, token=token)
        except InvitationLinkRefused as refusal:
            return _link_refused(refusal)
        user = invitation.profile.user
        if not user.has_usable_password():
            if not password:
                raise exceptions.ValidationError({"password": ["Choose a password."]})
            try:
                validate_password(password, user)
            except DjangoValidationError as error:
                raise exceptions.ValidationError({"password": error.messages}) from None
        else:
            password = None
        try:
            profile = invitation_accept(
                site=request.site, token=token, password=password, ip_address=client_ip(request)
            )
        except InvitationLinkRefused as refusal:
            return _link_refused(refusal)
        body = {
            "profile_id": profile.pk,
            "site": request.site.name,
            "email": user.email,
            "password_set": password is not None,
            "two_factor_required": site_requires_two_factor(site=request.site),
        }
        return Response(InvitationAcceptedSerializer(body).data)


def _link_refused(refusal: InvitationLinkRefused) -> Response:
    status_code = 404 if refusal.problem == InvitationLinkProblem.NOT_VALID else 410
    return Response(
        {
            "error": {
                "code": f"invitation_{refusal.problem.value}",
                "message": str(refusal),
                "fields": {},
            }
        },
        status=status_code,
    )
