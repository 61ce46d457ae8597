"""REST endpoints of institutions: the current site, a group's schools and its clusters.

Every endpoint about schools or clusters exists only on a group site (a school site
answers 404) and only ever reads or changes that group's own rows: an id or URN of
another group's school or cluster gets the same 404 as one that does not exist.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from accounts.audit import actor_from_request
from accounts.permissions import INSTITUTION_DETAILS, Access
from matmis.api import ErrorSerializer, PageNumberPagination, SiteApiView, validation_error
from matmis.site_access import ANY_SITE, SiteKind

from .forms import BrowseForm
from .models import Institution, OfstedGrade, Phase
from .selectors import (
    NOT_A_URN,
    OFSTED_NONE,
    RELEVANCE,
    SORTS,
    cluster_for_id,
    cluster_list,
    cluster_schools,
    group_school_for_urn,
    group_school_list,
    group_school_type_names,
    malformed_urns,
    schools_for_selection,
)
from .services import cluster_create, cluster_delete, cluster_rename, cluster_set_schools


class CurrentSiteView(SiteApiView):
    """The site this request is served by."""

    site_kind = ANY_SITE
    method_permissions = {"GET": None}

    class SiteSerializer(serializers.Serializer):
        slug = serializers.SlugField()
        name = serializers.CharField()
        kind = serializers.CharField()
        kind_label = serializers.CharField(source="get_kind_display")
        url = serializers.URLField()

    @extend_schema(
        operation_id="site_retrieve",
        responses={200: SiteSerializer, 403: ErrorSerializer},
    )
    def get(self, request):
        return Response(self.SiteSerializer(request.site).data)


# --- Shared pieces ---------------------------------------------------------------------------

MANAGE_CLUSTERS = (INSTITUTION_DETAILS, Access.ADMINISTER)

ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}
WRITE_ERRORS = {400: ErrorSerializer, **ERRORS}


def ofsted_summary(school: Institution) -> str:
    """The Ofsted position in a few words; never a single grade that the register does not
    give (report cards have none)."""
    if school.ofsted_grade:
        return school.get_ofsted_grade_display()
    if school.ofsted_report_card or school.ofsted_last_inspection:
        return "No single grade"
    return "Not inspected"


class InstitutionClusterRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class InstitutionSerializerBase(serializers.Serializer):
    urn = serializers.CharField()
    name = serializers.CharField()
    phase = serializers.CharField()
    type_name = serializers.CharField()
    ofsted_grade = serializers.SerializerMethodField(
        help_text="A legacy single overall grade; null when the register gives none "
        "(not inspected, or inspected under report cards)."
    )
    ofsted_summary = serializers.SerializerMethodField()
    pupils = serializers.IntegerField(allow_null=True)
    town = serializers.CharField()
    postcode = serializers.CharField()
    clusters = InstitutionClusterRefSerializer(many=True, source="group_clusters")

    @extend_schema_field(serializers.ChoiceField(choices=OfstedGrade.choices, allow_null=True))
    def get_ofsted_grade(self, school: Institution) -> str | None:
        return school.ofsted_grade or None

    def get_ofsted_summary(self, school: Institution) -> str:
        return ofsted_summary(school)


# --- Schools --------------------------------------------------------------------------------


class InstitutionRowSerializer(InstitutionSerializerBase):
    """A row of Browse Institutions."""


class InstitutionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = InstitutionRowSerializer(many=True)


# The search, filters and sort of Browse Institutions (and of every list of the group's
# schools that offers them).
BROWSE_PARAMETERS = [
    OpenApiParameter("q", str, description="Name (typo-tolerant), 6-digit URN, postcode or town."),
    OpenApiParameter("phase", str, many=True, enum=Phase.values, explode=True),
    OpenApiParameter(
        "type", str, many=True, explode=True, description="Types of the group's schools."
    ),
    OpenApiParameter(
        "ofsted",
        str,
        many=True,
        explode=True,
        enum=[*OfstedGrade.values, OFSTED_NONE],
        description=f"“{OFSTED_NONE}”: no single grade (not inspected or report card).",
    ),
    OpenApiParameter("cluster", int, many=True, explode=True, description="Cluster ids."),
    OpenApiParameter(
        "sort",
        str,
        enum=[RELEVANCE, *SORTS],
        description="Default: relevance while searching, else name.",
    ),
]


def browse_form_or_400(query, *, group, form_class=BrowseForm, **kwargs) -> BrowseForm:
    """``form_class`` (Browse's search, filters and sort) read from ``query``, valid, or a
    400 naming each field it could not understand."""
    form = form_class(
        query,
        type_names=group_school_type_names(group=group),
        clusters=cluster_list(group=group),
        **kwargs,
    )
    if not form.is_valid():
        raise exceptions.ValidationError(
            {field: list(messages) for field, messages in form.errors.items()}
        )
    return form


class InstitutionListView(SiteApiView):
    """The group's current schools: the data of Browse Institutions."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None}

    @extend_schema(
        operation_id="institutions_list",
        parameters=[
            *BROWSE_PARAMETERS,
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200; default 50."),
        ],
        responses={200: InstitutionPageSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def get(self, request):
        group = request.site
        form = browse_form_or_400(request.query_params, group=group)
        schools = group_school_list(group=group, sort=form.sort_key(), **form.filters())
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(schools, request, view=self)
        return paginator.get_paginated_response(InstitutionRowSerializer(page, many=True).data)


class InstitutionDetailView(SiteApiView):
    """One of the group's current schools: the register's facts."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None}

    class InstitutionDetailSerializer(InstitutionSerializerBase):
        dfe_number = serializers.CharField()
        type_group = serializers.CharField()
        status = serializers.CharField()
        statutory_low_age = serializers.IntegerField(allow_null=True)
        statutory_high_age = serializers.IntegerField(allow_null=True)
        capacity = serializers.IntegerField(allow_null=True)
        percentage_fsm = serializers.DecimalField(
            max_digits=4, decimal_places=1, allow_null=True, coerce_to_string=False
        )
        la_code = serializers.CharField()
        la_name = serializers.CharField()
        trust_code = serializers.CharField()
        trust_name = serializers.CharField()
        open_date = serializers.DateField(allow_null=True)
        close_date = serializers.DateField(allow_null=True)
        street = serializers.CharField()
        locality = serializers.CharField()
        address3 = serializers.CharField()
        county = serializers.CharField()
        website = serializers.CharField()
        telephone = serializers.CharField()
        head_name = serializers.CharField()
        head_job_title = serializers.CharField()
        ofsted_last_inspection = serializers.DateField(allow_null=True)
        ofsted_rating_published = serializers.CharField()
        ofsted_report_card = serializers.JSONField(
            help_text="Report-card inspections: area name to grade, and safeguarding."
        )

    @extend_schema(
        operation_id="institutions_retrieve",
        parameters=[
            OpenApiParameter("urn", str, OpenApiParameter.PATH, pattern="^[0-9]{6}$"),
        ],
        responses={200: InstitutionDetailSerializer, **ERRORS},
    )
    def get(self, request, urn: str):
        school = group_school_for_urn(group=request.site, urn=urn)
        return Response(self.InstitutionDetailSerializer(school).data)


# --- Clusters ---------------------------------------------------------------------------------


class ClusterSchoolSerializer(serializers.Serializer):
    urn = serializers.CharField()
    name = serializers.CharField()


class ClusterItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    school_count = serializers.IntegerField(help_text="Its schools that are current members.")


class ClusterDetailSerializer(ClusterItemSerializer):
    schools = serializers.SerializerMethodField()

    @extend_schema_field(ClusterSchoolSerializer(many=True))
    def get_schools(self, cluster) -> list[dict]:
        return ClusterSchoolSerializer(cluster_schools(cluster=cluster), many=True).data


class ClusterNameInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


def _cluster_detail(request, cluster_id: int) -> dict:
    return ClusterDetailSerializer(cluster_for_id(group=request.site, cluster_id=cluster_id)).data


class ClusterListView(SiteApiView):
    """The group's clusters (anyone on the site); create one (Administer Institution
    Details)."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None, "POST": MANAGE_CLUSTERS}

    class ClusterPageSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = ClusterItemSerializer(many=True)

    class ClusterCreateInputSerializer(ClusterNameInputSerializer):
        pass

    @extend_schema(
        operation_id="clusters_list",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: ClusterPageSerializer, **ERRORS},
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(cluster_list(group=request.site), request, view=self)
        return paginator.get_paginated_response(ClusterItemSerializer(page, many=True).data)

    @extend_schema(
        operation_id="clusters_create",
        request=ClusterCreateInputSerializer,
        responses={201: ClusterDetailSerializer, **WRITE_ERRORS},
    )
    def post(self, request):
        data = self.ClusterCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            cluster = cluster_create(
                group=request.site,
                name=data.validated_data["name"],
                actor=actor_from_request(request),
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(_cluster_detail(request, cluster.pk), status=status.HTTP_201_CREATED)


class ClusterDetailView(SiteApiView):
    """One of the group's clusters with its schools; rename or delete it (Administer
    Institution Details)."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None, "PATCH": MANAGE_CLUSTERS, "DELETE": MANAGE_CLUSTERS}

    class ClusterRenameInputSerializer(ClusterNameInputSerializer):
        pass

    @extend_schema(
        operation_id="clusters_retrieve", responses={200: ClusterDetailSerializer, **ERRORS}
    )
    def get(self, request, cluster_id: int):
        return Response(_cluster_detail(request, cluster_id))

    @extend_schema(
        operation_id="clusters_rename",
        request=ClusterRenameInputSerializer,
        responses={200: ClusterDetailSerializer, **WRITE_ERRORS},
    )
    def patch(self, request, cluster_id: int):
        cluster = cluster_for_id(group=request.site, cluster_id=cluster_id)
        data = self.ClusterRenameInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            cluster_rename(
                cluster=cluster, name=data.validated_data["name"], actor=actor_from_request(request)
            )
        except DjangoValidationError as error:
            raise validation_error(error) from None
        return Response(_cluster_detail(request, cluster.pk))

    @extend_schema(operation_id="clusters_destroy", responses={204: None, **ERRORS})
    def delete(self, request, cluster_id: int):
        cluster = cluster_for_id(group=request.site, cluster_id=cluster_id)
        cluster_delete(cluster=cluster, actor=actor_from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClusterSchoolsView(SiteApiView):
    """Replace a cluster's schools, all or nothing (Administer Institution Details)."""

    site_kind = SiteKind.GROUP
    method_permissions = {"PUT": MANAGE_CLUSTERS}

    class ClusterSchoolsInputSerializer(serializers.Serializer):
        urns = serializers.ListField(
            child=serializers.CharField(max_length=6),
            max_length=5000,
            allow_empty=True,
            help_text="URNs of the group's current schools; the cluster gets exactly these. "
            "Any other URN is a 404.",
        )

    class ClusterSchoolsResultSerializer(serializers.Serializer):
        added = serializers.IntegerField()
        removed = serializers.IntegerField()
        cluster = ClusterDetailSerializer()

    @extend_schema(
        operation_id="clusters_schools_update",
        request=ClusterSchoolsInputSerializer,
        responses={200: ClusterSchoolsResultSerializer, **WRITE_ERRORS},
    )
    def put(self, request, cluster_id: int):
        cluster = cluster_for_id(group=request.site, cluster_id=cluster_id)
        data = self.ClusterSchoolsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        urns = list(dict.fromkeys(data.validated_data["urns"]))
        malformed = malformed_urns(urns)
        if malformed:
            raise exceptions.ValidationError({"urns": [f"{NOT_A_URN}: {', '.join(malformed)}."]})
        schools = schools_for_selection(group=request.site, urns=urns)
        try:
            change = cluster_set_schools(
                cluster=cluster, schools=schools, actor=actor_from_request(request)
            )
        except DjangoValidationError as error:
            raise validation_error(error, rename={"schools": "urns"}) from None
        return Response(
            {
                "added": change.added,
                "removed": change.removed,
                "cluster": _cluster_detail(request, cluster.pk),
            }
        )
