"""Group site: Analytics. The group's schools with their published and live figures, the
group's totals beside England's, one school's live figures broken down, and the CSV export.
They need the permission Analytics at View; a school site has none of these pages (404).

What a school's figures show is decided in ``analytics.selectors`` (through
``sharing.access``): these views only parse the query string and render.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from accounts.permissions import ANALYTICS, Access
from institutions.selectors import cluster_choices
from matmis.exports import ExportPage, export_links, export_response
from matmis.listing import FacetGroup, query_string, wants_fragment
from matmis.replica import group_reads
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from .charts import published_years_chart, weekly_chart
from .export import (
    NO_MIS_DATA,
    NOT_SHARED,
    RELEASE_COLUMNS,
    WITHHELD,
    dashboard_table,
    format_release_value,
    one_place,
    release_table_file,
)
from .forms import RELEASE_CHOICES, DashboardForm, ReleaseTableForm
from .selectors import (
    RELEASE_SPEC,
    RELEASE_SPECS,
    Dashboard,
    ReleaseTable,
    SchoolFigures,
    dashboard_facets,
    group_dashboard,
    group_weeks,
    published_years,
    release_sort_keys,
    release_table,
    school_breakdown,
    school_weeks,
)

# --- The table, ready to print ---------------------------------------------------------------
# A group of 600 schools makes a table of several thousand cells: each is formatted here
# once, so that the template only prints text (template filters and ``{% url %}`` per cell
# cost more than the query that fetched the figures).

NO_PUBLISHED = "No published figures"
DASH = "—"
URN_PLACEHOLDER = "000000"


def _percent(value: Decimal | None) -> str:
    return f"{one_place(value)}%" if value is not None else DASH


def _per_100(value: Decimal | None) -> str:
    return one_place(value) if value is not None else DASH


@dataclass(frozen=True)
class TableRow:
    name: str
    detail_url: str
    phase: str
    pupils: str
    fsm: str
    published_note: str  # "Not shared" or "No published figures" in place of the figures
    published_absence: str = ""
    published_persistent: str = ""
    published_suspensions: str = ""
    live_note: str = ""  # "Not shared" or "No MIS data yet" in place of the figures
    breakdown_url: str = ""
    attendance: str = ""
    absence: str = ""
    persistent: str = ""
    persistent_rate: str = ""
    suspensions: str = ""


def _table_row(row: SchoolFigures, *, detail_prefix: str, breakdown_prefix: str) -> TableRow:
    published = {}
    if not row.published_shared:
        published_note = NOT_SHARED
    elif row.published is None:
        published_note = NO_PUBLISHED
    else:
        published_note = ""
        published = {
            "published_absence": _percent(row.published.overall_absence_rate),
            "published_persistent": _percent(row.published.persistent_absence_rate),
            "published_suspensions": _per_100(row.published.suspension_rate),
        }
    live = {}
    if not row.mis_shared:
        live_note = NOT_SHARED
    elif row.live is None:
        live_note = NO_MIS_DATA
    else:
        live_note = ""
        live = {
            "breakdown_url": f"{breakdown_prefix}{row.urn}/",
            "attendance": _percent(row.live.attendance_rate),
            "absence": _percent(row.live.overall_absence_rate),
            "persistent": intcomma(row.live.persistent_absentees),
            "persistent_rate": _percent(row.live.persistent_absence_rate),
            "suspensions": _per_100(row.live.suspension_rate),
        }
    return TableRow(
        name=row.name,
        detail_url=f"{detail_prefix}{row.urn}/",
        phase=row.phase or DASH,
        pupils=intcomma(row.pupils) if row.pupils is not None else DASH,
        fsm=_percent(row.percentage_fsm),
        published_note=published_note,
        live_note=live_note,
        **published,
        **live,
    )


def _url_prefix(name: str) -> str:
    """The address of ``name`` for a URN, without the URN: reversed once, not per row."""
    return reverse(name, args=[URN_PLACEHOLDER]).removesuffix(f"{URN_PLACEHOLDER}/")


def table_rows(dashboard: Dashboard) -> list[TableRow]:
    detail_prefix = _url_prefix("institutions:detail")
    breakdown_prefix = _url_prefix("analytics:school")
    return [
        _table_row(row, detail_prefix=detail_prefix, breakdown_prefix=breakdown_prefix)
        for row in dashboard.rows
    ]


# --- Views ----------------------------------------------------------------------------------


SEE_ANALYTICS = (ANALYTICS, Access.VIEW)


class AnalyticsPageView(SitePageView):
    """A page of Analytics: a group site's, for its staff with Analytics at View."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": SEE_ANALYTICS}


