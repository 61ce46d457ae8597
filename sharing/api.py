"""REST endpoints of the group's Data Sharing Agreements (a school site answers 404).

- ``GET agreements/``: the schools of one tab (``none``, ``pending``, ``approved``), with
  Browse's search and filters; any member of the group's staff.
- ``GET agreements/ended/``: the group's agreements that ended when their school left the
  group (history: they grant nothing); any member of the group's staff.
- ``POST agreements/requests/``: send (or raise), ``POST agreements/requests/remind/``,
  ``POST agreements/requests/withdraw/``, ``GET agreements/requests/preview/``: need
  Institution: Administer Institution Details at Administer. A send and its preview go to
  roles, to people chosen by name (``people``: staff profile ids), or both;
  ``GET agreements/requests/recipients/`` lists the people who may be chosen at the chosen
  schools (needs the same permission).

Ids from the client are checked as a subset of the group's own, by the same readers as the
pages (``schools_for_selection``, ``requests_for_selection``): a URN that is not one of
the group's current schools, or a request id that is missing or another group's, is a 404,
the same whether it exists elsewhere or not at all; a value that is not a URN at all is a
validation error (400). Either way nothing changes.
"""

from collections.abc import Callable
from dataclasses import asdict

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from accounts.audit import actor_from_request
from accounts.permissions import INSTITUTION_DETAILS, Access
from institutions.api import browse_form_or_400
from institutions.forms import BrowseForm
from institutions.selectors import (
    NOT_A_URN,
    malformed_urns,
    schools_for_selection,
)
from matmis.api import ErrorSerializer, PageNumberPagination, SiteApiView, validation_error
from matmis.exports import ExportApiView, export_response, export_schema
from matmis.site_access import SiteKind

from .exports import agreements_table
from .models import AccessLevel
from .rules import LEVELS, ROLE_CHOICES, level_clean, recipient_roles_clean
from .selectors import (
    TAB_APPROVED,
    TAB_NONE,
    TAB_PENDING,
    TABS,
    agreement_tab_schools,
    delivery_summaries,
    eligible_people,
    ended_agreements,
    group_senders,
    pending_requests,
    recipients_preview,
    requests_for_selection,
    tab_school_list,
)
from .services.outcomes import BulkOutcome
from .services.requests import (
    agreement_requests_remind,
    agreement_requests_send,
    agreement_requests_withdraw,
)

ACT = (INSTITUTION_DETAILS, Access.ADMINISTER)
ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}
WRITE_ERRORS = {400: ErrorSerializer, **ERRORS}
LEVEL_HELP = "1 DfE Data, 2 DfE Data & MIS Data, 3 DfE Data, MIS Data & Group Actions."


def _browse_form(request, data) -> BrowseForm:
    return browse_form_or_400(data, group=request.site)


def _query(data: dict) -> QueryDict:
    """Filter fields of a JSON body as the query string BrowseForm reads."""
    query = QueryDict(mutable=True)
    if data.get("q"):
        query["q"] = data["q"]
    for key in ("phase", "type", "ofsted", "cluster"):
        query.setlist(key, [str(value) for value in data.get(key) or []])
    return query


# --- Shared serializers ------------------------------------------------------------------------


class AgreementDeliverySerializer(serializers.Serializer):
    label = serializers.CharField(help_text="“Sent to 2 of 2”, “Sending”, “Retrying”, “Failed …”.")
    request_total = serializers.IntegerField()
    request_sent = serializers.IntegerField()
    queued = serializers.IntegerField()
    retrying = serializers.IntegerField()
    failed = serializers.IntegerField()


class AgreementPendingRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    level = serializers.IntegerField(help_text=LEVEL_HELP)
    level_label = serializers.CharField()
    sent_at = serializers.DateTimeField()
    sender_name = serializers.CharField()
    sender_email = serializers.EmailField()
    last_reminder_at = serializers.DateTimeField(allow_null=True)
    delivery = AgreementDeliverySerializer(allow_null=True)


class AgreementLastClosedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="“declined” or “withdrawn”.")
    at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(help_text="What the school said when it declined.")


class AgreementEndedSummarySerializer(serializers.Serializer):
    level = serializers.IntegerField(help_text=LEVEL_HELP)
    level_label = serializers.CharField()
    ended_at = serializers.DateTimeField()
    reason = serializers.CharField(help_text="“school left the group”.")


class AgreementRowSerializer(serializers.Serializer):
    """A school of one tab."""

    urn = serializers.CharField()
    name = serializers.CharField()
    phase = serializers.CharField()
    type_name = serializers.CharField()
    town = serializers.CharField()
    postcode = serializers.CharField()
    level = serializers.IntegerField(
        source="agreement_level", allow_null=True, help_text="The approved level, if any."
    )
    level_label = serializers.SerializerMethodField()
    approved_at = serializers.DateTimeField(source="agreement_approved_at", allow_null=True)
    automated = serializers.BooleanField(source="agreement_automated", allow_null=True)
    pending_request = serializers.SerializerMethodField()
    last_closed_request = serializers.SerializerMethodField()
    ended_agreement = serializers.SerializerMethodField(
        help_text="No Agreement tab: the latest agreement that ended when the school left "
        "the group (it grants nothing: a school that rejoined needs a new approval)."
    )

    def get_level_label(self, school) -> str:
        return AccessLevel(school.agreement_level).label if school.agreement_level else ""

    @extend_schema_field(AgreementPendingRequestSerializer(allow_null=True))
    def get_pending_request(self, school):
        if not school.pending_request_id:
            return None
        delivery = self.context.get("deliveries", {}).get(school.pending_request_id)
        return AgreementPendingRequestSerializer(
            {
                "id": school.pending_request_id,
                "level": school.pending_level,
                "level_label": AccessLevel(school.pending_level).label,
                "sent_at": school.pending_sent_at,
                "sender_name": school.pending_sender_name or school.pending_sender_email,
                "sender_email": school.pending_sender_email,
                "last_reminder_at": school.last_reminder_at,
                "delivery": (
                    {"label": delivery.label, **asdict(delivery)} if delivery is not None else None
                ),
            }
        ).data

    @extend_schema_field(AgreementEndedSummarySerializer(allow_null=True))
    def get_ended_agreement(self, school):
        ended_at = getattr(school, "ended_agreement_at", None)
        if not ended_at:
            return None
        return {
            "level": school.ended_agreement_level,
            "level_label": AccessLevel(school.ended_agreement_level).label,
            "ended_at": ended_at,
            "reason": school.ended_agreement_reason,
        }

    @extend_schema_field(AgreementLastClosedSerializer(allow_null=True))
    def get_last_closed_request(self, school):
        status = getattr(school, "last_closed_status", None)
        if not status:
            return None
        return {
            "status": status,
            "at": school.last_closed_at,
            "reason": school.last_decline_reason or "",
        }


class EndedAgreementSchoolSerializer(serializers.Serializer):
    urn = serializers.CharField(allow_null=True)
    name = serializers.CharField()


class EndedAgreementSerializer(serializers.Serializer):
    """An agreement that ended: history, kept as it was; it grants nothing."""

    id = serializers.IntegerField()
    school = EndedAgreementSchoolSerializer()
    state = serializers.SerializerMethodField(help_text="Always “ended”: it shares nothing.")
    level = serializers.IntegerField(help_text=LEVEL_HELP)
    level_label = serializers.CharField(source="get_level_display")
    automated = serializers.BooleanField()
    approved_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    end_reason = serializers.CharField(help_text="“school left the group”.")

    def get_state(self, agreement) -> str:
        return "ended"


class EndedAgreementPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EndedAgreementSerializer(many=True)


class AgreementPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AgreementRowSerializer(many=True)


