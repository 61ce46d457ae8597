"""Staff, roles and associations over REST: /api/v1/staff/…, /api/v1/roles/.

Anyone on the site reads the staff, their roles and the site's roles; a person's
permissions need “User Details: Manage All Users” at View (or are one's own); changing
roles and associations needs it at Administer. Associations exist on group sites only
(a school site answers 404). Another site's profile id is the same 404 as a missing one;
another site's role id, school URN or cluster id is the same 400 as a missing one.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from accounts.audit import actor_from_request
from accounts.models import StaffProfile
from accounts.permissions import REGISTRY, USER_DETAILS, Access, request_has_permission
from accounts.roles.api import RoleNameInputSerializer, SiteRoleSerializer, role_data
from accounts.roles.selectors import role_for_id, role_list
from accounts.roles.services import role_create
from institutions.selectors import (
    NOT_A_URN,
    clusters_for_selection,
    malformed_urns,
    schools_for_selection,
)
from matmis.api import ErrorSerializer, PageNumberPagination, SiteApiView, validation_error
from matmis.exports import ExportApiView, export_response, export_schema
from matmis.site_access import ANY_SITE, SiteKind

from .exports import staff_table
from .onboarding_api import StaffAddInputSerializer, StaffAddResultSerializer, staff_add
from .selectors import (
    association_detail,
    directory_association_summary,
    held_roles,
    permission_summary,
    site_roles,
    staff_directory,
    staff_profile_for,
    staff_profile_for_id,
)
from .services import association_replace, role_assignments_set, roles_ensure_defaults

MANAGE_STAFF = (USER_DETAILS, Access.ADMINISTER)
STAFF_ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}
STAFF_WRITE_ERRORS = {400: ErrorSerializer, **STAFF_ERRORS}
ACCESS_NAMES = {Access.OFF: "off", Access.VIEW: "view", Access.ADMINISTER: "administer"}


class StaffRoleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StaffHeldRoleSerializer(serializers.Serializer):
    role = StaffRoleRefSerializer()
    starts_on = serializers.DateField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True)
    in_force = serializers.BooleanField(help_text="Whether the role applies today.")


class StaffAssociationSummarySerializer(serializers.Serializer):
    all_schools = serializers.BooleanField(help_text="Associated to all institutions.")
    school_count = serializers.IntegerField(help_text="Current schools chosen one by one.")
    cluster_count = serializers.IntegerField()
    summary = serializers.CharField(help_text="“All schools”, “3 schools, 1 cluster” or “None”.")


class StaffMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The staff profile's id at this site.")
    name = serializers.CharField()
    email = serializers.EmailField()
    job_title = serializers.CharField()
    roles = StaffHeldRoleSerializer(many=True)
    associations = StaffAssociationSummarySerializer(
        allow_null=True, help_text="Group sites only; null on a school site."
    )


class StaffMemberPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = StaffMemberSerializer(many=True)


class StaffAssociationClusterRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StaffAssociatedSchoolSerializer(serializers.Serializer):
    urn = serializers.CharField()
    name = serializers.CharField()
    chosen = serializers.BooleanField(help_text="Chosen on its own (in school_urns).")
    via_clusters = StaffAssociationClusterRefSerializer(
        many=True, help_text="Chosen clusters that bring it; while any does, it stays."
    )


class StaffAssociatedClusterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    school_urns = serializers.ListField(child=serializers.CharField())


class StaffAssociationsSerializer(serializers.Serializer):
    all_schools = serializers.BooleanField(help_text="Associated to all institutions.")
    school_urns = serializers.ListField(
        child=serializers.CharField(), help_text="The current schools chosen one by one."
    )
    cluster_ids = serializers.ListField(child=serializers.IntegerField())
    schools = StaffAssociatedSchoolSerializer(
        many=True, help_text="Chosen schools and schools of chosen clusters, by name."
    )
    clusters = StaffAssociatedClusterSerializer(many=True)
    effective_school_count = serializers.IntegerField(
        help_text="Schools in effect: all current schools when all_schools, else the chosen "
        "schools plus the schools of the chosen clusters (current schools only)."
    )


class StaffMemberDetailSerializer(StaffMemberSerializer):
    created_at = serializers.DateTimeField(help_text="When the profile was created.")
    association_detail = StaffAssociationsSerializer(
        allow_null=True, help_text="Group sites only; null on a school site."
    )


class StaffGrantSourceSerializer(serializers.Serializer):
    role = serializers.CharField()
    access = serializers.ChoiceField(
        choices=list(ACCESS_NAMES.values()), help_text="A grant is always view or administer."
    )


class StaffPermissionLineSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    access = serializers.ChoiceField(choices=list(ACCESS_NAMES.values()))
    granted_by = StaffGrantSourceSerializer(many=True, help_text="Roles in force giving it.")


class StaffAssociationCountsSerializer(StaffAssociationSummarySerializer):
    effective_school_count = serializers.IntegerField()


class StaffPermissionSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()
    account_active = serializers.BooleanField(
        help_text="False: the account is switched off and every permission is off."
    )
    roles = StaffHeldRoleSerializer(many=True)
    permissions = StaffPermissionLineSerializer(
        many=True, help_text="Every permission that applies to this kind of site."
    )
    in_school = StaffPermissionLineSerializer(
        many=True,
        help_text="Group sites: what the person may do inside a school reached with Log in "
        "to MIS. Empty on a school site.",
    )
    associations = StaffAssociationCountsSerializer(allow_null=True)


class RoleAssignmentInputSerializer(serializers.Serializer):
    role = serializers.IntegerField(help_text="The id of one of this site's roles.")
    starts_on = serializers.DateField(allow_null=True, required=False, default=None)
    ends_on = serializers.DateField(allow_null=True, required=False, default=None)

    def validate(self, attrs):
        starts_on, ends_on = attrs.get("starts_on"), attrs.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            raise serializers.ValidationError(
                {"ends_on": "The end date must be the same as or after the start date."}
            )
        return attrs


class StaffRolesInputSerializer(serializers.Serializer):
    assignments = RoleAssignmentInputSerializer(
        many=True,
        max_length=200,
        help_text="Exactly the roles the person will hold; roles left out are removed.",
    )


class StaffAssociationsInputSerializer(serializers.Serializer):
    all_schools = serializers.BooleanField()
    school_urns = serializers.ListField(
        child=serializers.CharField(max_length=6),
        max_length=5000,
        allow_empty=True,
        help_text="Exactly the schools chosen one by one. Leaving out a chosen school that "
        "a remaining cluster brings is refused (400 naming the cluster); a URN that is not "
        "one of the group's current schools, or a cluster id not its own, is a 404.",
    )
    cluster_ids = serializers.ListField(
        child=serializers.IntegerField(), max_length=1000, allow_empty=True
    )


def _held_role_data(held) -> dict:
    return {
        "role": {"id": held.role.pk, "name": held.role.name},
        "starts_on": held.starts_on,
        "ends_on": held.ends_on,
        "in_force": held.in_force,
    }


def _summary_data(summary) -> dict:
    data = {
        "all_schools": summary.all_schools,
        "school_count": summary.school_count,
        "cluster_count": summary.cluster_count,
        "summary": summary.text,
    }
    if summary.effective_count is not None:
        data["effective_school_count"] = summary.effective_count
    return data


def _associations_data(detail) -> dict:
    return {
        "all_schools": detail.all_schools,
        "school_urns": [line.school.urn for line in detail.schools if line.chosen],
        "cluster_ids": [line.cluster.pk for line in detail.clusters],
        "schools": [
            {
                "urn": line.school.urn,
                "name": line.school.name,
                "chosen": line.chosen,
                "via_clusters": [{"id": c.pk, "name": c.name} for c in line.via],
            }
            for line in detail.schools
        ],
        "clusters": [
            {
                "id": line.cluster.pk,
                "name": line.cluster.name,
                "school_urns": [school.urn for school in line.schools],
            }
            for line in detail.clusters
        ],
        "effective_school_count": detail.effective_count,
    }


def _staff_member_data(site, profile: StaffProfile, *, detail: bool = False) -> dict:
    data = {
        "id": profile.pk,
        "name": profile.user.display_name,
        "email": profile.user.email,
        "job_title": profile.job_title,
        "roles": [_held_role_data(held) for held in held_roles(profile)],
        "associations": None,
    }
    if detail:
        data["created_at"] = profile.created_at
        data["association_detail"] = None
        if site.is_group:
            association = association_detail(group=site, profile=profile)
            data["associations"] = _summary_data(association.summary)
            data["association_detail"] = _associations_data(association)
    elif site.is_group:
        data["associations"] = _summary_data(directory_association_summary(profile))
    return data


class StaffListApiView(SiteApiView):
    """The site's active staff by name, with their roles and (group sites) associations;
    POST adds a member of staff (“User Details: Manage All Users” at Administer): a new
    person is invited by email, someone with an account on matmis already is added at once
    (``accounts.staff.onboarding``)."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None, "POST": MANAGE_STAFF}

    @extend_schema(
        operation_id="staff_create",
        request=StaffAddInputSerializer,
        responses={201: StaffAddResultSerializer, **STAFF_WRITE_ERRORS},
    )
    def post(self, request):
        return staff_add(request)

    @extend_schema(
        operation_id="staff_list",
        parameters=[
            OpenApiParameter("q", str, description="Part of a name or email address."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200; default 50."),
        ],
        # 404: a page past the last (as every paginated list).
        responses={200: StaffMemberPageSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request):
        search = (request.query_params.get("q") or "")[:100]
        profiles = staff_directory(site=request.site, search=search)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(profiles, request, view=self)
        data = [_staff_member_data(request.site, profile) for profile in page]
        return paginator.get_paginated_response(StaffMemberSerializer(data, many=True).data)


class StaffMemberApiView(SiteApiView):
    """One member of staff: roles with dates and, on a group site, associations."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    @extend_schema(
        operation_id="staff_retrieve", responses={200: StaffMemberDetailSerializer, **STAFF_ERRORS}
    )
    def get(self, request, profile_id: int):
        profile = staff_profile_for_id(site=request.site, profile_id=profile_id)
        data = _staff_member_data(request.site, profile, detail=True)
        return Response(StaffMemberDetailSerializer(data).data)


class StaffPermissionsApiView(SiteApiView):
    """What a member of staff may do here today, and which roles give it. Needs “User
    Details: Manage All Users” at View, except for one's own profile."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    @extend_schema(
        operation_id="staff_permissions_retrieve",
        responses={200: StaffPermissionSummarySerializer, **STAFF_ERRORS},
    )
    def get(self, request, profile_id: int):
        site = request.site
        if not request_has_permission(request, USER_DETAILS, Access.VIEW):
            own = staff_profile_for(site=site, user=request.user)
            if own is None or str(own.pk) != str(profile_id):
                raise exceptions.PermissionDenied(
                    f"You need the permission “{REGISTRY[USER_DETAILS].label}” at View to see "
                    "what someone else may do."
                )
        profile = staff_profile_for_id(site=site, profile_id=profile_id, with_roles=False)
        summary = permission_summary(site=site, profile=profile)

        def lines(permission_lines) -> list[dict]:
            return [
                {
                    "code": line.code,
                    "label": line.label,
                    "description": line.description,
                    "access": ACCESS_NAMES[line.access],
                    "granted_by": [
                        {"role": source.role_name, "access": ACCESS_NAMES[source.access]}
                        for source in line.granted_by
                    ],
                }
                for line in permission_lines
            ]

        data = {
            "id": profile.pk,
            "name": profile.user.display_name,
            "email": profile.user.email,
            "account_active": summary.account_active,
            "roles": [_held_role_data(held) for held in summary.roles],
            "permissions": lines(summary.permissions),
            "in_school": lines(summary.in_school),
            "associations": (_summary_data(summary.associations) if summary.associations else None),
        }
        return Response(StaffPermissionSummarySerializer(data).data)


class RoleListApiView(SiteApiView):
    """The site's business roles (the seeded ones are created if missing), retired ones
    included, with the permissions each grants and how many hold it today; create a role
    (“User Details: Manage All Users” at Administer), granting nothing until its grants are
    set (PUT /api/v1/roles/<id>/grants/)."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None, "POST": MANAGE_STAFF}

    @extend_schema(
        operation_id="roles_list",
        responses={200: SiteRoleSerializer(many=True), 403: ErrorSerializer},
    )
    def get(self, request):
        roles_ensure_defaults(site=request.site)
        roles = role_list(site=request.site, with_grants=True)
        return Response(SiteRoleSerializer([role_data(role) for role in roles], many=True).data)

    @extend_schema(
        operation_id="roles_create",
        request=RoleNameInputSerializer,
        responses={201: SiteRoleSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
    )
    def post(self, request):
        data = RoleNameInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            role = role_create(
                site=request.site,
                name=data.validated_data["name"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        role = role_for_id(site=request.site, role_id=role.pk)
        return Response(SiteRoleSerializer(role_data(role)).data, status=201)


class StaffRolesApiView(SiteApiView):
    """Replace the roles a member of staff holds, each optionally between two dates.
    Refused when it would leave nobody at the site able to manage staff."""

    site_kind = ANY_SITE
    method_permissions = {"PUT": MANAGE_STAFF}

    @extend_schema(
        operation_id="staff_roles_update",
        request=StaffRolesInputSerializer,
        responses={200: StaffMemberDetailSerializer, **STAFF_WRITE_ERRORS},
    )
    def put(self, request, profile_id: int):
        site = request.site
        profile = staff_profile_for_id(site=site, profile_id=profile_id)
        data = StaffRolesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entries = data.validated_data["assignments"]
        wanted = {entry["role"] for entry in entries}
        roles = {role.pk: role for role in site_roles(site=site).filter(pk__in=wanted)}
        unknown = sorted(wanted - set(roles))
        if unknown:
            # Says only that they are not this site's: never whether they exist elsewhere.
            raise exceptions.ValidationError(
                {
                    "assignments": [
                        "Not one of this site’s roles: "
                        f"{', '.join(str(pk) for pk in unknown)}. Nothing was changed."
                    ]
                }
            )
        try:
            role_assignments_set(
                profile=profile,
                assignments=[
                    (roles[entry["role"]], entry["starts_on"], entry["ends_on"])
                    for entry in entries
                ],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise exceptions.ValidationError({"assignments": error.messages}) from None
        profile = staff_profile_for_id(site=site, profile_id=profile.pk)
        return Response(
            StaffMemberDetailSerializer(_staff_member_data(site, profile, detail=True)).data
        )


class StaffAssociationsApiView(SiteApiView):
    """A group staff member's associations (all institutions, chosen schools, chosen
    clusters); replace them all at once (“User Details: Manage All Users” at Administer)."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None, "PUT": MANAGE_STAFF}

    @extend_schema(
        operation_id="staff_associations_retrieve",
        responses={200: StaffAssociationsSerializer, **STAFF_ERRORS},
    )
    def get(self, request, profile_id: int):
        profile = staff_profile_for_id(site=request.site, profile_id=profile_id)
        detail = association_detail(group=request.site, profile=profile)
        return Response(StaffAssociationsSerializer(_associations_data(detail)).data)

    @extend_schema(
        operation_id="staff_associations_update",
        request=StaffAssociationsInputSerializer,
        responses={200: StaffAssociationsSerializer, **STAFF_WRITE_ERRORS},
    )
    def put(self, request, profile_id: int):
        group = request.site
        profile = staff_profile_for_id(site=group, profile_id=profile_id)
        data = StaffAssociationsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        urns = list(dict.fromkeys(data.validated_data["school_urns"]))
        malformed = malformed_urns(urns)
        if malformed:
            raise exceptions.ValidationError(
                {"school_urns": [f"{NOT_A_URN}: {', '.join(malformed)}. Nothing was changed."]}
            )
        # Any school or cluster that is not the group's: 404, the same whether it exists
        # elsewhere or not at all.
        schools = schools_for_selection(group=group, urns=urns)
        clusters = clusters_for_selection(
            group=group, cluster_ids=data.validated_data["cluster_ids"]
        )
        try:
            association_replace(
                profile=profile,
                all_schools=data.validated_data["all_schools"],
                schools=schools,
                clusters=clusters,
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(
                error, rename={"schools": "school_urns", "clusters": "cluster_ids"}
            ) from None
        detail = association_detail(group=group, profile=profile)
        return Response(StaffAssociationsSerializer(_associations_data(detail)).data)


class StaffExportApiView(ExportApiView):
    """The people of ``staff_list`` (same search, every page) as a CSV or XLSX file: the
    Staff page's export."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    @export_schema(
        operation_id="staff_export",
        parameters=[OpenApiParameter("q", str, description="Part of a name or email address.")],
    )
    def get(self, request):
        search = (request.query_params.get("q") or "")[:100]
        table = staff_table(site=request.site, search=search)
        return export_response(table, site=request.site, export_format=self.export_format)