def _dashboard(request: HttpRequest):
    """The form as understood and the dashboard it asks for."""
    form = DashboardForm(request.GET, clusters=list(cluster_choices(group=request.site)))
    form.is_valid()  # unknown values are reported and left out; the rest still apply
    dashboard = group_dashboard(group=request.site, filters=form.filters(), viewer=request.user)
    return form, dashboard


FACET_LEGENDS = (("cluster", "Cluster"), ("phase", "Phase"))


def _facet_groups(request: HttpRequest, form: DashboardForm, dashboard: Dashboard):
    """The cluster and phase filters with their counts (an option that would show no
    school is left out unless ticked, as in Browse)."""
    facets = dashboard_facets(group=request.site, filters=dashboard.filters, viewer=request.user)
    return [
        FacetGroup(name, legend, facets[name], list(form.errors.get(name, [])))
        for name, legend in FACET_LEGENDS
    ]


def _with_query(url: str, query) -> str:
    encoded = query.urlencode()
    return f"{url}?{encoded}" if encoded else url


def _trends(request: HttpRequest, dashboard: Dashboard) -> dict:
    """The charts above the table, of the same schools: two queries."""
    weeks = group_weeks(dashboard=dashboard, day=timezone.localdate())
    shown = "the schools shown" if dashboard.filters.is_filtered else request.site.name
    return {
        "weeks": weeks,
        "weekly_chart": weekly_chart(
            weeks, national=dashboard.national, chart_id="group-weekly-attendance", whose=shown
        ),
        "published_chart": published_years_chart(
            published_years(dashboard=dashboard), group_name=request.site.name
        ),
    }


class DashboardView(AnalyticsPageView):
    """The school table with totals, filters, refresh time and CSV export, and the trends
    above it (attendance by week, published absence by year). The view lives
    in the query string; with htmx only the results are swapped."""

    def get(self, request: HttpRequest) -> HttpResponse:
        # Figures across the group's schools: the read replica may serve them, when set.
        with group_reads():
            return self._dashboard_page(request)

    def _dashboard_page(self, request: HttpRequest) -> HttpResponse:
        form, dashboard = _dashboard(request)
        query = form.query()
        fragment = wants_fragment(request)
        context = {
            "form": form,
            "dashboard": dashboard,
            "rows": table_rows(dashboard),
            "totals": dashboard.totals,
            "published_totals": [
                dashboard.totals.published_overall_absence,
                dashboard.totals.published_persistent_absence,
                dashboard.totals.published_suspensions,
            ],
            "facet_groups": _facet_groups(request, form, dashboard),
            "exports": export_links("analytics:dashboard-export", query),
            **_trends(request, dashboard),
            "clear_url": reverse("analytics:dashboard"),
        }
        template = "analytics/_fragment.html" if fragment else "analytics/dashboard.html"
        response = render(request, template, context)
        patch_vary_headers(response, ["HX-Request"])
        if fragment:
            response["HX-Push-Url"] = _with_query(request.path, query)
        return response


class ExportView(ExportPage, AnalyticsPageView):
    """/analytics/export.csv and .xlsx: the dashboard's table with the same filters and
    gating, then the totals and England."""

    def get(self, request: HttpRequest) -> HttpResponse:
        _form, dashboard = _dashboard(request)
        table = dashboard_table(dashboard)
        return export_response(table, site=request.site, export_format=self.export_format)