class AgreementSchoolOutcomeSerializer(serializers.Serializer):
    urn = serializers.CharField()
    name = serializers.CharField()
    done = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why it was skipped; empty when done.")
    recipients = serializers.ListField(child=serializers.EmailField())
    recipient_names = serializers.ListField(
        child=serializers.CharField(),
        help_text="Each recipient as “Name (Role)”, “(Role, chosen by name)” when named.",
    )
    request_id = serializers.IntegerField(allow_null=True)
    next_allowed_at = serializers.DateTimeField(
        allow_null=True, help_text="A reminder skipped for the rate limit: when the next may go."
    )


class AgreementBulkOutcomeSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["send", "remind", "withdraw"])
    summary = serializers.CharField(
        help_text="“Requests sent to 38 schools. 2 schools were skipped: …”"
    )
    done = serializers.IntegerField()
    skipped = serializers.IntegerField()
    results = AgreementSchoolOutcomeSerializer(many=True)


def _outcome_data(outcome: BulkOutcome) -> dict:
    return AgreementBulkOutcomeSerializer(
        {
            "action": outcome.action,
            "summary": outcome.summary,
            "done": len(outcome.done),
            "skipped": len(outcome.skipped),
            "results": [
                {
                    "urn": row.urn,
                    "name": row.name,
                    "done": row.done,
                    "reason": row.reason,
                    "recipients": list(row.recipients),
                    "recipient_names": list(row.recipient_names),
                    "request_id": row.request_id,
                    "next_allowed_at": row.next_allowed_at,
                }
                for row in outcome.rows
            ],
        }
    ).data


class AgreementFiltersInputSerializer(serializers.Serializer):
    """Browse's search and filters, for ``select_all``."""

    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    phase = serializers.ListField(child=serializers.CharField(), required=False)
    type = serializers.ListField(child=serializers.CharField(), required=False)
    ofsted = serializers.ListField(child=serializers.CharField(), required=False)
    cluster = serializers.ListField(child=serializers.IntegerField(), required=False)


# --- The tabs ---------------------------------------------------------------------------------


TAB_PARAMETERS = [
    OpenApiParameter(
        "tab",
        str,
        enum=list(TABS),
        description="none (default): no agreement and no pending request; pending; approved.",
    ),
    OpenApiParameter("q", str, description="Name, URN, postcode or town."),
    OpenApiParameter("phase", str, many=True, explode=True),
    OpenApiParameter("type", str, many=True, explode=True),
    OpenApiParameter("ofsted", str, many=True, explode=True),
    OpenApiParameter("cluster", int, many=True, explode=True),
    OpenApiParameter("sort", str),
]


def _tab_or_400(request) -> str:
    tab = request.query_params.get("tab") or TAB_NONE
    if tab not in TABS:
        raise exceptions.ValidationError({"tab": [f"Choose one of: {', '.join(TABS)}."]})
    return tab


class AgreementListView(SiteApiView):
    """The group's schools on one tab, searched and filtered as Browse Institutions."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None}

    @extend_schema(
        operation_id="agreements_list",
        parameters=[
            *TAB_PARAMETERS,
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200; default 50."),
        ],
        responses={200: AgreementPageSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def get(self, request):
        tab = _tab_or_400(request)
        form = _browse_form(request, request.query_params)
        schools = agreement_tab_schools(
            group=request.site, tab=tab, sort=form.sort_key(), **form.filters()
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(schools, request, view=self)
        deliveries = (
            delivery_summaries(
                group=request.site, request_ids=[school.pending_request_id for school in page]
            )
            if tab == TAB_PENDING
            else {}
        )
        data = AgreementRowSerializer(page, many=True, context={"deliveries": deliveries}).data
        return paginator.get_paginated_response(data)


class EndedAgreementListView(SiteApiView):
    """The group's agreements that ended when their school left the group, most recently
    ended first: history, whether the school has rejoined or not."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None}

    @extend_schema(
        operation_id="agreements_ended_list",
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200; default 50."),
        ],
        responses={200: EndedAgreementPageSerializer, **ERRORS},
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(ended_agreements(group=request.site), request, view=self)
        return paginator.get_paginated_response(EndedAgreementSerializer(page, many=True).data)


