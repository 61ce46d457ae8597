"""REST equivalents of the staff sharing pages (under /api/v1/): resources, their files
and shares, the share picker, networks and their approvals, groups and whitelists.

The same selectors and services as the pages decide everything: an identifier someone may
not reach is a 404 like a missing one, and a share the picker would not offer is refused."""

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.audit import actor_from_request
from accounts.models import StaffProfile
from accounts.permissions import NETWORK_LEADERSHIP, SHARING_NETWORKS, Access
from institutions.models import Institution
from matmis.api import ErrorSerializer, SiteApiView, validation_error
from matmis.site_access import ANY_SITE, SiteKind

from . import selectors, services
from .downloads import file_response
from .models import NetworkKind, ResourceKind
from .network_pages import network_agreements
from .views import UPLOAD_BODY_BYTES

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class OrganisationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class ResourceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ResourceKind.values)
    title = serializers.CharField()
    description = serializers.CharField()
    note = serializers.CharField()
    file_name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    everyone_at_site = serializers.BooleanField()
    owner = PersonSerializer()
    organisation = OrganisationSerializer(source="site")
    file_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_file_url(self, resource) -> str | None:
        if resource.kind != ResourceKind.FILE:
            return None
        return f"/api/v1/resources/{resource.pk}/file/"


def _invalid(error: ValidationError):
    return validation_error(error)


