"""REST endpoints of data sharing on a school site: the school's requests, and approving or
declining one.

Forwarding ("not me: send to ..."): ``GET .../forward/`` lists the colleagues a request may
be forwarded to, ``POST .../forward/`` forwards it to one of them; only a recipient of the
request or a holder of ``Data Sharing Request`` at Administer may (403 otherwise).

Every endpoint exists only on a school site (a group site answers 404) and only reads or
changes that school's own requests: the id of another school's request gets the same 404
as one that does not exist. Reading needs access to the site; approving and declining need
``Data Sharing Request`` at Administer. Repeating a decision already taken is harmless
(200, nothing changes); the other decision on a decided request is refused (400).
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from accounts.audit import actor_from_request
from accounts.permissions import DATA_SHARING_REQUEST, Access, request_has_permission
from matmis.api import ErrorSerializer, PageNumberPagination, SiteApiView, validation_error
from matmis.site_access import SiteKind

from ..access import agreement_level
from ..models import AccessLevel, AgreementRequest, RequestStatus
from ..services.decisions import agreement_request_approve, agreement_request_decline
from ..services.forwarding import agreement_request_forward, require_may_forward
from .selectors import (
    forward_candidates,
    level_explanation,
    request_recipient_list,
    school_agreement_list,
    school_request_for_id,
    school_request_list,
)

DECIDE = (DATA_SHARING_REQUEST, Access.ADMINISTER)
ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}
WRITE_ERRORS = {400: ErrorSerializer, **ERRORS}


# --- Serializers ----------------------------------------------------------------------------


class SchoolSharingGroupSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.CharField()


class SchoolSharingRequestSerializer(serializers.Serializer):
    """A request as the school sees it in its list."""

    id = serializers.IntegerField()
    group = SchoolSharingGroupSerializer()
    level = serializers.ChoiceField(choices=AccessLevel.choices)
    level_label = serializers.CharField(source="get_level_display")
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    sender_name = serializers.CharField(source="sender.user.display_name")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by_name = serializers.SerializerMethodField()
    withdraw_reason = serializers.CharField(
        help_text="Why it was withdrawn other than by the group: “school left the group” "
        "when the school's membership of the group ended; empty otherwise."
    )

    def get_decided_by_name(self, obj: AgreementRequest) -> str | None:
        return obj.decided_by.display_name if obj.decided_by else None


class SchoolSharingLevelSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    label = serializers.CharField()
    allows = serializers.CharField(help_text="What the level lets the group see and do.")
    does_not_allow = serializers.CharField(help_text="What it does not let the group do.")


class SchoolSharingRecipientSerializer(serializers.Serializer):
    """Someone a request went to, and how: by role, chosen by name, or forwarded."""

    name = serializers.CharField(source="user.display_name")
    email = serializers.EmailField()
    role = serializers.CharField(source="role_name")
    source = serializers.CharField(help_text="role, named or forwarded.")
    forwarded_by_name = serializers.SerializerMethodField()
    added_at = serializers.DateTimeField()

    def get_forwarded_by_name(self, obj) -> str | None:
        return obj.forwarded_by.display_name if obj.forwarded_by_id else None


class SchoolSharingRequestDetailSerializer(SchoolSharingRequestSerializer):
    """One request, with what its level means and whether the requester may decide it."""

    sender_job_title = serializers.CharField(source="sender.job_title")
    explanation = serializers.SerializerMethodField()
    current_level = serializers.SerializerMethodField(
        help_text="The level agreed with this group today; 0 for none."
    )
    decline_reason = serializers.SerializerMethodField()
    may_decide = serializers.SerializerMethodField(
        help_text="Whether the requester may approve or decline it (when pending)."
    )
    recipients = serializers.SerializerMethodField(
        help_text="Who it went to, in the order they received it (forwards last)."
    )

    @extend_schema_field(SchoolSharingRecipientSerializer(many=True))
    def get_recipients(self, obj: AgreementRequest) -> list:
        return SchoolSharingRecipientSerializer(request_recipient_list(request=obj), many=True).data

    @extend_schema_field(SchoolSharingLevelSerializer)
    def get_explanation(self, obj: AgreementRequest) -> dict:
        return SchoolSharingLevelSerializer(level_explanation(obj.level)).data

    def get_current_level(self, obj: AgreementRequest) -> int:
        return agreement_level(group=obj.group, school=obj.school)

    def get_decline_reason(self, obj: AgreementRequest) -> str:
        return getattr(obj, "decline_reason", "")

    def get_may_decide(self, obj: AgreementRequest) -> bool:
        request = self.context["request"]
        return request_has_permission(request, DATA_SHARING_REQUEST, Access.ADMINISTER)


class SchoolSharingAgreementSerializer(serializers.Serializer):
    """One of the school's agreements: in force, or ended (history, sharing nothing)."""

    id = serializers.IntegerField()
    group = SchoolSharingGroupSerializer()
    level = serializers.ChoiceField(choices=AccessLevel.choices)
    level_label = serializers.CharField(source="get_level_display")
    state = serializers.SerializerMethodField(
        help_text="“in_force”: shares at its level; “ended”: the school left the group, "
        "it shares nothing and is kept as history."
    )
    automated = serializers.BooleanField()
    approved_at = serializers.DateTimeField(help_text="When its level was last set.")
    approved_by_name = serializers.CharField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField(help_text="“school left the group”; empty in force.")

    def get_state(self, obj) -> str:
        return "ended" if obj.has_ended else "in_force"


class SchoolSharingAgreementPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SchoolSharingAgreementSerializer(many=True)


class SchoolSharingRequestPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SchoolSharingRequestSerializer(many=True)


class SchoolSharingDeclineInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


# --- Views ----------------------------------------------------------------------------------


class SchoolSharingRequestListView(SiteApiView):
    """The school's data sharing requests: pending first, then the rest, newest first."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": None}

    @extend_schema(
        operation_id="school_sharing_requests_list",
        tags=["data sharing (school)"],
        responses={200: SchoolSharingRequestPageSerializer, **ERRORS},
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            school_request_list(school=request.site), request, view=self
        )
        return paginator.get_paginated_response(
            SchoolSharingRequestSerializer(page, many=True).data
        )


class SchoolSharingAgreementListView(SiteApiView):
    """The school's agreements: in force first, then those that ended (history)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": None}

    @extend_schema(
        operation_id="school_sharing_agreements_list",
        tags=["data sharing (school)"],
        responses={200: SchoolSharingAgreementPageSerializer, **ERRORS},
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            school_agreement_list(school=request.site), request, view=self
        )
        return paginator.get_paginated_response(
            SchoolSharingAgreementSerializer(page, many=True).data
        )


class SchoolSharingRequestDetailView(SiteApiView):
    """One of the school's requests; another school's id is a 404."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": None}

    @extend_schema(
        operation_id="school_sharing_requests_retrieve",
        tags=["data sharing (school)"],
        responses={200: SchoolSharingRequestDetailSerializer, **ERRORS},
    )
    def get(self, request, request_id: int):
        sharing_request = school_request_for_id(school=request.site, request_id=request_id)
        return Response(_detail(request, sharing_request))


def _detail(request, sharing_request: AgreementRequest) -> dict:
    return SchoolSharingRequestDetailSerializer(sharing_request, context={"request": request}).data


def _decide(request, request_id: int, *, target: RequestStatus, act) -> Response:
    sharing_request = school_request_for_id(school=request.site, request_id=request_id)
    if sharing_request.status == target:
        return Response(_detail(request, sharing_request))  # a harmless repeat
    if sharing_request.status != RequestStatus.PENDING:
        raise exceptions.ValidationError(
            f"This request is already {sharing_request.get_status_display().lower()}; "
            "only a pending request can be approved or declined."
        )
    try:
        act(sharing_request)
    except DjangoValidationError as error:
        raise exceptions.ValidationError(error.messages) from error
    except ValueError as error:
        raise exceptions.ValidationError(str(error)) from error
    sharing_request = school_request_for_id(school=request.site, request_id=request_id)
    return Response(_detail(request, sharing_request))


class SchoolSharingRequestApproveView(SiteApiView):
    """Approve a pending request: the agreement rises to its level, for good."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": DECIDE}

    @extend_schema(
        operation_id="school_sharing_requests_approve",
        tags=["data sharing (school)"],
        request=None,
        responses={
            200: OpenApiResponse(
                SchoolSharingRequestDetailSerializer,
                description="Approved (or approved already: nothing changed).",
            ),
            **WRITE_ERRORS,
        },
    )
    def post(self, request, request_id: int):
        actor = actor_from_request(request)
        return _decide(
            request,
            request_id,
            target=RequestStatus.APPROVED,
            act=lambda r: agreement_request_approve(request=r, actor=actor),
        )


