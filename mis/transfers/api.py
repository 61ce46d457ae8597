"""REST twins of taking a pupil off roll and of the arrivals: under /api/v1/. Reading
needs Students at View, writing Students at Administer."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from accounts.audit import actor_from_request
from matmis.api import ErrorSerializer, SiteApiView, validation_error
from matmis.site_access import SiteKind
from mis.codes import LeavingReason
from mis.ctf.api import PreviewPupilSerializer
from mis.models import OutsideReadKind, PupilArrival
from mis.outside_reads import RecordsOutsideReads

from .selectors import arrival_for_id, arrival_list, arrival_match
from .services import REJECTION_MAX, arrival_accept, arrival_reject, pupil_take_off_roll
from .views import ADMINISTER, SEE

ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}
TAGS = ["pupils arriving and leaving (school)"]
LIST_MAX = 200


class OffRollInputSerializer(serializers.Serializer):
    left_on = serializers.DateField(help_text="The pupil's last day on roll.")
    reason = serializers.ChoiceField(choices=LeavingReason.choices)
    destination_urn = serializers.CharField(required=False, allow_blank=True, max_length=6)
    destination_name = serializers.CharField(required=False, allow_blank=True, max_length=255)


class OffRollSerializer(serializers.Serializer):
    pupil = serializers.IntegerField(source="pupil.pk")
    left_on = serializers.DateField(source="pupil.left_on")
    reason = serializers.CharField(source="pupil.leaving_reason")
    destination_urn = serializers.CharField(source="pupil.destination_urn")
    destination_name = serializers.CharField(source="pupil.destination_name")
    sent_to_school_urn = serializers.CharField(
        source="sent_to.urn",
        allow_null=True,
        default=None,
        help_text="The school on the platform that received the pupil's record.",
    )
    ctf_needed = serializers.BooleanField(
        help_text="The next school is not on the platform: send it the pupil's CTF."
    )


class PupilOffRollApiView(SiteApiView):
    """Take one of the school's pupils off roll: 400 by field when refused (nothing
    changes); another school's pupil is a 404."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": ADMINISTER}

    @extend_schema(
        operation_id="pupils_off_roll",
        tags=TAGS,
        request=OffRollInputSerializer,
        responses={200: OffRollSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def post(self, request, pupil_id: int):
        data = OffRollInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            outcome = pupil_take_off_roll(
                site=request.site,
                pupil_id=pupil_id,
                actor=actor_from_request(request),
                **data.validated_data,
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(OffRollSerializer(outcome).data)


class ArrivalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    from_school = serializers.CharField(source="from_school.name")
    from_school_urn = serializers.CharField(source="from_school.urn", allow_null=True)
    upn = serializers.CharField()
    legal_first_name = serializers.CharField()
    legal_last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    left_on = serializers.DateField()
    sent_by = serializers.CharField()
    sent_at = serializers.DateTimeField()
    state = serializers.ChoiceField(choices=PupilArrival.State.choices)
    decided_at = serializers.DateTimeField(allow_null=True)
    rejection_reason = serializers.CharField()
    pupil = serializers.IntegerField(source="pupil_id", allow_null=True)


class ArrivalDetailSerializer(ArrivalSerializer):
    match = serializers.SerializerMethodField(help_text="The record against this school's pupils.")
    record = serializers.CharField(help_text="The transferable record: a CTF of this pupil.")

    @extend_schema_field(PreviewPupilSerializer)
    def get_match(self, arrival) -> dict:
        return PreviewPupilSerializer(self.context["match"]).data


class ArrivalListApiView(RecordsOutsideReads, SiteApiView):
    """Pupils other schools on the platform sent here, latest first (at most 200)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE}
    outside_read = OutsideReadKind.ARRIVALS

    @extend_schema(
        operation_id="arrivals_list",
        tags=TAGS,
        responses={200: ArrivalSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        arrivals = list(arrival_list(site=request.site)[:LIST_MAX])
        return Response(ArrivalSerializer(arrivals, many=True).data)


def _detail(request, arrival_id) -> dict:
    arrival = arrival_for_id(site=request.site, arrival_id=arrival_id)
    match = arrival_match(site=request.site, arrival=arrival)
    return ArrivalDetailSerializer(arrival, context={"match": match}).data


class ArrivalApiView(RecordsOutsideReads, SiteApiView):
    """One arrival with its record and how it matches this school's pupils."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE}
    outside_read = OutsideReadKind.ARRIVALS

    @extend_schema(
        operation_id="arrivals_retrieve",
        tags=TAGS,
        responses={200: ArrivalDetailSerializer, **ERRORS},
    )
    def get(self, request, arrival_id: int):
        return Response(_detail(request, arrival_id))


class ArrivalAcceptApiView(SiteApiView):
    """Accept an arrival: the pupil goes on roll from ``enrolled_on`` (a new pupil, or this
    school's pupil with the same UPN when it is the same person). A UPN clash is a 400
    naming both people, and nothing changes."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": ADMINISTER}

    class ArrivalAcceptInputSerializer(serializers.Serializer):
        enrolled_on = serializers.DateField()

    @extend_schema(
        operation_id="arrivals_accept",
        tags=TAGS,
        request=ArrivalAcceptInputSerializer,
        responses={200: ArrivalDetailSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def post(self, request, arrival_id: int):
        arrival = arrival_for_id(site=request.site, arrival_id=arrival_id)
        data = self.ArrivalAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            arrival_accept(
                site=request.site,
                arrival_id=arrival.pk,
                enrolled_on=data.validated_data["enrolled_on"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(_detail(request, arrival.pk))


class ArrivalRejectApiView(SiteApiView):
    """Reject an arrival, with the reason."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"POST": ADMINISTER}

    class ArrivalRejectInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=REJECTION_MAX)

    @extend_schema(
        operation_id="arrivals_reject",
        tags=TAGS,
        request=ArrivalRejectInputSerializer,
        responses={200: ArrivalDetailSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def post(self, request, arrival_id: int):
        arrival = arrival_for_id(site=request.site, arrival_id=arrival_id)
        data = self.ArrivalRejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            arrival_reject(
                site=request.site,
                arrival_id=arrival.pk,
                reason=data.validated_data["reason"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(_detail(request, arrival.pk))
