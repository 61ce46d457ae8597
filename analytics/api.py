"""REST endpoints of Analytics (a school site answers 404), for the group's staff with the
permission Analytics at View, gated exactly like the page (``analytics.selectors`` decides):

- ``GET analytics/schools/``: the group's current schools with their figures, the group's
  totals, England's figures and when the live figures were refreshed; ``cluster``,
  ``phase`` and ``mine`` narrow it as on the page (an unknown value is a 400 naming it).
- ``GET analytics/schools/<urn>/``: one school's figures with its live figures by year
  group, disadvantage and SEN provision; another group's school is a 404, like a URN that
  does not exist.

A school below level 1 has ``published_shared: false`` and null published fields; below
level 2, ``mis_shared: false`` and null live fields.
"""

from decimal import ROUND_HALF_UP

from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from institutions.models import Phase
from institutions.selectors import cluster_choices
from matmis.api import ErrorSerializer, SiteApiView
from matmis.exports import ExportApiView, export_response, export_schema
from matmis.site_access import SiteKind

from .export import RELEASE_COLUMNS, dashboard_table, release_table_file
from .forms import RELEASE_CHOICES, DashboardForm, ReleaseTableForm
from .published_import import INDICATOR_FOR_FIELD, Measure
from .selectors import (
    RELEASE_SPEC,
    RELEASE_SPECS,
    group_dashboard,
    release_sort_keys,
    release_table,
    school_breakdown,
)
from .views import SEE_ANALYTICS

ERRORS = {403: ErrorSerializer, 404: ErrorSerializer}


def _rate(**kwargs) -> serializers.DecimalField:
    """A rate to two places (the selectors give it unrounded)."""
    return serializers.DecimalField(
        max_digits=7,
        decimal_places=2,
        rounding=ROUND_HALF_UP,
        coerce_to_string=False,
        allow_null=True,
        **kwargs,
    )


class PublishedFiguresSerializer(serializers.Serializer):
    time_period = serializers.CharField(help_text="The DfE's academic year: 202425.")
    overall_absence_rate = _rate(help_text="Absent sessions per 100 possible.")
    persistent_absence_rate = _rate(help_text="Persistent absentees per 100 enrolments.")
    suspension_rate = _rate(help_text="Suspensions per 100 pupils.")


class LiveFiguresSerializer(serializers.Serializer):
    """Sums of roll-up cells, with the rates computed from them."""

    pupils_on_roll = serializers.IntegerField()
    pupils_with_sessions = serializers.IntegerField()
    possible_sessions = serializers.IntegerField()
    present_sessions = serializers.IntegerField()
    authorised_sessions = serializers.IntegerField()
    unauthorised_sessions = serializers.IntegerField()
    persistent_absentees = serializers.IntegerField()
    suspensions = serializers.IntegerField()
    permanent_exclusions = serializers.IntegerField()
    attendance_rate = _rate(help_text="Present sessions per 100 possible, this term.")
    overall_absence_rate = _rate(help_text="Absent sessions per 100 possible, this term.")
    persistent_absence_rate = _rate(
        help_text="Persistent absentees per 100 pupils with a possible session, this term."
    )
    suspension_rate = _rate(help_text="Suspensions this academic year per 100 pupils on roll.")


def _release_value(name: str, label: str, **kwargs) -> serializers.Field:
    """A release's figure: a count, or a rate or score to two places; null when the DfE
    published none (a marker) or when it is withheld (fewer than 3 pupils)."""
    if INDICATOR_FOR_FIELD[name].measure is Measure.COUNT:
        return serializers.IntegerField(allow_null=True, help_text=label, **kwargs)
    return _rate(help_text=label, **kwargs)


def _release_serializer(key: str, class_name: str) -> type[serializers.Serializer]:
    """The figures of one release (``analytics.selectors.ReleaseFigures``)."""
    spec = RELEASE_SPEC[key]
    fields = {
        "time_period": serializers.CharField(help_text="The DfE's academic year: 202425."),
        "withheld": serializers.SerializerMethodField(
            help_text="The figures withheld: they concern 1 or 2 pupils."
        ),
        **{
            column.field: _release_value(
                column.field, column.label, source=f"values.{column.field}"
            )
            for column in RELEASE_COLUMNS[key]
        },
        "get_withheld": lambda self, figures: [n for n in spec.fields if n in figures.withheld],
        "__doc__": f"{spec.title}: published by the DfE (level 1 and above).",
    }
    serializer = type(class_name, (serializers.Serializer,), fields)
    serializer.get_withheld = extend_schema_field(
        serializers.ListField(child=serializers.CharField())
    )(serializer.get_withheld)
    return serializer


CensusSerializer = _release_serializer("census", "CensusFiguresSerializer")
KeyStage2Serializer = _release_serializer("ks2", "KeyStage2FiguresSerializer")
KeyStage4Serializer = _release_serializer("ks4", "KeyStage4FiguresSerializer")
RELEASE_SERIALIZERS = {
    "census": CensusSerializer,
    "ks2": KeyStage2Serializer,
    "ks4": KeyStage4Serializer,
}