class ResourceListApiView(SiteApiView):
    """Your resources at this site (GET); add one (POST: a multipart ``file`` or a
    ``note``)."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None, "POST": None}
    max_request_body_bytes = UPLOAD_BODY_BYTES

    class ResourceCreateSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        note = serializers.CharField(required=False, allow_blank=True, default="")
        file = serializers.FileField(required=False, allow_empty_file=True)

    @extend_schema(
        operation_id="resources_list", responses={200: ResourceSerializer(many=True), **ERRORS}
    )
    def get(self, request):
        resources = selectors.own_resources(site=request.site, user=request.user).select_related(
            "owner", "site"
        )[:500]
        return Response(ResourceSerializer(resources, many=True).data)

    @extend_schema(
        operation_id="resources_create",
        request={
            "multipart/form-data": ResourceCreateSerializer,
            "application/json": ResourceCreateSerializer,
        },
        responses={201: ResourceSerializer, **ERRORS},
    )
    def post(self, request):
        data = self.ResourceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            resource = services.resource_create(
                actor=actor_from_request(request),
                site=request.site,
                title=data.validated_data["title"],
                description=data.validated_data["description"],
                note=data.validated_data["note"],
                upload=data.validated_data.get("file"),
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(ResourceSerializer(resource).data, status=status.HTTP_201_CREATED)


class SharedWithMeApiView(SiteApiView):
    """What others shared with you at this site and still reaches you."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    class SharedSerializer(serializers.Serializer):
        resource = ResourceSerializer()
        via = serializers.CharField()

    @extend_schema(
        operation_id="resources_shared_with_me",
        responses={200: SharedSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        items = selectors.shared_with_me(site=request.site, user=request.user)
        return Response(self.SharedSerializer(items, many=True).data)


class ResourceDetailApiView(SiteApiView):
    """One resource: read it (anyone it reaches), change its details or delete it (its
    owner)."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None, "PATCH": None, "DELETE": None}

    class UpdateSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        note = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(operation_id="resource_read", responses={200: ResourceSerializer, **ERRORS})
    def get(self, request, resource_id):
        resource = selectors.resource_for_reader(
            site=request.site, user=request.user, resource_id=resource_id
        )
        return Response(ResourceSerializer(resource).data)

    @extend_schema(
        operation_id="resource_update",
        request=UpdateSerializer,
        responses={200: ResourceSerializer, **ERRORS},
    )
    def patch(self, request, resource_id):
        resource = selectors.resource_for_owner(
            site=request.site, user=request.user, resource_id=resource_id
        )
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            resource = services.resource_update(
                actor=actor_from_request(request),
                resource=resource,
                title=values.get("title", resource.title),
                description=values.get("description", resource.description),
                note=values.get("note") if resource.kind == ResourceKind.NOTE else None,
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(ResourceSerializer(resource).data)

    @extend_schema(operation_id="resource_delete", responses={204: None, **ERRORS})
    def delete(self, request, resource_id):
        resource = selectors.resource_for_owner(
            site=request.site, user=request.user, resource_id=resource_id
        )
        services.resource_delete(actor=actor_from_request(request), resource=resource)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ResourceFileApiView(SiteApiView):
    """The file (GET, with ``Range`` support), after the sharing check; a new file in its
    place (PUT, multipart ``file``, its owner)."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None, "PUT": None}
    max_request_body_bytes = UPLOAD_BODY_BYTES

    class ReplaceSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)

    @extend_schema(
        operation_id="resource_file",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            206: OpenApiTypes.BINARY,
            **ERRORS,
        },
    )
    def get(self, request, resource_id):
        resource = selectors.resource_for_reader(
            site=request.site, user=request.user, resource_id=resource_id
        )
        if resource.kind != ResourceKind.FILE:
            raise Http404("This resource has no file.")
        if "Range" not in request.headers or request.headers["Range"].startswith("bytes=0-"):
            services.resource_downloaded(actor=actor_from_request(request), resource=resource)
        return file_response(request, resource)

    @extend_schema(
        operation_id="resource_file_replace",
        request={"multipart/form-data": ReplaceSerializer},
        responses={200: ResourceSerializer, **ERRORS},
    )
    def put(self, request, resource_id):
        resource = selectors.resource_for_owner(
            site=request.site, user=request.user, resource_id=resource_id
        )
        data = self.ReplaceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            resource = services.resource_replace_file(
                actor=actor_from_request(request),
                resource=resource,
                upload=data.validated_data["file"],
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(ResourceSerializer(resource).data)


class ShareSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    person = PersonSerializer(source="recipient", allow_null=True)
    organisation = OrganisationSerializer(source="recipient_site", allow_null=True)
    group = serializers.IntegerField(source="group_id", allow_null=True)
    network = serializers.IntegerField(source="network_id", allow_null=True)
    created_at = serializers.DateTimeField()

    def get_kind(self, share) -> str:
        if share.recipient_id:
            return "person"
        return "group" if share.group_id else "network"

    def get_description(self, share) -> str:
        return services.share_description(share)


class ResourceSharesApiView(SiteApiView):
    """A resource's shares (its owner): list, or add one by a target ``key`` from
    ``/api/v1/share-targets/`` (or ``everyone_at_site`` true/false)."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None, "POST": None}

    class ShareInputSerializer(serializers.Serializer):
        target = serializers.CharField(
            required=False, max_length=100, help_text="A key from the share targets."
        )
        everyone_at_site = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(
        operation_id="resource_shares_list", responses={200: ShareSerializer(many=True), **ERRORS}
    )
    def get(self, request, resource_id):
        resource = selectors.resource_for_owner(
            site=request.site, user=request.user, resource_id=resource_id
        )
        return Response(
            ShareSerializer(selectors.resource_shares(resource=resource), many=True).data
        )

    @extend_schema(
        operation_id="resource_shares_create",
        request=ShareInputSerializer,
        responses={201: ShareSerializer, 200: ResourceSerializer, **ERRORS},
    )
    def post(self, request, resource_id):
        resource = selectors.resource_for_owner(
            site=request.site, user=request.user, resource_id=resource_id
        )
        data = self.ShareInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actor = actor_from_request(request)
        everyone = data.validated_data.get("everyone_at_site")
        try:
            if everyone is not None:
                resource = services.resource_share_everyone(
                    actor=actor, resource=resource, everyone=everyone
                )
                return Response(ResourceSerializer(resource).data)
            share = services.resource_share(
                actor=actor, resource=resource, target_key=data.validated_data.get("target", "")
            )
        except ValidationError as error:
            raise _invalid(error) from None
        share = selectors.share_for_resource(resource=resource, share_id=share.pk)
        return Response(ShareSerializer(share).data, status=status.HTTP_201_CREATED)


class ResourceShareApiView(SiteApiView):
    """End one share (its owner)."""

    site_kind = ANY_SITE
    method_permissions = {"DELETE": None}

    @extend_schema(operation_id="resource_share_end", responses={204: None, **ERRORS})
    def delete(self, request, resource_id, share_id):
        resource = selectors.resource_for_owner(
            site=request.site, user=request.user, resource_id=resource_id
        )
        share = selectors.share_for_resource(resource=resource, share_id=share_id)
        services.resource_unshare(actor=actor_from_request(request), share=share)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShareTargetsApiView(SiteApiView):
    """The share picker: exactly whom you may share with from this site."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    class TargetSerializer(serializers.Serializer):
        key = serializers.CharField()
        kind = serializers.CharField()
        label = serializers.CharField()
        organisation = serializers.CharField()
        network = serializers.IntegerField(source="network_id", allow_null=True)

    @extend_schema(
        operation_id="share_targets_list", responses={200: TargetSerializer(many=True), **ERRORS}
    )
    def get(self, request):
        targets = selectors.share_targets(site=request.site, user=request.user)
        return Response(self.TargetSerializer(targets, many=True).data)


# --- Networks ------------------------------------------------------------------------------


class NetworkOrganisationSerializer(serializers.Serializer):
    organisation = OrganisationSerializer(source="site")
    approved = serializers.SerializerMethodField()
    approver_name = serializers.CharField()
    approver_role = serializers.CharField()
    approved_at = serializers.DateTimeField(allow_null=True)
    statement = serializers.CharField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)

    def get_approved(self, place) -> bool:
        return place.approved_at is not None and place.withdrawn_at is None


class NetworkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=NetworkKind.choices)
    name = serializers.CharField()
    purpose = serializers.CharField()
    status = serializers.CharField()
    requested_by = OrganisationSerializer(source="site")
    coaching_organisation = OrganisationSerializer(source="coaching_site", allow_null=True)
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)


class NetworkDetailSerializer(NetworkSerializer):
    organisations = NetworkOrganisationSerializer(many=True)
    agreements_missing_between = serializers.IntegerField(
        help_text="Pairs of member organisations with no data sharing agreement on the platform."
    )


def _network_body(network) -> dict:
    places = selectors.network_organisations(network=network)
    body = NetworkSerializer(network).data
    body["organisations"] = NetworkOrganisationSerializer(places, many=True).data
    body["agreements_missing_between"] = network_agreements(
        places=[p.site for p in places]
    ).uncovered_pairs
    return body


class NetworkListApiView(SiteApiView):
    """Networks this organisation belongs to or requested (GET); request one (POST)."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None, "POST": (SHARING_NETWORKS, Access.ADMINISTER)}

    class MemberSerializer(serializers.Serializer):
        organisation = serializers.IntegerField()
        user = serializers.IntegerField()

    class RequestSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=NetworkKind.choices)
        name = serializers.CharField(max_length=150)
        purpose = serializers.CharField(required=False, allow_blank=True, default="")
        organisations = serializers.ListField(
            child=serializers.IntegerField(),
            min_length=1,
            max_length=200,
            help_text="The other member organisations' ids (this site is one too).",
        )
        coaching_organisation = serializers.IntegerField(
            required=False, allow_null=True, default=None
        )
        members = serializers.ListField(required=False, default=list, max_length=2000)

    @extend_schema(
        operation_id="networks_list", responses={200: NetworkSerializer(many=True), **ERRORS}
    )
    def get(self, request):
        return Response(
            NetworkSerializer(selectors.site_networks(site=request.site)[:500], many=True).data
        )

    @extend_schema(
        operation_id="networks_request",
        request=RequestSerializer,
        responses={201: NetworkDetailSerializer, **ERRORS},
    )
    def post(self, request):
        data = self.RequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        members = self.MemberSerializer(data=values["members"], many=True)
        members.is_valid(raise_exception=True)
        ids = set(values["organisations"]) | {request.site.pk}
        organisations = list(Institution.objects.filter(pk__in=ids))
        if len(organisations) != len(ids):
            raise validation_error(
                ValidationError({"organisations": ["Some of these organisations do not exist."]})
            )
        by_id = {o.pk: o for o in organisations}
        coaching = values["coaching_organisation"]
        named: dict[int, list[int]] = {}
        for member in members.validated_data:
            named.setdefault(member["organisation"], []).append(member["user"])
        try:
            network = services.network_request(
                actor=actor_from_request(request),
                site=request.site,
                kind=values["kind"],
                name=values["name"],
                purpose=values["purpose"],
                organisations=organisations,
                coaching_site=by_id.get(coaching, Institution(pk=0, name="?"))
                if coaching
                else None,
                members=named,
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(_network_body(network), status=status.HTTP_201_CREATED)


class NetworkTrustProposalApiView(SiteApiView):
    """A trust (or local authority) proposes a collaboration network of its current schools."""

    site_kind = SiteKind.GROUP
    method_permissions = {"POST": (SHARING_NETWORKS, Access.ADMINISTER)}

    class ProposalSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=150)

    @extend_schema(
        operation_id="networks_propose_for_schools",
        request=ProposalSerializer,
        responses={201: NetworkDetailSerializer, **ERRORS},
    )
    def post(self, request):
        data = self.ProposalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            network = services.network_propose_for_trust(
                actor=actor_from_request(request),
                trust=request.site,
                name=data.validated_data["name"],
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(_network_body(network), status=status.HTTP_201_CREATED)


class NetworkDetailApiView(SiteApiView):
    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    @extend_schema(operation_id="network_read", responses={200: NetworkDetailSerializer, **ERRORS})
    def get(self, request, network_id):
        network = selectors.network_for_site(site=request.site, network_id=network_id)
        return Response(_network_body(network))


class NetworkApprovalApiView(SiteApiView):
    """This organisation's leadership approves its part (statement required)."""

    site_kind = ANY_SITE
    method_permissions = {"POST": (NETWORK_LEADERSHIP, Access.ADMINISTER)}

    class ApprovalSerializer(serializers.Serializer):
        statement = serializers.CharField(max_length=5000)

    @extend_schema(
        operation_id="network_approve",
        request=ApprovalSerializer,
        responses={200: NetworkDetailSerializer, **ERRORS},
    )
    def post(self, request, network_id):
        network = selectors.network_for_site(site=request.site, network_id=network_id)
        data = self.ApprovalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.network_approve(
                actor=actor_from_request(request),
                network=network,
                site=request.site,
                statement=data.validated_data["statement"],
            )
        except ValidationError as error:
            raise _invalid(error) from None
        network.refresh_from_db()
        return Response(_network_body(network))


