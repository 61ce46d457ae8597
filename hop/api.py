"""REST equivalents of Log in to MIS.

On the group host: list the schools one may enter, and ask for a token. On the school
host: redeem it, which starts the hop session (a session cookie, like the page)."""

from django.contrib.auth import get_user
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.audit import actor_from_request, client_ip
from accounts.two_factor.selectors import session_is_verified
from institutions.selectors import current_schools
from matmis.api import ErrorSerializer, SiteApiView
from matmis.site_access import SiteKind

from .selectors import HopRefusal, hop_places
from .services import (
    HOP_TOKEN_LIFETIME,
    HopRefused,
    hop_session_start,
    hop_targets,
    hop_token_issue,
    hop_token_redeem,
    hop_token_unspent,
)


def _refused(refusal: HopRefused) -> Response:
    return Response(
        {"error": {"code": "hop_refused", "message": str(refusal), "fields": {}}},
        status=status.HTTP_403_FORBIDDEN,
    )


class HopTargetsApiView(SiteApiView):
    """Group site: the schools the requester may log in to."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None}

    class HopTargetSerializer(serializers.Serializer):
        urn = serializers.CharField()
        name = serializers.CharField()

    @extend_schema(
        operation_id="hop_targets_list",
        responses={200: HopTargetSerializer(many=True), 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request):
        targets = hop_targets(user=request.user, group=request.site)
        return Response(self.HopTargetSerializer(targets, many=True).data)


class HopSchoolsApiView(SiteApiView):
    """Group site: each school the requester is associated with, whether they may log in to
    its MIS now, and if not, why and what to do (the Log in to MIS page's list)."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None}

    class HopSchoolSerializer(serializers.Serializer):
        class RefusalSerializer(serializers.Serializer):
            code = serializers.ChoiceField(
                choices=[code.value for code in HopRefusal],
                help_text="Which condition fails: the first of them, in this order.",
            )
            message = serializers.CharField(help_text="Why not, in plain words.")
            next_step = serializers.CharField(help_text="What to do about it.")
            link_url = serializers.CharField(
                allow_blank=True, help_text="A page of this site to do it on, or empty."
            )
            ask = serializers.ListField(
                child=serializers.CharField(),
                help_text="Who can grant a missing permission or association, by name; "
                "empty when nobody here can (then ask your trust administrator).",
            )

        urn = serializers.CharField(allow_null=True)
        name = serializers.CharField()
        hop_possible = serializers.BooleanField()
        refusal = RefusalSerializer(allow_null=True)

    @extend_schema(
        operation_id="hop_schools_list",
        responses={200: HopSchoolSerializer(many=True), 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request):
        places = hop_places(
            user=request.user,
            group=request.site,
            two_factor_passed=session_is_verified(request),
        )
        body = [
            {
                "urn": place.school.urn,
                "name": place.school.name,
                "hop_possible": place.possible,
                "refusal": None
                if place.possible
                else {
                    "code": place.standing.refusal_code,
                    "message": place.standing.refusal,
                    "next_step": place.next_step.text if place.next_step else "",
                    "link_url": place.next_step.link_url if place.next_step else "",
                    "ask": list(place.next_step.ask) if place.next_step else [],
                },
            }
            for place in places
        ]
        return Response(self.HopSchoolSerializer(body, many=True).data)


class HopStartApiView(SiteApiView):
    """Group site: a single-use token (60 seconds) to redeem on the school's host."""

    site_kind = SiteKind.GROUP
    method_permissions = {"POST": None}

    class HopStartInputSerializer(serializers.Serializer):
        school_urn = serializers.RegexField(r"^[0-9]{6}$")

    class HopStartSerializer(serializers.Serializer):
        token = serializers.CharField()
        redeem_url = serializers.URLField()
        expires_in_seconds = serializers.IntegerField()

    @extend_schema(
        operation_id="hop_start",
        request=HopStartInputSerializer,
        responses={
            201: HopStartSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request):
        data = self.HopStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        school = (
            current_schools(group=request.site)
            .filter(urn=data.validated_data["school_urn"])
            .first()
        )
        if school is None:
            raise Http404
        try:
            token = hop_token_issue(
                actor=actor_from_request(request),
                group=request.site,
                school=school,
                group_session_key=request.session.session_key or "",
                session_verified=session_is_verified(request),
            )
        except HopRefused as refusal:
            return _refused(refusal)
        body = {
            "token": token,
            "redeem_url": f"{school.url}api/v1/hop/redeem/",
            "expires_in_seconds": int(HOP_TOKEN_LIFETIME.total_seconds()),
        }
        return Response(self.HopStartSerializer(body).data, status=status.HTTP_201_CREATED)


class HopRedeemApiView(SiteApiView):
    """School site: spend the token and start the hop session. A browser's request must
    come from the group's site (``Origin``, ``Sec-Fetch-Site``: ``hop_sender_check``), and a
    session signed in here as someone else is not replaced."""

    site_kind = SiteKind.SCHOOL
    public = True  # not signed in here yet: the single-use token is the credential
    method_permissions = {"POST": None}
    authentication_classes: list = []  # no session yet, so no CSRF check to make

    class HopRedeemInputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=200)

    class HopSessionSerializer(serializers.Serializer):
        school = serializers.CharField()
        signed_in_from = serializers.CharField()

    @extend_schema(
        operation_id="hop_redeem",
        request=HopRedeemInputSerializer,
        responses={
            200: HopSessionSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,  # on a group's host: schools only
        },
    )
    def post(self, request):
        data = self.HopRedeemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = data.validated_data["token"]
        # Who the session is signed in as: this endpoint authenticates nobody itself.
        signed_in = get_user(request._request)
        pending = hop_token_unspent(token=token, school=request.site)
        if pending is not None and signed_in.is_authenticated and signed_in.pk != pending.user_id:
            # No page to ask on: the page form (``hop:redeem``) asks; here, refuse.
            return _refused(
                HopRefused(
                    f"Someone else is signed in at {request.site.name} with this session. "
                    "Sign out there first, then start again from your group's site."
                )
            )
        try:
            hop, group_session = hop_token_redeem(
                token=token,
                school=request.site,
                ip_address=client_ip(request),
                origin=request.headers.get("Origin"),
                fetch_site=request.headers.get("Sec-Fetch-Site"),
            )
        except HopRefused as refusal:
            return _refused(refusal)
        hop_session_start(request._request, hop=hop, group_session=group_session)
        body = {"school": request.site.name, "signed_in_from": hop.group.name}
        return Response(self.HopSessionSerializer(body).data)