class AnalyticsSchoolSerializer(serializers.Serializer):
    """A school of the dashboard."""

    urn = serializers.CharField()
    name = serializers.CharField()
    phase = serializers.CharField()
    pupils = serializers.IntegerField(allow_null=True, help_text="From the register.")
    percentage_fsm = _rate(help_text="From the register.")
    level = serializers.IntegerField(help_text="The approved agreement's level; 0 for none.")
    published_shared = serializers.BooleanField(help_text="Level 1 or above.")
    mis_shared = serializers.BooleanField(help_text="Level 2 or above.")
    has_mis_data = serializers.BooleanField(
        help_text="Shared, and the school's live figures have been counted at least once."
    )
    published = PublishedFiguresSerializer(allow_null=True)
    census = CensusSerializer(allow_null=True)
    ks2 = KeyStage2Serializer(allow_null=True)
    ks4 = KeyStage4Serializer(allow_null=True)
    live = LiveFiguresSerializer(allow_null=True)
    refreshed_at = serializers.DateTimeField(allow_null=True)
    refreshed_for = serializers.DateField(
        allow_null=True, help_text="The day the live figures were counted up to."
    )


class TotalSerializer(serializers.Serializer):
    value = _rate()
    schools = serializers.IntegerField(help_text="How many schools the figure counts.")


class GroupTotalsSerializer(serializers.Serializer):
    """Sums of counts over the schools listed, never averages of their rates."""

    schools = serializers.IntegerField()
    pupils = serializers.IntegerField()
    pupils_schools = serializers.IntegerField()
    fsm = TotalSerializer()
    published_overall_absence = TotalSerializer()
    published_persistent_absence = TotalSerializer()
    published_suspensions = TotalSerializer()
    live = LiveFiguresSerializer(
        help_text="Over the schools sharing MIS data that have live figures."
    )
    live_schools = serializers.IntegerField()


class AnalyticsDashboardSerializer(serializers.Serializer):
    time_period = serializers.CharField(allow_null=True)
    time_period_label = serializers.CharField()
    refreshed_at = serializers.DateTimeField(
        allow_null=True, help_text="The oldest refresh among the schools' live figures."
    )
    refreshed_for = serializers.DateField(allow_null=True)
    not_shared = serializers.IntegerField(help_text="Schools listed below level 2.")
    without_mis_data = serializers.IntegerField()
    results = AnalyticsSchoolSerializer(many=True, source="rows")
    totals = GroupTotalsSerializer()
    national = PublishedFiguresSerializer(allow_null=True)


class BreakdownLineSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Year group number, “true”/“false”, or N/K/E.")
    label = serializers.CharField()
    figures = LiveFiguresSerializer(
        allow_null=True, help_text="Null when withheld: a group of fewer than 3 pupils."
    )
    withheld = serializers.BooleanField()
    withheld_because = serializers.CharField(allow_blank=True)


class BreakdownSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=["year_group", "disadvantaged", "sen_provision"])
    title = serializers.CharField()
    column = serializers.CharField()
    lines = BreakdownLineSerializer(many=True)


class AnalyticsSchoolDetailSerializer(serializers.Serializer):
    school = AnalyticsSchoolSerializer()
    time_period_label = serializers.CharField()
    national = PublishedFiguresSerializer(allow_null=True)
    breakdowns = BreakdownSerializer(
        many=True, help_text="Empty unless the school shares its MIS data."
    )


DASHBOARD_PARAMETERS = [
    OpenApiParameter("cluster", int, many=True, explode=True, description="Cluster ids."),
    OpenApiParameter("phase", str, many=True, enum=Phase.values, explode=True),
    OpenApiParameter("mine", bool, description="Only the schools you are associated with."),
]


def _dashboard_or_400(request):
    """The dashboard the query string asks for; a value it does not know is a 400."""
    group = request.site
    form = DashboardForm(request.query_params, clusters=cluster_choices(group=group))
    if not form.is_valid():
        raise exceptions.ValidationError(
            {name: list(messages) for name, messages in form.errors.items()}
        )
    return group_dashboard(group=group, filters=form.filters(), viewer=request.user)


class AnalyticsSchoolListView(SiteApiView):
    """The group's schools with their figures: the data of the Analytics page."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": SEE_ANALYTICS}

    @extend_schema(
        operation_id="analytics_schools_list",
        parameters=DASHBOARD_PARAMETERS,
        responses={200: AnalyticsDashboardSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def get(self, request):
        return Response(AnalyticsDashboardSerializer(_dashboard_or_400(request)).data)


class AnalyticsExportView(ExportApiView):
    """The schools of ``analytics_schools_list`` (same filters) with the group's totals and
    England, as a CSV or XLSX file: the Analytics page's export, gated the same way."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": SEE_ANALYTICS}

    @export_schema(operation_id="analytics_schools_export", parameters=DASHBOARD_PARAMETERS)
    def get(self, request):
        table = dashboard_table(_dashboard_or_400(request))
        return export_response(table, site=request.site, export_format=self.export_format)