class NetworkWithdrawalApiView(SiteApiView):
    """This organisation withdraws: the network is suspended at once."""

    site_kind = ANY_SITE
    method_permissions = {"POST": (NETWORK_LEADERSHIP, Access.ADMINISTER)}

    class WithdrawalSerializer(serializers.Serializer):
        reason = serializers.CharField(
            max_length=2000, required=False, allow_blank=True, default=""
        )

    @extend_schema(
        operation_id="network_withdraw",
        request=WithdrawalSerializer,
        responses={200: NetworkDetailSerializer, **ERRORS},
    )
    def post(self, request, network_id):
        network = selectors.network_for_site(site=request.site, network_id=network_id)
        data = self.WithdrawalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            network = services.network_withdraw(
                actor=actor_from_request(request),
                network=network,
                site=request.site,
                reason=data.validated_data["reason"],
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(_network_body(network))


# --- Groups --------------------------------------------------------------------------------


class GroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    organisation = OrganisationSerializer(source="site")
    owner = PersonSerializer()


class GroupDetailSerializer(GroupSerializer):
    class MemberSerializer(serializers.Serializer):
        person = PersonSerializer(source="user")
        organisation = OrganisationSerializer(source="site")

    members = MemberSerializer(many=True)
    whitelisted_by = OrganisationSerializer(many=True)


def _group_body(group, site) -> dict:
    """A group as ``site`` may see it: who is in it only where its staff may take part."""
    body = GroupSerializer(group).data
    whitelist = selectors.group_whitelist(group=group)
    takes_part = group.site_id == site.pk or any(e.site_id == site.pk for e in whitelist)
    members = selectors.group_members(group=group) if takes_part else []
    body["members"] = GroupDetailSerializer.MemberSerializer(members, many=True).data
    body["whitelisted_by"] = OrganisationSerializer([e.site for e in whitelist], many=True).data
    return body


class GroupListApiView(SiteApiView):
    """This organisation's groups (GET); create a local group (POST)."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None, "POST": None}

    class GroupCreateSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=150)
        description = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="groups_list", responses={200: GroupSerializer(many=True), **ERRORS}
    )
    def get(self, request):
        return Response(
            GroupSerializer(selectors.site_groups(site=request.site)[:500], many=True).data
        )

    @extend_schema(
        operation_id="groups_create",
        request=GroupCreateSerializer,
        responses={201: GroupDetailSerializer, **ERRORS},
    )
    def post(self, request):
        data = self.GroupCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            group = services.group_create(
                actor=actor_from_request(request), site=request.site, **data.validated_data
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(_group_body(group, request.site), status=status.HTTP_201_CREATED)


class GroupDetailApiView(SiteApiView):
    """One of this organisation's groups, or another's community group."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    @extend_schema(operation_id="group_read", responses={200: GroupDetailSerializer, **ERRORS})
    def get(self, request, group_id):
        return Response(
            _group_body(selectors.group_visible(site=request.site, group_id=group_id), request.site)
        )


class GroupMembersApiView(SiteApiView):
    """The owner adds a colleague (``user``); staff of a whitelisting organisation join a
    community group themselves (no ``user``)."""

    site_kind = ANY_SITE
    method_permissions = {"POST": None}

    class MemberInputSerializer(serializers.Serializer):
        user = serializers.IntegerField(required=False, allow_null=True, default=None)

    @extend_schema(
        operation_id="group_members_add",
        request=MemberInputSerializer,
        responses={201: GroupDetailSerializer, **ERRORS},
    )
    def post(self, request, group_id):
        group = selectors.group_visible(site=request.site, group_id=group_id)
        data = self.MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_id = data.validated_data["user"]
        if user_id is None:
            user = request.user
        else:
            profile = (
                StaffProfile.objects.filter(site=request.site, user_id=user_id)
                .select_related("user")
                .first()
            )
            if profile is None:
                raise validation_error(
                    ValidationError({"user": ["Choose a colleague of this organisation."]})
                )
            user = profile.user
        try:
            services.group_member_add(
                actor=actor_from_request(request), group=group, user=user, site=request.site
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(_group_body(group, request.site), status=status.HTTP_201_CREATED)


class GroupCommunityApiView(SiteApiView):
    """The owner asks for the group to become a community group."""

    site_kind = ANY_SITE
    method_permissions = {"POST": None}

    @extend_schema(
        operation_id="group_community_request",
        request=None,
        responses={200: GroupDetailSerializer, **ERRORS},
    )
    def post(self, request, group_id):
        group = selectors.group_for_site(site=request.site, group_id=group_id)
        try:
            group = services.group_community_request(actor=actor_from_request(request), group=group)
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(_group_body(group, request.site))


class GroupCommunityApprovalApiView(SiteApiView):
    """An administrator of the group's organisation approves it as a community group."""

    site_kind = ANY_SITE
    method_permissions = {"POST": (SHARING_NETWORKS, Access.ADMINISTER)}

    @extend_schema(
        operation_id="group_community_approve",
        request=None,
        responses={200: GroupDetailSerializer, **ERRORS},
    )
    def post(self, request, group_id):
        group = selectors.group_for_site(site=request.site, group_id=group_id)
        try:
            group = services.group_community_approve(actor=actor_from_request(request), group=group)
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(_group_body(group, request.site))


class GroupWhitelistApiView(SiteApiView):
    """This organisation's whitelist entry for another's community group: PUT lets its
    staff contribute; DELETE stops them, ending their shares with it at once."""

    site_kind = ANY_SITE
    method_permissions = {
        "PUT": (SHARING_NETWORKS, Access.ADMINISTER),
        "DELETE": (SHARING_NETWORKS, Access.ADMINISTER),
    }

    class EndedSerializer(serializers.Serializer):
        shares_ended = serializers.IntegerField()

    @extend_schema(
        operation_id="group_whitelist_add",
        request=None,
        responses={200: GroupDetailSerializer, **ERRORS},
    )
    def put(self, request, group_id):
        group = selectors.group_visible(site=request.site, group_id=group_id)
        try:
            services.group_whitelist_add(
                actor=actor_from_request(request), group=group, site=request.site
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(_group_body(group, request.site))

    @extend_schema(
        operation_id="group_whitelist_remove", responses={200: EndedSerializer, **ERRORS}
    )
    def delete(self, request, group_id):
        group = selectors.group_visible(site=request.site, group_id=group_id)
        try:
            ended = services.group_whitelist_remove(
                actor=actor_from_request(request), group=group, site=request.site
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return Response({"shares_ended": ended})