class SchoolView(AnalyticsPageView):
    """One school's figures: live by year group, disadvantage and SEN provision when it
    shares its MIS data, with its attendance by week; otherwise a page saying so, with its
    published figures if shared."""

    def get(self, request: HttpRequest, urn: str) -> HttpResponse:
        breakdown = school_breakdown(group=request.site, urn=urn)
        school = breakdown.school
        weeks = school_weeks(school=school, day=timezone.localdate())
        return render(
            request,
            "analytics/school.html",
            {
                "breakdown": breakdown,
                "school": school,
                "national": breakdown.national,
                "weeks": weeks,
                "weekly_chart": weekly_chart(
                    weeks,
                    national=breakdown.national,
                    chart_id="school-weekly-attendance",
                    whose=school.name,
                )
                if weeks is not None
                else None,
            },
        )


# --- Census and performance (level 1) ------------------------------------------------------


@dataclass(frozen=True)
class ReleaseHeader:
    label: str
    url: str
    aria_sort: str | None
    next_direction: str
    numeric: bool


@dataclass(frozen=True)
class ReleaseRow:
    name: str
    detail_url: str
    phase: str
    cells: list[str]


def _release_context(request: HttpRequest, form: ReleaseTableForm, table: ReleaseTable) -> dict:
    columns = RELEASE_COLUMNS[table.spec.key]
    query = form.query()
    headers = []
    for key, label, numeric in [
        ("name", "School", False),
        *((c.field, c.label, True) for c in columns),
    ]:
        if table.sort == key:
            aria, following, direction = "ascending", f"-{key}", "descending"
        elif table.sort == f"-{key}":
            aria, following, direction = "descending", key, "ascending"
        else:
            aria, following, direction = None, key, "ascending"
        headers.append(
            ReleaseHeader(label, query_string(query, sort=following), aria, direction, numeric)
        )
    detail_prefix = _url_prefix("institutions:detail")
    rows = []
    for row in table.rows:
        figures = getattr(row, table.spec.key)
        rows.append(
            ReleaseRow(
                name=row.name,
                detail_url=f"{detail_prefix}{row.urn}/",
                phase=row.phase or DASH,
                cells=[
                    WITHHELD
                    if c.field in figures.withheld
                    else format_release_value(c, figures.values[c.field])
                    for c in columns
                ],
            )
        )
    national = table.national
    facets = dashboard_facets(group=request.site, filters=table.filters, viewer=request.user)
    return {
        "form": form,
        "table": table,
        "dashboard": table,  # the filters' template reads dashboard.filters
        "headers": headers,
        "rows": rows,
        "group_cells": [format_release_value(c, table.totals[c.field].value) for c in columns],
        "group_counts": [table.totals[c.field].schools for c in columns],
        "national_cells": [format_release_value(c, national.values[c.field]) for c in columns]
        if national
        else [],
        "tabs": [
            (key, label, query_string(query, release=key, sort=None), key == table.spec.key)
            for key, label in RELEASE_CHOICES
        ],
        "facet_groups": [
            FacetGroup(name, legend, facets[name], list(form.errors.get(name, [])))
            for name, legend in FACET_LEGENDS
        ],
        "exports": export_links("analytics:published-export", query),
        "clear_url": f"{reverse('analytics:published')}?release={table.spec.key}",
    }


def release_table_for(request: HttpRequest, form: ReleaseTableForm) -> ReleaseTable:
    return release_table(
        group=request.site,
        spec=RELEASE_SPEC[form.chosen_release()],
        filters=form.filters(),
        viewer=request.user,
        sort=form.chosen_sort(),
    )


def release_form(request: HttpRequest, data) -> ReleaseTableForm:
    return ReleaseTableForm(
        data,
        clusters=list(cluster_choices(group=request.site)),
        sort_keys={spec.key: release_sort_keys(spec) for spec in RELEASE_SPECS},
    )


class PublishedView(AnalyticsPageView):
    """The census and performance figures the DfE publishes, across the group's schools
    shared at level 1 and above: one release at a time, sortable by any column, with the
    group's figures and England's, and the export."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = release_form(request, request.GET)
        form.is_valid()  # unknown values are reported and left out; the rest still apply
        table = release_table_for(request, form)
        return render(request, "analytics/published.html", _release_context(request, form, table))


class PublishedExportView(ExportPage, AnalyticsPageView):
    """/analytics/published/export.csv and .xlsx: the release's table as on the page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form = release_form(request, request.GET)
        form.is_valid()
        table = release_table_file(release_table_for(request, form))
        return export_response(table, site=request.site, export_format=self.export_format)
