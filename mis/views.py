"""School site: Students (the pupil list and a pupil's page) and Attendance (the day's
registers and the term to date).

Only a school's site has these pages (a group site answers 404); any staff member of the
school may use them, including group staff who logged in to the school's MIS (the hop).
Every read goes through ``mis.selectors`` with the request's site.
"""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone

from matmis.exports import ExportPage, export_links, export_response
from matmis.listing import list_page
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from .calendar import academic_year_label
from .charts import weekly_attendance_chart, year_group_attendance_chart
from .codes import year_group_label
from .exports import attendance_table, students_table
from .forms import AttendanceDateForm, PupilSearchForm
from .models import Pupil
from .selectors import (
    RECENT_MARK_DAYS,
    Attendance,
    attendance_day,
    attendance_term,
    attendance_weeks,
    pupil_exclusions,
    pupil_for_id,
    pupil_list,
    pupil_recent_marks,
    pupil_year_groups,
    term_attendance,
    term_bounds,
)

PAGE_SIZE = 50


class SchoolMisPageView(SitePageView):
    """A page of the school's own records: any staff member of the school may look."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": None}


@dataclass(frozen=True)
class PupilRow:
    pupil: Pupil
    attendance: Attendance


@dataclass(frozen=True)
class YearOption:
    value: int
    label: str
    selected: bool


class StudentListView(SchoolMisPageView):
    """/students/: the pupils on roll today by surname (leavers on request), searched by
    name or UPN and filtered by year group, 50 a page, with this term's attendance."""

    def get(self, request: HttpRequest) -> HttpResponse:
        site, today = request.site, timezone.localdate()
        form = PupilSearchForm(request.GET)
        filters = form.filters()
        pupils = pupil_list(
            site=site,
            today=today,
            search=filters.search,
            year_group=filters.year_group,
            include_leavers=filters.include_leavers,
        )
        page = list_page(request, pupils, per_page=PAGE_SIZE)
        paginator = page.paginator
        query = request.GET.copy()
        query.pop("page", None)
        term, start, end = term_bounds(today)
        year_groups = pupil_year_groups(site=site)
        if filters.year_group is not None and filters.year_group not in year_groups:
            year_groups.append(filters.year_group)
        return render(
            request,
            "mis/students.html",
            {
                "form": form,
                "filters": filters,
                "page": page,
                "rows": [PupilRow(pupil, term_attendance(pupil)) for pupil in page.object_list],
                "page_range": paginator.get_elided_page_range(
                    page.number, on_each_side=1, on_ends=1
                ),
                "query": query.urlencode(),
                "year_options": [
                    YearOption(year, year_group_label(year), year == filters.year_group)
                    for year in sorted(year_groups)
                ],
                "today": today,
                "term": term,
                "term_start": start,
                "term_end": end,
                "exports": export_links("mis:students-export", query),
            },
        )


class StudentExportView(ExportPage, SchoolMisPageView):
    """/students/export.csv and .xlsx: every pupil the Students page lists for the same
    query string (all its pages)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        filters = PupilSearchForm(request.GET).filters()
        table = students_table(site=request.site, today=timezone.localdate(), filters=filters)
        return export_response(table, site=request.site, export_format=self.export_format)


class PupilDetailView(SchoolMisPageView):
    """/students/<id>/: one of the school's pupils: details, this term's attendance, the
    last four weeks of marks, and suspensions and exclusions this academic year."""

    def get(self, request: HttpRequest, pupil_id: int) -> HttpResponse:
        site, today = request.site, timezone.localdate()
        pupil = pupil_for_id(site=site, pupil_id=pupil_id, today=today)
        term, start, end = term_bounds(today)
        return render(
            request,
            "mis/pupil.html",
            {
                "pupil": pupil,
                "attendance": term_attendance(pupil),
                "on_roll": pupil.on_roll(today),
                "recent_marks": pupil_recent_marks(site=site, pupil=pupil, today=today),
                "recent_days": RECENT_MARK_DAYS,
                "exclusions": list(pupil_exclusions(site=site, pupil=pupil, today=today)),
                "academic_year": academic_year_label(today),
                "today": today,
                "term": term,
                "term_start": start,
                "term_end": end,
            },
        )


class AttendanceView(SchoolMisPageView):
    """/attendance/: the registers of a day (today unless ``?date=YYYY-MM-DD``) for the
    pupils on roll, AM and PM, in total and by year group; the term to that day; and the
    academic year to that day's week, by week and by year group (the weekly snapshots)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        site, today = request.site, timezone.localdate()
        form = AttendanceDateForm(request.GET, today=today)
        day = form.day()
        weeks = attendance_weeks(site=site, day=day)
        return render(
            request,
            "mis/attendance.html",
            {
                "form": form,
                "day": day,
                "is_today": day == today,
                "today": today,
                "summary": attendance_day(site=site, day=day),
                "term_summary": attendance_term(site=site, day=day),
                "weeks": weeks,
                "weekly_chart": weekly_attendance_chart(
                    weeks, chart_id="weekly-attendance", whose=site.name
                ),
                "year_group_chart": year_group_attendance_chart(
                    weeks, chart_id="year-group-attendance", whose=site.name
                ),
                "exports": export_links("mis:attendance-export", _day_query(day, today)),
            },
        )


def _day_query(day, today) -> QueryDict:
    """The day shown, as the query string (none for today)."""
    query = QueryDict(mutable=True)
    if day != today:
        query["date"] = day.isoformat()
    return query


class AttendanceExportView(ExportPage, SchoolMisPageView):
    """/attendance/export.csv and .xlsx: the Attendance page of the same day by year group,
    with the term to that day."""

    def get(self, request: HttpRequest) -> HttpResponse:
        day = AttendanceDateForm(request.GET, today=timezone.localdate()).day()
        table = attendance_table(site=request.site, day=day)
        return export_response(table, site=request.site, export_format=self.export_format)
