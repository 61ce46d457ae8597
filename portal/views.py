"""Pages that compose several apps: each site's home, Browse Institutions (the register
with each school's data sharing status) and the institution page (register facts, sharing
status, figures as the agreement allows, and the Log in to MIS button).

Each app below answers its own part through its selectors or access module; these views
only put the parts on one page.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.generic import TemplateView

from accounts.permissions import ANALYTICS, ATTENDANCE, STUDENTS, Access, request_has_permission
from accounts.two_factor.selectors import session_is_verified
from analytics.selectors import national_figures, national_releases, school_figures
from hop.selectors import hop_place
from institutions.browsing import browse_query, facet_groups, sortable_columns
from institutions.forms import BrowseForm
from institutions.selectors import (
    SchoolFilters,
    cluster_choices,
    current_groups,
    group_school_browse,
    group_school_for_urn,
    group_school_list,
    group_school_type_names,
    site_directory,
    site_directory_counts,
)
from institutions.views import PAGE_SIZE, GroupPageView
from matmis.exports import ExportPage, export_links, export_response
from matmis.listing import list_page, page_param, pagination, query_string, wants_fragment
from matmis.site_access import ANY_SITE
from matmis.views import SitePageView
from mis.selectors import attendance_day
from sharing.models import RequestStatus
from sharing.school.selectors import school_agreement_list, school_request_list
from sharing.selectors import (
    NO_SHARING,
    agreement_tab_counts,
    sharing_status,
    sharing_status_for_schools,
)

from .demo import demo_sites
from .exports import browse_table
from .forms import SITE_KIND_PLURALS, SiteDirectoryForm


@dataclass(frozen=True)
class Stat:
    label: str
    value: int | str
    url: str | None = None


class HomeView(SitePageView, TemplateView):
    site_kind = ANY_SITE
    method_permissions = {"GET": None}
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        site = self.request.site
        if site.is_group:
            context.update(self._group_summary(site, self.request))
        else:
            context.update(self._school_summary(site, self.request))
        return context

    @staticmethod
    def _group_summary(group, request) -> dict:
        counts = agreement_tab_counts(group=group)
        agreements = reverse("sharing:agreements")
        return {
            "stats": [
                Stat("Schools", counts.total, reverse("institutions:browse")),
                Stat("No agreement", counts.none, f"{agreements}?tab=none"),
                Stat("Requests pending", counts.pending, f"{agreements}?tab=pending"),
                Stat("Agreements approved", counts.approved, f"{agreements}?tab=approved"),
            ],
            "not_shared": counts.not_shared,
            "shortcuts": [
                Stat("Send data sharing requests", "", f"{agreements}?tab=none"),
                *(
                    [Stat("Analytics", "", reverse("analytics:dashboard"))]
                    if request_has_permission(request, ANALYTICS, Access.VIEW)
                    else []
                ),
                Stat("Log in to MIS", "", reverse("hop:choose")),
                Stat("Clusters", "", reverse("institutions:clusters")),
                Stat("Staff", "", reverse("staff:list")),
            ],
        }

    @staticmethod
    def _school_summary(school, request) -> dict:
        """The day's attendance figures and the pupil pages' shortcuts only for those whose
        roles open those pages (Attendance, Students at View)."""
        sharing = reverse("school_sharing:index")
        pending = school_request_list(school=school).filter(status=RequestStatus.PENDING).count()
        see_attendance = request_has_permission(request, ATTENDANCE, Access.VIEW)
        see_students = request_has_permission(request, STUDENTS, Access.VIEW)
        attendance = reverse("mis:attendance")
        figures = []
        if see_attendance:
            today = attendance_day(site=school, day=timezone.localdate())
            figures = [
                Stat(
                    "Pupils on roll",
                    today.on_roll,
                    reverse("mis:students") if see_students else None,
                ),
                Stat("Present this morning", today.am.present, attendance),
                Stat(
                    "Absent this morning",
                    today.am.authorised + today.am.unauthorised,
                    attendance,
                ),
                Stat("Not yet marked this morning", today.am.not_marked, attendance),
            ]
        shortcuts = [
            *([Stat("Today's attendance", "", attendance)] if see_attendance else []),
            *([Stat("Students", "", reverse("mis:students"))] if see_students else []),
        ]
        return {
            "stats": [
                *figures,
                Stat("Groups", current_groups(school=school).count()),
                Stat("Data sharing requests waiting", pending, sharing),
                Stat(
                    "Data sharing agreements",
                    school_agreement_list(school=school).in_force().count(),
                    sharing,
                ),
            ],
            "shortcuts": [
                *shortcuts,
                Stat("Data sharing", "", sharing),
                Stat("Staff", "", reverse("staff:list")),
            ],
        }


@dataclass(frozen=True)
class SiteKindLink:
    """One kind of site in the site list's choice of kinds: its count for the search."""

    label: str
    count: int
    url: str
    current: bool