class AgreementExportView(ExportApiView):
    """The schools of ``agreements_list`` (same parameters, every page) as a CSV or XLSX
    file: the Data Sharing Agreements page's export of one tab."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None}

    @export_schema(operation_id="agreements_export", parameters=TAB_PARAMETERS)
    def get(self, request):
        tab = _tab_or_400(request)
        form = _browse_form(request, request.query_params)
        table = agreements_table(
            group=request.site, tab=tab, sort=form.sort_key(), filters=form.filters()
        )
        return export_response(table, site=request.site, export_format=self.export_format)


# --- Send, preview ------------------------------------------------------------------------------


def _send_schools(request, data: dict) -> list:
    """The schools a send or preview applies to: listed URNs (each must be the group's
    current school) or every school of the tab matching the filters."""
    if data.get("select_all"):
        form = _browse_form(request, _query(data))
        tab = data.get("tab") or TAB_NONE
        return list(tab_school_list(group=request.site, tab=tab, **form.filters()))
    urns = list(dict.fromkeys(data.get("schools") or []))
    if not urns:
        raise exceptions.ValidationError(
            {"schools": ["Give the URNs of the schools, or select_all with filters."]}
        )
    malformed = malformed_urns(urns)
    if malformed:
        raise exceptions.ValidationError({"schools": [f"{NOT_A_URN}: {', '.join(malformed)}."]})
    return schools_for_selection(group=request.site, urns=urns)


class AgreementSendInputSerializer(AgreementFiltersInputSerializer):
    level = serializers.IntegerField(
        min_value=min(LEVELS), max_value=max(LEVELS), help_text=LEVEL_HELP
    )
    sender = serializers.IntegerField(
        help_text="Staff profile id of the group's member of staff the request is from."
    )
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ROLE_CHOICES)),
        required=False,
        default=list,
        help_text=(
            "Who receives it at each school; “all” for the four roles. May be empty when "
            "``people`` names who receives it."
        ),
    )
    people = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=500,
        help_text=(
            "Staff profile ids of people chosen by name (see "
            "``agreements_requests_recipients``): each must hold a recipient role at one of "
            "the chosen schools, otherwise nothing is sent (400)."
        ),
    )
    schools = serializers.ListField(
        child=serializers.CharField(max_length=6),
        required=False,
        max_length=5000,
        help_text="URNs of the group's current schools (any other is a 404).",
    )
    select_all = serializers.BooleanField(
        default=False, help_text="Every school of ``tab`` matching the filters instead."
    )
    tab = serializers.ChoiceField(choices=[TAB_NONE, TAB_APPROVED], default=TAB_NONE)


class AgreementRequestSendView(SiteApiView):
    """Send data sharing requests to schools (or a higher level to approved schools)."""

    site_kind = SiteKind.GROUP
    method_permissions = {"POST": ACT}

    @extend_schema(
        operation_id="agreements_requests_send",
        request=AgreementSendInputSerializer,
        responses={200: AgreementBulkOutcomeSerializer, **WRITE_ERRORS},
    )
    def post(self, request):
        data = AgreementSendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        sender = group_senders(group=request.site).filter(pk=values["sender"]).first()
        if sender is None:
            raise exceptions.ValidationError(
                {"sender": ["Choose a member of this group’s staff with an email address."]}
            )
        schools = _send_schools(request, values)
        try:
            outcome = agreement_requests_send(
                group=request.site,
                schools=schools,
                sender=sender,
                recipient_roles=values["roles"],
                named_recipients=values["people"],
                level=values["level"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(
                error, rename={"named_recipients": "people", "recipient_roles": "roles"}
            ) from None
        return Response(_outcome_data(outcome))


class AgreementRecipientSerializer(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField(source="role_name")
    named = serializers.BooleanField(help_text="Chosen by name (``people``).")


class AgreementPreviewRowSerializer(serializers.Serializer):
    urn = serializers.CharField(source="school.urn")
    name = serializers.CharField(source="school.name")
    will_send = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why it would be skipped; empty when it would go.")
    recipients = AgreementRecipientSerializer(many=True)


class AgreementPreviewSerializer(serializers.Serializer):
    level = serializers.IntegerField(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField())
    sending = serializers.IntegerField(help_text="Schools it would be sent to.")
    people = serializers.IntegerField(help_text="People it would be sent to.")
    skipped = serializers.IntegerField()
    results = AgreementPreviewRowSerializer(many=True, source="rows")


class AgreementRequestPreviewView(SiteApiView):
    """Who would receive a request at each school, and which schools would be skipped."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": ACT}

    @extend_schema(
        operation_id="agreements_requests_preview",
        parameters=[
            OpenApiParameter("roles", str, many=True, explode=True, enum=list(ROLE_CHOICES)),
            OpenApiParameter(
                "people", int, many=True, explode=True, description="Staff profile ids."
            ),
            OpenApiParameter("level", int, enum=list(LEVELS), description=LEVEL_HELP),
            OpenApiParameter("schools", str, many=True, explode=True, description="URNs."),
            OpenApiParameter("select_all", bool),
            OpenApiParameter("tab", str, enum=[TAB_NONE, TAB_APPROVED]),
            OpenApiParameter("q", str),
            OpenApiParameter("phase", str, many=True, explode=True),
            OpenApiParameter("type", str, many=True, explode=True),
            OpenApiParameter("ofsted", str, many=True, explode=True),
            OpenApiParameter("cluster", int, many=True, explode=True),
        ],
        responses={200: AgreementPreviewSerializer, **WRITE_ERRORS},
    )
    def get(self, request):
        params = request.query_params
        people = _people_param(params)
        try:
            roles = (
                recipient_roles_clean(params.getlist("roles"))
                if params.getlist("roles") or not people
                else ()
            )
        except ValueError as error:
            raise exceptions.ValidationError({"roles": [str(error)]}) from None
        level = params.get("level")
        try:
            level = level_clean(level) if level not in (None, "") else None
        except ValueError as error:
            raise exceptions.ValidationError({"level": [str(error)]}) from None
        schools = _send_schools(request, _selection_params(params))
        preview = recipients_preview(
            group=request.site, schools=schools, roles=roles, level=level, named=people
        )
        return Response(
            AgreementPreviewSerializer(
                {
                    "level": preview.level,
                    "roles": list(preview.roles),
                    "sending": len(preview.sending),
                    "people": preview.people,
                    "skipped": len(preview.skipped),
                    "rows": preview.rows,
                }
            ).data
        )


