"""Business roles over REST: /api/v1/roles/<id>/ (read, rename), …/retire/, …/reinstate/,
…/grants/, and /api/v1/access-check/. The list and creating a role are
``accounts.staff.api.RoleListApiView`` (/api/v1/roles/), which shares this module's
serializers.

Reading a role and the access check need “User Details: Manage All Users” at View;
changing a role needs it at Administer. A role id of another site is the same 404 as one
that does not exist; a person of another site is the same 400 as one that does not exist.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from accounts.audit import actor_from_request
from accounts.models import BusinessRole
from accounts.permissions import REGISTRY, USER_DETAILS, Access
from matmis.api import ErrorSerializer, SiteApiView, validation_error
from matmis.site_access import ANY_SITE

from .access_check import Answer, page_access
from .forms import URL_MAX
from .selectors import active_people, role_for_id
from .services import ACCESS_WORDS, role_grants_set, role_reinstate, role_rename, role_retire

MANAGE_ROLES = (USER_DETAILS, Access.ADMINISTER)
SEE_ROLES = (USER_DETAILS, Access.VIEW)
ROLE_ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}
ROLE_WRITE_ERRORS = {400: ErrorSerializer, **ROLE_ERRORS}
ACCESS_VALUES = list(ACCESS_WORDS.values())


class SiteRoleGrantSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    access = serializers.ChoiceField(
        choices=ACCESS_VALUES, help_text="A grant is always view or administer."
    )
    in_school = serializers.BooleanField(
        help_text="Part of the school-level set (inside a school reached from a group site)."
    )


class SiteRoleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    is_seeded = serializers.BooleanField()
    retired_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the role was retired (it then grants nothing); null while in use.",
    )
    holder_count = serializers.IntegerField(help_text="Active people holding it today.")
    grants = SiteRoleGrantSerializer(many=True)


class RoleNameInputSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=400,
        allow_blank=True,
        trim_whitespace=False,
        help_text="New at the site, "
        "whatever its capitals; at most 100 characters once spaces are tidied.",
    )


class RoleGrantsInputSerializer(serializers.Serializer):
    grants = serializers.DictField(
        child=serializers.CharField(max_length=20),
        required=False,
        help_text="Permission code -> off, view or administer: exactly what the role grants "
        "at its site (a permission left out is off). Left out: unchanged.",
    )
    in_school = serializers.DictField(
        child=serializers.CharField(max_length=20),
        required=False,
        help_text="Group roles: the same for the in-school set (what holders may do inside a "
        "school reached with Log in to MIS). Left out: unchanged.",
    )


class RoleGrantsChangeSerializer(serializers.Serializer):
    before = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="The levels that changed, as they were, by scope (grants, in_school).",
    )
    after = serializers.DictField(child=serializers.DictField(child=serializers.CharField()))


class RoleGrantsResultSerializer(serializers.Serializer):
    role = SiteRoleSerializer()
    change = RoleGrantsChangeSerializer(allow_null=True, help_text="Null when nothing changed.")


class AccessCheckSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=[answer.value for answer in Answer])
    may_open = serializers.BooleanField(
        allow_null=True, help_text="Null when the address is not a page of this site."
    )
    message = serializers.CharField()
    path = serializers.CharField()
    view_name = serializers.CharField()
    permission = serializers.CharField(
        allow_null=True, help_text="The permission code that decides; null when none does."
    )
    permission_label = serializers.CharField(allow_null=True)
    level_needed = serializers.ChoiceField(choices=ACCESS_VALUES, allow_null=True)
    level_held = serializers.ChoiceField(choices=ACCESS_VALUES, allow_null=True)


def role_data(role: BusinessRole) -> dict:
    """A role fetched by ``role_list(with_grants=True)`` or ``role_for_id``."""
    return {
        "id": role.pk,
        "name": role.name,
        "description": role.description,
        "is_seeded": role.is_seeded,
        "retired_at": role.retired_at,
        "holder_count": role.holder_count,
        "grants": [
            {
                "code": grant.code,
                "label": REGISTRY[grant.code].label,
                "access": ACCESS_WORDS[Access(grant.access)],
                "in_school": grant.in_school,
            }
            for grant in role.grants.all()
            if grant.code in REGISTRY
        ],
    }


def _role_response(request, role_id: int) -> Response:
    role = role_for_id(site=request.site, role_id=role_id)
    return Response(SiteRoleSerializer(role_data(role)).data)


class RoleDetailApiView(SiteApiView):
    """One role of the site with its grants and holder count; rename it."""

    site_kind = ANY_SITE
    method_permissions = {"GET": SEE_ROLES, "PATCH": MANAGE_ROLES}

    @extend_schema(
        operation_id="roles_retrieve", responses={200: SiteRoleSerializer, **ROLE_ERRORS}
    )
    def get(self, request, role_id: int):
        return _role_response(request, role_id)

    @extend_schema(
        operation_id="roles_rename",
        request=RoleNameInputSerializer,
        responses={200: SiteRoleSerializer, **ROLE_WRITE_ERRORS},
    )
    def patch(self, request, role_id: int):
        role = role_for_id(site=request.site, role_id=role_id)
        data = RoleNameInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            role_rename(
                role=role, name=data.validated_data["name"], actor=actor_from_request(request)
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return _role_response(request, role.pk)


class RoleRetireApiView(SiteApiView):
    """Retire a role: from now on it grants nothing and cannot be newly assigned. Refused
    (400) for the last role that lets someone manage staff. Repeating it changes nothing."""

    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_ROLES}

    @extend_schema(
        operation_id="roles_retire",
        request=None,
        responses={200: SiteRoleSerializer, **ROLE_WRITE_ERRORS},
    )
    def post(self, request, role_id: int):
        role = role_for_id(site=request.site, role_id=role_id)
        try:
            role_retire(role=role, actor=actor_from_request(request))
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return _role_response(request, role.pk)


class RoleReinstateApiView(SiteApiView):
    """Bring a retired role back. Repeating it changes nothing."""

    site_kind = ANY_SITE
    method_permissions = {"POST": MANAGE_ROLES}

    @extend_schema(
        operation_id="roles_reinstate",
        request=None,
        responses={200: SiteRoleSerializer, **ROLE_ERRORS},
    )
    def post(self, request, role_id: int):
        role = role_for_id(site=request.site, role_id=role_id)
        role_reinstate(role=role, actor=actor_from_request(request))
        return _role_response(request, role.pk)


class RoleGrantsApiView(SiteApiView):
    """Set what a role grants (and, for a group role, its in-school set): each permission
    off, view or administer, as the registry allows. Unknown codes or levels change nothing
    (400); so does taking “User Details: Manage All Users” at Administer from the last role
    that gives it to someone."""

    site_kind = ANY_SITE
    method_permissions = {"PUT": MANAGE_ROLES}

    @extend_schema(
        operation_id="roles_grants_update",
        request=RoleGrantsInputSerializer,
        responses={200: RoleGrantsResultSerializer, **ROLE_WRITE_ERRORS},
    )
    def put(self, request, role_id: int):
        role = role_for_id(site=request.site, role_id=role_id)
        data = RoleGrantsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise exceptions.ValidationError(
                {"grants": ["Send grants, in_school or both. Nothing was changed."]}
            )
        try:
            change = role_grants_set(
                role=role,
                grants=data.validated_data.get("grants"),
                in_school=data.validated_data.get("in_school"),
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        role = role_for_id(site=request.site, role_id=role.pk)
        return Response(
            RoleGrantsResultSerializer({"role": role_data(role), "change": change or None}).data
        )


class AccessCheckApiView(SiteApiView):
    """May a person of this site open a page of it (GET), and which permission decides?
    The same checks, in the same order, as every request gets."""

    site_kind = ANY_SITE
    method_permissions = {"GET": SEE_ROLES}

    @extend_schema(
        operation_id="access_check",
        parameters=[
            OpenApiParameter(
                "url", str, required=True, description="A path or full address on this host."
            ),
            OpenApiParameter(
                "person", int, required=True, description="The staff profile id of the person."
            ),
        ],
        responses={200: AccessCheckSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request):
        url = request.query_params.get("url") or ""
        problems = {}
        if not url.strip():
            problems["url"] = ["Give the address of a page of this site."]
        elif len(url) > URL_MAX:
            problems["url"] = [f"An address can be at most {URL_MAX} characters."]
        person = request.query_params.get("person") or ""
        profile = None
        if person.isdigit():
            profile = active_people(site=request.site).filter(pk=int(person)).first()
        if profile is None:
            problems["person"] = ["Give the id of one of this site’s active staff."]
        if problems:
            raise exceptions.ValidationError(problems)
        result = page_access(
            site=request.site,
            host=request.get_host(),
            url=url,
            user=profile.user,
            urlconf=getattr(request, "urlconf", None),
        )
        requirement = result.requirement
        data = {
            "answer": result.answer.value,
            "may_open": result.may_open,
            "message": result.message,
            "path": result.path,
            "view_name": result.view_name,
            "permission": requirement[0] if requirement else None,
            "permission_label": result.permission_label or None,
            "level_needed": ACCESS_WORDS[requirement[1]] if requirement else None,
            "level_held": ACCESS_WORDS[result.held] if result.held is not None else None,
        }
        return Response(AccessCheckSerializer(data).data)