class AnalyticsSchoolDetailView(SiteApiView):
    """One of the group's schools with its live figures broken down."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": SEE_ANALYTICS}

    @extend_schema(
        operation_id="analytics_schools_retrieve",
        responses={200: AnalyticsSchoolDetailSerializer, **ERRORS},
    )
    def get(self, request, urn: str):
        breakdown = school_breakdown(group=request.site, urn=urn)
        return Response(AnalyticsSchoolDetailSerializer(breakdown).data)


# --- Census and performance (level 1) ----------------------------------------------------


class GroupReleaseSerializer(serializers.Serializer):
    value = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        rounding=ROUND_HALF_UP,
        coerce_to_string=False,
        allow_null=True,
        help_text="A sum of counts, or a rate or score over the group's pupils.",
    )
    schools = serializers.IntegerField(help_text="How many schools the figure counts.")


class ReleaseSchoolSerializer(serializers.Serializer):
    urn = serializers.CharField()
    name = serializers.CharField()
    phase = serializers.CharField()
    level = serializers.IntegerField(help_text="The approved agreement's level: 1 or more.")
    figures = serializers.SerializerMethodField(
        help_text="The release's figures (the ``census``, ``ks2`` or ``ks4`` object of "
        "analytics_schools_list)."
    )

    @extend_schema_field(
        PolymorphicProxySerializer(
            component_name="ReleaseFigures",
            serializers=[CensusSerializer, KeyStage2Serializer, KeyStage4Serializer],
            resource_type_field_name=None,
        )
    )
    def get_figures(self, row) -> dict:
        key = self.context["release"]
        return RELEASE_SERIALIZERS[key](getattr(row, key)).data


class ReleaseTableSerializer(serializers.Serializer):
    release = serializers.ChoiceField(choices=RELEASE_CHOICES, source="spec.key")
    title = serializers.CharField(source="spec.title")
    source = serializers.SerializerMethodField()
    time_period = serializers.CharField(allow_null=True)
    time_period_label = serializers.CharField()
    sort = serializers.CharField()
    not_shared = serializers.IntegerField(help_text="Schools below level 1: not listed.")
    without_figures = serializers.IntegerField(
        help_text="Schools shared at level 1 or above with none of these figures."
    )
    results = ReleaseSchoolSerializer(many=True, source="rows")
    totals = serializers.DictField(child=GroupReleaseSerializer(), help_text="Per figure.")
    national = serializers.SerializerMethodField()

    def get_source(self, table) -> str:
        return "Published by the DfE (Explore Education Statistics)"

    @extend_schema_field(
        {
            "oneOf": [
                {"$ref": "#/components/schemas/CensusFigures"},
                {"$ref": "#/components/schemas/KeyStage2Figures"},
                {"$ref": "#/components/schemas/KeyStage4Figures"},
            ],
            "nullable": True,
            "description": "England's figures of the release, null when not imported.",
        }
    )
    def get_national(self, table) -> dict | None:
        if table.national is None:
            return None
        return RELEASE_SERIALIZERS[table.spec.key](table.national).data


RELEASE_PARAMETERS = [
    *DASHBOARD_PARAMETERS,
    OpenApiParameter(
        "release",
        str,
        enum=[key for key, _ in RELEASE_CHOICES],
        description="census (the default): the school census with SEN; ks2; ks4.",
    ),
    OpenApiParameter(
        "sort",
        str,
        description="A figure of the release, or name; a leading - sorts descending "
        "(schools without the figure come last either way).",
    ),
]


def _release_table_or_400(request):
    group = request.site
    form = ReleaseTableForm(
        request.query_params,
        clusters=cluster_choices(group=group),
        sort_keys={spec.key: release_sort_keys(spec) for spec in RELEASE_SPECS},
    )
    if not form.is_valid():
        raise exceptions.ValidationError(
            {name: list(messages) for name, messages in form.errors.items()}
        )
    return release_table(
        group=group,
        spec=RELEASE_SPEC[form.chosen_release()],
        filters=form.filters(),
        viewer=request.user,
        sort=form.chosen_sort(),
    )


class AnalyticsPublishedView(SiteApiView):
    """The census, key stage 2 or key stage 4 figures the DfE publishes, across the
    group's schools shared at level 1 and above: the data of Analytics, Census and
    performance."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": SEE_ANALYTICS}

    @extend_schema(
        operation_id="analytics_published_list",
        parameters=RELEASE_PARAMETERS,
        responses={200: ReleaseTableSerializer, 400: ErrorSerializer, **ERRORS},
    )
    def get(self, request):
        table = _release_table_or_400(request)
        return Response(ReleaseTableSerializer(table, context={"release": table.spec.key}).data)


class AnalyticsPublishedExportView(ExportApiView):
    """``analytics_published_list`` as a CSV or XLSX file, as the page exports it."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": SEE_ANALYTICS}

    @export_schema(operation_id="analytics_published_export", parameters=RELEASE_PARAMETERS)
    def get(self, request):
        table = release_table_file(_release_table_or_400(request))
        return export_response(table, site=request.site, export_format=self.export_format)