def _selection_params(params) -> dict:
    """The schools a preview or a lookup applies to, from its query string."""
    if params.get("tab") not in (None, "", TAB_NONE, TAB_APPROVED):
        raise exceptions.ValidationError({"tab": ["Choose none or approved."]})
    return {
        "select_all": params.get("select_all") in ("1", "true", "True"),
        "tab": params.get("tab") or TAB_NONE,
        "schools": params.getlist("schools"),
        "q": params.get("q"),
        **{key: params.getlist(key) for key in ("phase", "type", "ofsted", "cluster")},
    }


def _people_param(params) -> list[int]:
    values = params.getlist("people")
    try:
        people = [int(value) for value in values]
    except (TypeError, ValueError):
        raise exceptions.ValidationError({"people": ["Give staff profile ids."]}) from None
    if any(pk < 1 for pk in people):
        raise exceptions.ValidationError({"people": ["Give staff profile ids."]})
    return people


SELECTION_PARAMETERS = [
    OpenApiParameter("schools", str, many=True, explode=True, description="URNs."),
    OpenApiParameter("select_all", bool),
    OpenApiParameter("tab", str, enum=[TAB_NONE, TAB_APPROVED]),
    OpenApiParameter("q", str, description="School name, URN, postcode or town."),
    OpenApiParameter("phase", str, many=True, explode=True),
    OpenApiParameter("type", str, many=True, explode=True),
    OpenApiParameter("ofsted", str, many=True, explode=True),
    OpenApiParameter("cluster", int, many=True, explode=True),
]