class SchoolSharingRequestDeclineView(SiteApiView):
    """Decline a pending request, with an optional reason the group sees."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": DECIDE}

    @extend_schema(
        operation_id="school_sharing_requests_decline",
        tags=["data sharing (school)"],
        request=SchoolSharingDeclineInputSerializer,
        responses={
            200: OpenApiResponse(
                SchoolSharingRequestDetailSerializer,
                description="Declined (or declined already: nothing changed).",
            ),
            **WRITE_ERRORS,
        },
    )
    def post(self, request, request_id: int):
        data = SchoolSharingDeclineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actor = actor_from_request(request)
        return _decide(
            request,
            request_id,
            target=RequestStatus.DECLINED,
            act=lambda r: agreement_request_decline(
                request=r, actor=actor, reason=data.validated_data["reason"]
            ),
        )


# --- Forwarding ("not me: send to ...") ------------------------------------------------------


class SchoolSharingColleagueSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="profile_id", help_text="Staff profile id: ``to``.")
    name = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField(source="role_name")


class SchoolSharingForwardInputSerializer(serializers.Serializer):
    to = serializers.IntegerField(
        min_value=1, help_text="Staff profile id of a colleague holding a recipient role."
    )


class SchoolSharingRequestForwardView(SiteApiView):
    """GET: the colleagues a request may be forwarded to. POST: forward it to one, who
    becomes a recipient and gets the request's email."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": None, "POST": None}  # a recipient, or DECIDE: the service

    def _request_may_forward(self, request, request_id):
        sharing_request = school_request_for_id(school=request.site, request_id=request_id)
        try:
            require_may_forward(actor=actor_from_request(request), request=sharing_request)
        except DjangoPermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        return sharing_request

    @extend_schema(
        operation_id="school_sharing_requests_forward_candidates",
        tags=["data sharing (school)"],
        responses={200: SchoolSharingColleagueSerializer(many=True), **ERRORS},
    )
    def get(self, request, request_id: int):
        sharing_request = self._request_may_forward(request, request_id)
        colleagues = forward_candidates(request=sharing_request, user=request.user)
        return Response(SchoolSharingColleagueSerializer(colleagues, many=True).data)

    @extend_schema(
        operation_id="school_sharing_requests_forward",
        tags=["data sharing (school)"],
        request=SchoolSharingForwardInputSerializer,
        responses={
            200: OpenApiResponse(
                SchoolSharingRequestDetailSerializer,
                description="Forwarded: the colleague is now among its recipients.",
            ),
            **WRITE_ERRORS,
        },
    )
    def post(self, request, request_id: int):
        sharing_request = self._request_may_forward(request, request_id)
        data = SchoolSharingForwardInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            agreement_request_forward(
                request=sharing_request,
                to_profile_id=data.validated_data["to"],
                actor=actor_from_request(request),
            )
        except DjangoPermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        except DjangoValidationError as error:
            raise validation_error(error) from None
        sharing_request = school_request_for_id(school=request.site, request_id=request_id)
        return Response(_detail(request, sharing_request))