SITE_LIST_PAGE_SIZE = 60


def platform_home(request: HttpRequest) -> HttpResponse:
    """The bare base domain: in development, the list of sites to choose from, a page at a
    time: the demo's own sites first (once it is loaded), then trusts, local authorities
    and schools by name, searchable by name or address (four queries, however many sites)."""
    if not settings.LIST_SITES_ON_BASE_DOMAIN:
        return render(request, "tenancy/site_index.html", {"listing_enabled": False})
    form = SiteDirectoryForm(request.GET)
    search, kind = form.search(), form.kind_filter()
    page = list_page(
        request, site_directory(search=search, kind=kind), per_page=SITE_LIST_PAGE_SIZE
    )
    counts = site_directory_counts(search=search)
    query = request.GET.copy()
    query.pop("page", None)
    kinds = [
        SiteKindLink("All", sum(counts.values()), query_string(query, kind=None), not kind),
        *(
            SiteKindLink(label, counts[value], query_string(query, kind=value), kind == value)
            for value, label in SITE_KIND_PLURALS.items()
        ),
    ]
    unfiltered_first_page = not search and not kind and page.number == 1
    return render(
        request,
        "tenancy/site_index.html",
        {
            "listing_enabled": True,
            "form": form,
            "search": search,
            "kinds": kinds,
            "demo_sites": demo_sites() if unfiltered_first_page else [],
            "page": page,
            "kind_plurals": {kind.value: label for kind, label in SITE_KIND_PLURALS.items()},
            **pagination(query, page),
        },
    )


# --- Browse Institutions and the institution page -------------------------------------------


def _browse_form(request: HttpRequest) -> tuple[BrowseForm, list]:
    """Browse's form read from the query string, and the group's clusters (two queries).
    Unknown values are reported by the form and left out; the rest still apply."""
    group = request.site
    clusters = list(cluster_choices(group=group))
    form = BrowseForm(
        request.GET, type_names=group_school_type_names(group=group), clusters=clusters
    )
    form.is_valid()
    return form, clusters


class BrowseView(GroupPageView):
    """Search, filter and sort the group's schools. The whole view lives in the query
    string, so it can be bookmarked and shared; with htmx only the results are swapped."""

    def get(self, request: HttpRequest) -> HttpResponse:
        group = request.site
        # One pass over the group's schools (two queries) gives the form its choices and
        # the page its total, facets and order; then the page's rows and their sharing.
        search, sort = BrowseForm.search_and_sort(request.GET)
        browse = group_school_browse(group=group, search=search, sort=sort)
        form = BrowseForm(request.GET, type_names=browse.type_names, clusters=browse.clusters)
        form.is_valid()
        filters = SchoolFilters(**form.filters())
        page = list_page(request, browse.matching(filters), per_page=PAGE_SIZE)
        page.object_list = browse.page_schools(page.object_list)
        # The data sharing column: one query for the page (sharing answers it).
        statuses = sharing_status_for_schools(
            group=group, school_ids=[school.pk for school in page.object_list]
        )
        for school in page.object_list:
            school.sharing = statuses.get(school.pk, NO_SHARING)
        query = browse_query(form)
        context = {
            "form": form,
            "facet_groups": facet_groups(form, browse.facets(filters)),
            "page": page,
            **pagination(query, page),
            "columns": sortable_columns(query, sort),
            "sort": form.cleaned_data.get("sort", ""),  # as asked for, kept by the form
            "search": filters.search,
            "is_filtered": form.is_filtered(),
            "has_clusters": bool(browse.clusters),
            "exports": export_links("institutions:browse-export", query),
        }
        template = (
            "institutions/_browse_fragment.html"
            if wants_fragment(request)
            else "institutions/browse.html"
        )
        response = render(request, template, context)
        patch_vary_headers(response, ["HX-Request"])
        if wants_fragment(request):
            # The address bar shows the view as understood: no empty or unknown values.
            address = query_string(query, page=page_param(page.number))
            response["HX-Push-Url"] = request.path + (address if address != "?" else "")
        return response


