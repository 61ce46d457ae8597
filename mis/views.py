"""School site: Students (the pupil list and a pupil's page) and Attendance (the day's
registers and the term to date).

Only a school's site has these pages (a group site answers 404). Students needs the
permission Students at View, Attendance needs Attendance at View; on a pupil's page, their
marks need Attendance and their suspensions and exclusions Behaviour, at View. Group staff
who logged in to the school's MIS (the hop) have their role's in-school set, and their
reads of pupil-level pages are recorded for the school (``mis.outside_reads``).
Every read goes through ``mis.selectors`` with the request's site.
"""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone

from accounts.audit.views import SEE_OUTSIDE_READS
from accounts.permissions import (
    ATTENDANCE,
    BEHAVIOUR,
    STUDENTS,
    Access,
    request_has_permission,
)
from matmis.exports import ExportPage, export_links, export_response
from matmis.listing import list_page
from matmis.site_access import SiteKind
from matmis.views import SitePageView

from .calendar import academic_year_label
from .charts import weekly_attendance_chart, year_group_attendance_chart
from .codes import year_group_label
from .exports import attendance_table, outside_read_description, outside_reads_table, students_table
from .forms import AttendanceDateForm, PupilSearchForm
from .models import OutsideRead, OutsideReadKind, Pupil
from .outside_reads import RecordsOutsideReads
from .selectors import (
    RECENT_MARK_DAYS,
    Attendance,
    attendance_day,
    attendance_term,
    attendance_weeks,
    outside_read_list,
    pupil_exclusions,
    pupil_for_id,
    pupil_list,
    pupil_recent_marks,
    pupil_year_groups,
    term_attendance,
    term_bounds,
)

PAGE_SIZE = 50


SEE_STUDENTS = (STUDENTS, Access.VIEW)
MANAGE_PUPILS = (STUDENTS, Access.ADMINISTER)
SEE_ATTENDANCE = (ATTENDANCE, Access.VIEW)
SEE_BEHAVIOUR = (BEHAVIOUR, Access.VIEW)
OUTSIDE_READS_PAGE_SIZE = 50


class SchoolMisPageView(SitePageView):
    """A page of the school's own pupils: Students at View."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_STUDENTS}


class AttendancePageView(SitePageView):
    """A page of the school's attendance figures: Attendance at View."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_ATTENDANCE}


@dataclass(frozen=True)
class PupilRow:
    pupil: Pupil
    attendance: Attendance


@dataclass(frozen=True)
class YearOption:
    value: int
    label: str
    selected: bool


class StudentListView(RecordsOutsideReads, SchoolMisPageView):
    """/students/: the pupils on roll today by surname (leavers on request), searched by
    name or UPN and filtered by year group, 50 a page, with this term's attendance (with
    Attendance at View)."""

    outside_read = OutsideReadKind.STUDENTS

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
                "show_attendance": request_has_permission(request, *SEE_ATTENDANCE),
                "may_manage": request_has_permission(request, *MANAGE_PUPILS),
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


class StudentExportView(RecordsOutsideReads, ExportPage, SchoolMisPageView):
    """/students/export.csv and .xlsx: every pupil the Students page lists for the same
    query string (all its pages)."""

    outside_read = OutsideReadKind.STUDENTS_EXPORT

    def get(self, request: HttpRequest) -> HttpResponse:
        filters = PupilSearchForm(request.GET).filters()
        table = students_table(
            site=request.site,
            today=timezone.localdate(),
            filters=filters,
            with_attendance=request_has_permission(request, *SEE_ATTENDANCE),
        )
        return export_response(table, site=request.site, export_format=self.export_format)


class PupilDetailView(RecordsOutsideReads, SchoolMisPageView):
    """/students/<id>/: one of the school's pupils: details; with Attendance at View, this
    term's attendance and the last four weeks of marks; with Behaviour at View, suspensions
    and exclusions this academic year."""

    outside_read = OutsideReadKind.PUPIL

    def get(self, request: HttpRequest, pupil_id: int) -> HttpResponse:
        site, today = request.site, timezone.localdate()
        pupil = pupil_for_id(site=site, pupil_id=pupil_id, today=today)
        term, start, end = term_bounds(today)
        show_attendance = request_has_permission(request, *SEE_ATTENDANCE)
        show_behaviour = request_has_permission(request, *SEE_BEHAVIOUR)
        return render(
            request,
            "mis/pupil.html",
            {
                "pupil": pupil,
                "may_manage": request_has_permission(request, *MANAGE_PUPILS),
                "show_attendance": show_attendance,
                "show_behaviour": show_behaviour,
                "attendance": term_attendance(pupil),
                "on_roll": pupil.on_roll(today),
                "recent_marks": (
                    pupil_recent_marks(site=site, pupil=pupil, today=today)
                    if show_attendance
                    else []
                ),
                "recent_days": RECENT_MARK_DAYS,
                "exclusions": (
                    list(pupil_exclusions(site=site, pupil=pupil, today=today))
                    if show_behaviour
                    else []
                ),
                "academic_year": academic_year_label(today),
                "today": today,
                "term": term,
                "term_start": start,
                "term_end": end,
            },
        )


class AttendanceView(AttendancePageView):
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


class AttendanceExportView(ExportPage, AttendancePageView):
    """/attendance/export.csv and .xlsx: the Attendance page of the same day by year group,
    with the term to that day."""

    def get(self, request: HttpRequest) -> HttpResponse:
        day = AttendanceDateForm(request.GET, today=timezone.localdate()).day()
        table = attendance_table(site=request.site, day=day)
        return export_response(table, site=request.site, export_format=self.export_format)


@dataclass(frozen=True)
class OutsideReadRow:
    read: OutsideRead
    what: str


class OutsideReadListView(SitePageView):
    """/audit/outside-reads/: beside the audit trail, every read of this school's
    pupil-level data by someone from outside the school (a group's staff who logged in to
    its MIS), newest first, 50 a page: who, from which group, what, when. For the school's
    administrators (User Details at Administer)."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_OUTSIDE_READS}

    def get(self, request: HttpRequest) -> HttpResponse:
        page = list_page(
            request, outside_read_list(site=request.site), per_page=OUTSIDE_READS_PAGE_SIZE
        )
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            "mis/outside_reads.html",
            {
                "page": page,
                "rows": [OutsideReadRow(read, outside_read_description(read)) for read in page],
                "page_range": page.paginator.get_elided_page_range(
                    page.number, on_each_side=1, on_ends=1
                ),
                "query": query.urlencode(),
                "exports": export_links("mis:outside-reads-export", query),
            },
        )


class OutsideReadExportView(ExportPage, SitePageView):
    """/audit/outside-reads/export.csv and .xlsx: every read the page lists."""

    site_kind = SiteKind.SCHOOL
    method_permissions = {"GET": SEE_OUTSIDE_READS}

    def get(self, request: HttpRequest) -> HttpResponse:
        table = outside_reads_table(site=request.site)
        return export_response(table, site=request.site, export_format=self.export_format)