class AgreementEligibleSchoolSerializer(serializers.Serializer):
    urn = serializers.CharField()
    name = serializers.CharField()


class AgreementEligiblePersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="profile_id", help_text="Staff profile id: ``people``.")
    name = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField(source="role_name")
    school = AgreementEligibleSchoolSerializer()


class AgreementEligiblePeoplePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AgreementEligiblePersonSerializer(many=True)


class AgreementRecipientLookupView(SiteApiView):
    """The people who may be chosen by name to receive a request at the chosen schools:
    their staff holding a recipient role with an email address (never another school's)."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": ACT}

    @extend_schema(
        operation_id="agreements_requests_recipients",
        parameters=[
            *SELECTION_PARAMETERS,
            OpenApiParameter("name", str, description="Part of a person's name or email."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200; default 50."),
        ],
        responses={200: AgreementEligiblePeoplePageSerializer, **WRITE_ERRORS},
    )
    def get(self, request):
        params = request.query_params
        name = (params.get("name") or "").strip()
        if len(name) > 100:
            raise exceptions.ValidationError({"name": ["Search with at most 100 characters."]})
        schools = _send_schools(request, _selection_params(params))
        people = eligible_people(group=request.site, schools=schools, search=name)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(people, request, view=self)
        return paginator.get_paginated_response(
            AgreementEligiblePersonSerializer(page, many=True).data
        )


# --- Remind, withdraw ---------------------------------------------------------------------------


class AgreementRequestsInputSerializer(AgreementFiltersInputSerializer):
    requests = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=5000
    )
    select_all = serializers.BooleanField(
        default=False, help_text="Every pending request to a school matching the filters."
    )


def _requests(request, values: dict) -> list:
    if values.get("select_all"):
        form = _browse_form(request, _query(values))
        return list(pending_requests(group=request.site, **form.filters()))
    ids = values.get("requests") or []
    if not ids:
        raise exceptions.ValidationError(
            {"requests": ["Give the ids of the requests, or select_all with filters."]}
        )
    return requests_for_selection(group=request.site, request_ids=ids)


class _PendingRequestsActionView(SiteApiView):
    """A bulk action on chosen pending requests: ``act`` is the service."""

    site_kind = SiteKind.GROUP
    method_permissions = {"POST": ACT}

    act: Callable[..., BulkOutcome]

    def _post(self, request):
        data = AgreementRequestsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        requests = _requests(request, data.validated_data)
        outcome = self.act(group=request.site, requests=requests, actor=actor_from_request(request))
        return Response(_outcome_data(outcome))


class AgreementRequestRemindView(_PendingRequestsActionView):
    """Send a reminder for each pending request (at most one per request per hour)."""

    act = staticmethod(agreement_requests_remind)

    @extend_schema(
        operation_id="agreements_requests_remind",
        request=AgreementRequestsInputSerializer,
        responses={200: AgreementBulkOutcomeSerializer, **WRITE_ERRORS},
    )
    def post(self, request):
        return self._post(request)


class AgreementRequestWithdrawView(_PendingRequestsActionView):
    """Withdraw pending requests (a repeat is harmless)."""

    act = staticmethod(agreement_requests_withdraw)

    @extend_schema(
        operation_id="agreements_requests_withdraw",
        request=AgreementRequestsInputSerializer,
        responses={200: AgreementBulkOutcomeSerializer, **WRITE_ERRORS},
    )
    def post(self, request):
        return self._post(request)