class BrowseExportView(ExportPage, GroupPageView):
    """/institutions/export.csv and .xlsx: every school Browse lists for the same query
    string (all its pages), with its data sharing status."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form, _clusters = _browse_form(request)
        schools = group_school_list(group=request.site, sort=form.sort_key(), **form.filters())
        table = browse_table(group=request.site, schools=schools)
        return export_response(table, site=request.site, export_format=self.export_format)


# --- The institution page -------------------------------------------------------------------

_HTTP_URL = re.compile(r"^https?://[^\s/$.?#]\S*$", re.IGNORECASE)
_BARE_DOMAIN = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?:/\S*)?$", re.IGNORECASE
)


def website_href(website: str) -> str | None:
    """A safe link for the register's website field: http(s) addresses as they are, a bare
    domain ("www.school.org.uk") over https; anything else is shown as text only."""
    value = website.strip()
    if _HTTP_URL.match(value):
        return value
    if _BARE_DOMAIN.match(value):
        return f"https://{value}"
    return None


def _label(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _grade_text(value) -> str:
    if value is True:
        return "Met"
    if value is False:
        return "Not met"
    return _label(value) if isinstance(value, str) else str(value)


def report_card_rows(report_card) -> list[tuple[str, str]]:
    """Area grades of a report-card inspection as (area, grade), safeguarding last. The
    register's shape is kept loose: ``{"area": "grade", ..., "safeguarding": "met"}``,
    optionally with the areas under ``"areas"``."""
    if not isinstance(report_card, dict):
        return []
    areas = report_card.get("areas") if isinstance(report_card.get("areas"), dict) else {}
    rows = [(_label(k), _grade_text(v)) for k, v in areas.items()]
    safeguarding = []
    for key, value in report_card.items():
        if key == "areas" or isinstance(value, dict | list):
            continue
        row = (_label(key), _grade_text(value))
        (safeguarding if "safeguarding" in str(key).lower() else rows).append(row)
    return rows + safeguarding


class InstitutionDetailView(GroupPageView):
    def get(self, request: HttpRequest, urn: str) -> HttpResponse:
        school = group_school_for_urn(group=request.site, urn=urn)
        return render(
            request,
            "institutions/detail.html",
            {
                "school": school,
                # Published and live figures as the level allows (two queries).
                "figures": school_figures(group=request.site, school=school),
                "national": national_figures(group=request.site),
                # England's census and performance figures beside the school's (one query).
                "national_releases": national_releases(group=request.site),
                "sharing": sharing_status(group=request.site, school=school),
                "website_href": website_href(school.website),
                "report_card": report_card_rows(school.ofsted_report_card),
                # The Log in to MIS button, or why not and what to do (one or two queries).
                "hop_place": hop_place(
                    user=request.user,
                    group=request.site,
                    school=school,
                    two_factor_passed=session_is_verified(request),
                ),
                "address_lines": [
                    line
                    for line in (
                        school.street,
                        school.locality,
                        school.address3,
                        school.town,
                        school.county,
                        school.postcode,
                    )
                    if line
                ],
            },
        )
