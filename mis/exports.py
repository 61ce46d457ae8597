"""Students and Attendance as files (``matmis.exports``): the same selectors, filters and
figures as the pages."""

import datetime

from institutions.models import Institution
from matmis.exports import BATCH_SIZE, Column, Table

from .codes import year_group_label
from .forms import PupilFilters
from .models import OutsideRead
from .selectors import (
    DaySummary,
    SessionCounts,
    TermSummary,
    attendance_day,
    attendance_term,
    outside_read_list,
    pupil_list,
    term_attendance,
)

STUDENT_COLUMNS = [
    Column("Surname", lambda pupil: pupil.legal_last_name),
    Column("First name", lambda pupil: pupil.first_name),
    Column("Legal first name", lambda pupil: pupil.legal_first_name),
    Column("UPN", lambda pupil: pupil.upn),
    Column("Year group", lambda pupil: pupil.year_group_label),
    Column("Date of birth", lambda pupil: pupil.date_of_birth),
    Column("Joined", lambda pupil: pupil.enrolled_on),
    Column("Left", lambda pupil: pupil.left_on),
    Column("FSM", lambda pupil: pupil.fsm_eligible),
    Column("Disadvantaged", lambda pupil: pupil.disadvantaged),
    Column("SEN provision", lambda pupil: pupil.get_sen_provision_display()),
    Column("Attendance % this term", lambda pupil: term_attendance(pupil).percent),
    Column("Possible sessions this term", lambda pupil: term_attendance(pupil).possible),
    Column(
        "Persistent absence this term", lambda pupil: term_attendance(pupil).persistent_absentee
    ),
]


STUDENT_ATTENDANCE_COLUMNS = 3  # the last columns: needs Attendance at View


def students_table(
    *, site: Institution, today: datetime.date, filters: PupilFilters, with_attendance: bool
) -> Table:
    """The Students page's pupils (its search and filters, all pages): one query.
    ``with_attendance``: with the term's attendance columns (as the page shows them)."""
    pupils = pupil_list(
        site=site,
        today=today,
        search=filters.search,
        year_group=filters.year_group,
        include_leavers=filters.include_leavers,
    )
    columns = STUDENT_COLUMNS if with_attendance else STUDENT_COLUMNS[:-STUDENT_ATTENDANCE_COLUMNS]
    return Table("students", columns, pupils.iterator(chunk_size=BATCH_SIZE))


# --- Attendance: one row per year group and one for the school --------------------------------


def _session_columns(name: str, label: str) -> list[Column]:
    def count(field: str):
        return lambda row: getattr(row[name], field)

    return [
        Column(f"{label}: present", count("present")),
        Column(f"{label}: authorised absence", count("authorised")),
        Column(f"{label}: unauthorised absence", count("unauthorised")),
        Column(f"{label}: not a possible session", count("not_possible")),
        Column(f"{label}: not yet marked", count("not_marked")),
        Column(f"{label}: attendance % of marked sessions", count("percent")),
    ]


_TERM_FIGURES = {
    "attendance %": lambda term: term.attendance.percent,
    "possible sessions": lambda term: term.attendance.possible,
    "pupils with sessions": lambda term: term.pupils_with_sessions,
    "persistent absentees": lambda term: term.persistent_absentees,
    "persistent absence %": lambda term: term.persistent_absence_percent,
}


def _term_column(label: str, name: str) -> Column:
    figure = _TERM_FIGURES[name]
    return Column(
        f"{label}: {name}", lambda row: None if row["term"] is None else figure(row["term"])
    )


def attendance_columns(day: datetime.date, term: TermSummary) -> list[Column]:
    term_label = f"{term.term.name} to {term.end.isoformat()}"
    return [
        Column("Year group", lambda row: row["label"]),
        Column(f"On roll {day.isoformat()}", lambda row: row["am"].on_roll),
        *_session_columns("am", "Morning (AM)"),
        *_session_columns("pm", "Afternoon (PM)"),
        *(_term_column(term_label, name) for name in _TERM_FIGURES),
    ]


def attendance_rows(summary: DaySummary, term: TermSummary) -> list[dict]:
    """Every year group on roll that day or with marks in the term, then the whole school."""
    days = {row.year_group: row for row in summary.year_groups}
    terms = {row.year_group: row for row in term.year_groups}
    empty = SessionCounts()
    rows = [
        {
            "label": year_group_label(year_group),
            "am": days[year_group].am if year_group in days else empty,
            "pm": days[year_group].pm if year_group in days else empty,
            "term": terms.get(year_group),
        }
        for year_group in sorted(days.keys() | terms.keys())
    ]
    rows.append(
        {"label": "All year groups", "am": summary.am, "pm": summary.pm, "term": term.overall}
    )
    return rows


def attendance_table(*, site: Institution, day: datetime.date) -> Table:
    """The Attendance page of ``day``: its registers by year group and the term to that day
    (two queries, as the page)."""
    summary = attendance_day(site=site, day=day)
    term = attendance_term(site=site, day=day)
    return Table(
        f"attendance-{day.isoformat()}",
        attendance_columns(day, term),
        attendance_rows(summary, term),
    )


# --- Reads from outside the school: one row per recorded read -------------------------------


def outside_read_description(read: OutsideRead) -> str:
    """What was read: the kind, and for a pupil's record the pupil (by name while the
    school still has their record)."""
    if read.pupil_id is None:
        return read.get_what_display()
    if read.pupil is None:
        return f"{read.get_what_display()}: a pupil no longer on record (id {read.pupil_id})"
    return f"{read.get_what_display()}: {read.pupil.name}"


OUTSIDE_READ_COLUMNS = [
    Column("Time", lambda read: read.at),
    Column("Person", lambda read: read.reader.display_name),
    Column("Email", lambda read: read.reader.email),
    Column("From", lambda read: read.from_group.name),
    Column("What", outside_read_description),
    Column("UPN", lambda read: read.pupil.upn if read.pupil is not None else ""),
    Column("Through", lambda read: "API" if read.api else "Page"),
    Column("Address", lambda read: read.path),
]


def outside_reads_table(*, site: Institution) -> Table:
    """The Reads from outside the school page's records, every page, newest first."""
    reads = outside_read_list(site=site)
    return Table("outside-reads", OUTSIDE_READ_COLUMNS, reads.iterator(chunk_size=BATCH_SIZE))
