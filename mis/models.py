"""A school's own records: its pupils, their attendance marks and their suspensions and
permanent exclusions; and the roll-ups the group's dashboard reads.

Every row carries its school's site id (``site``), including the attendance marks, which
lead with it in their primary key: a school's marks are one range of that key, and the
database can bound every query to one site (Row-Level Security keys on that column).
Nothing here is ever read except through ``mis.selectors``, which take the site.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from .codes import (
    CODES_BY_CATEGORY,
    ExclusionKind,
    ExclusionReason,
    LeavingReason,
    MarkCategory,
    SenProvision,
    Session,
    Sex,
    year_group_label,
)


class RegistrationGroup(models.Model):
    """A form or tutor group: the pupils whose register is taken together, AM and PM, and
    the staff who teach it (its teachers may take its registers)."""

    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    name = models.CharField(max_length=40, help_text="As the school calls it, e.g. 4B or 7KM.")
    teachers = models.ManyToManyField(
        "accounts.StaffProfile",
        through="RegistrationGroupTeacher",
        related_name="registration_groups",
        blank=True,
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "name"], name="registration_group_name_unique_per_school"
            ),
            # Pupils and teachers point at (id, site): a group only ever holds its own
            # school's pupils and staff (migration: registration groups).
            models.UniqueConstraint(fields=["id", "site"], name="registration_group_id_site"),
        ]

    def __str__(self) -> str:
        return self.name


class RegistrationGroupTeacher(models.Model):
    """One of a registration group's teachers: a member of staff of the same school."""

    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    group = models.ForeignKey(RegistrationGroup, on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey("accounts.StaffProfile", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "profile"], name="registration_teacher_once"),
        ]

    def __str__(self) -> str:
        return f"Teacher {self.profile_id} of group {self.group_id}"


class Pupil(models.Model):
    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    upn = models.CharField("UPN", max_length=13)
    legal_first_name = models.CharField(max_length=100)
    legal_last_name = models.CharField(max_length=100)
    preferred_first_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField(
        max_length=1,
        choices=Sex.choices,
        blank=True,
        default="",
        db_default="",
        help_text="As the census records it; empty where the record came without it.",
    )
    year_group = models.SmallIntegerField(
        help_text="Reception is 0; nursery 1 and 2 are -2 and -1."
    )
    enrolled_on = models.DateField(help_text="First day on the school's roll.")
    left_on = models.DateField(
        null=True, blank=True, help_text="Last day on the roll; empty while the pupil is on it."
    )
    leaving_reason = models.CharField(
        max_length=10,
        choices=LeavingReason.choices,
        blank=True,
        default="",
        db_default="",
        help_text="The ground for deleting the pupil from the register; empty while on roll "
        "(and for leavers recorded before the ground was kept).",
    )
    destination_urn = models.CharField(
        "next school's URN",
        max_length=6,
        blank=True,
        default="",
        db_default="",
        help_text="Where the pupil went, when it is a school with a URN.",
    )
    destination_name = models.CharField(
        "next school",
        max_length=255,
        blank=True,
        default="",
        db_default="",
        help_text="The next school's name, or where the pupil went when it is not a school.",
    )
    fsm_eligible = models.BooleanField("eligible for free school meals", default=False)
    disadvantaged = models.BooleanField(
        default=False, help_text="Pupil premium: FSM in the last six years, or looked after."
    )
    sen_provision = models.CharField(
        "SEN provision", max_length=1, choices=SenProvision.choices, default=SenProvision.NONE
    )
    registration_group = models.ForeignKey(
        RegistrationGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pupils",
        db_constraint=False,  # (registration_group, site) -> group's (id, site): migration
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "upn"], name="pupil_upn_unique_per_school"),
            # The attendance marks and exclusions point at (id, site): a pupil's records
            # can only ever belong to the pupil's own school.
            models.UniqueConstraint(fields=["id", "site"], name="pupil_id_site"),
            models.CheckConstraint(
                condition=Q(upn__regex=r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$"),
                name="pupil_upn_shape",
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("enrolled_on")),
                name="pupil_leaves_after_joining",
            ),
            models.CheckConstraint(
                condition=Q(year_group__gte=-2, year_group__lte=14), name="pupil_year_group_range"
            ),
            # A leaving ground and a destination only on a leaver's record.
            models.CheckConstraint(
                condition=Q(left_on__isnull=False)
                | Q(leaving_reason="", destination_urn="", destination_name=""),
                name="pupil_leaving_details_only_when_left",
            ),
            models.CheckConstraint(
                condition=Q(destination_urn="") | Q(destination_urn__regex=r"^[0-9]{6}$"),
                name="pupil_destination_urn_shape",
            ),
        ]
        indexes = [
            models.Index(fields=["site", "legal_last_name", "legal_first_name"], name="pupil_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def first_name(self) -> str:
        return self.preferred_first_name or self.legal_first_name

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.legal_last_name}"

    @property
    def year_group_label(self) -> str:
        return year_group_label(self.year_group)

    def on_roll(self, day) -> bool:
        return self.enrolled_on <= day and (self.left_on is None or self.left_on >= day)

    @property
    def upn_is_temporary(self) -> bool:
        """A temporary UPN ends in a letter where a permanent one ends in a digit."""
        return not self.upn[-1:].isdigit()


def _category_of_code() -> Case:
    return Case(
        *(
            When(code__in=codes, then=Value(int(category)))
            for category, codes in CODES_BY_CATEGORY.items()
        ),
        default=Value(int(MarkCategory.NOT_POSSIBLE)),
        output_field=models.SmallIntegerField(),
    )


class AttendanceMark(models.Model):
    """One register mark: a pupil's AM or PM session on one day, with its DfE code.

    Keyed (site, date, session, pupil): one day's registers of a school are one range of
    the key, written in order, so a day of registers adds to the end of each school's range
    instead of into every pupil's. The table is partitioned by academic year (1 September
    to 31 August, migration 0007; ``mis.partitions`` makes each year's partition ahead of
    time), Row-Level Security on the parent and on every partition. Every insert, update
    and delete, whoever makes it, is noted in ``AttendanceChange`` by a trigger, which is
    what the roll-up refresh reads (``mis.rollups``)."""

    pk = models.CompositePrimaryKey("site_id", "date", "session", "pupil_id")
    # One database constraint covers both: (pupil, site) must be a pupil of that site
    # (migration 0002), which also proves the site exists. One check per row, not three,
    # matters at ten million marks.
    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    pupil = models.ForeignKey(
        Pupil, on_delete=models.PROTECT, related_name="marks", db_index=False, db_constraint=False
    )
    date = models.DateField()
    session = models.CharField(max_length=2, choices=Session.choices)
    code = models.CharField(max_length=2)
    category = models.GeneratedField(
        expression=_category_of_code(),
        output_field=models.SmallIntegerField(choices=MarkCategory.choices),
        db_persist=True,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    code__in=[code for codes in CODES_BY_CATEGORY.values() for code in codes]
                ),
                name="attendance_mark_known_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.session}: {self.code}"


class AttendanceChange(models.Model):
    """Marks written since the school's last roll-up refresh, as signed session counts per
    pupil, day and category: +1 for each mark added, -1 for each removed, an amendment
    both (the old code's category -1, the new one's +1). Written by the triggers on
    ``mis_attendancemark`` (migration 0007) for every writer, COPY included; taken (deleted)
    by the refresh, which adds them to ``PupilWeekAttendance``. A row that nets to zero is
    harmless and goes with the next refresh."""

    pk = models.CompositePrimaryKey("site_id", "pupil_id", "date", "category")
    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    pupil = models.ForeignKey(
        Pupil,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    date = models.DateField()
    category = models.SmallIntegerField(choices=MarkCategory.choices)
    sessions = models.IntegerField(help_text="Sessions added (positive) or removed (negative).")

    def __str__(self) -> str:
        return f"{self.date} pupil {self.pupil_id}: {self.sessions:+d} ({self.category})"


class PupilWeekAttendance(models.Model):
    """A pupil's sessions of one week within one term, by category: the running totals the
    roll-up refresh keeps from ``AttendanceChange`` (a week that spans two terms has a row
    for each). A term's figures are the sums of its rows (about 14 a pupil), a week's the
    sums over its pupils: neither grows with the marks of earlier terms.

    Personal data (it points at a pupil): Row-Level Security as on the marks. Kept without
    a database foreign key: a pupil's rows fall to zero when their marks are deleted, and
    the refresh removes rows that are all zero."""

    pk = models.CompositePrimaryKey("site_id", "pupil_id", "week_start", "term_start")
    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    pupil = models.ForeignKey(
        Pupil,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    week_start = models.DateField(help_text="The week's Monday.")
    term_start = models.DateField(help_text="The first day of the term (mis.calendar.term_of).")
    present = models.PositiveIntegerField()
    authorised = models.PositiveIntegerField()
    unauthorised = models.PositiveIntegerField()
    not_possible = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["site", "term_start", "week_start"], name="pupil_week_site_term"),
        ]

    def __str__(self) -> str:
        return f"Pupil {self.pupil_id}, week of {self.week_start}"


class MarkAmendment(models.Model):
    """A change to a mark already in the register: the original code, the new one, who,
    when and why (the pupil registration regulations of 2024 require that an amendment
    never overwrites). The mark itself holds the new code; this row keeps what it was.

    Keyed by the mark's natural key (site, pupil, date, session) with no foreign key to the
    marks table, which is partitioned by academic year."""

    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,  # covered by (pupil, site) -> pupil (migration)
    )
    pupil = models.ForeignKey(
        Pupil, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    date = models.DateField()
    session = models.CharField(max_length=2, choices=Session.choices)
    original_code = models.CharField(max_length=2)
    new_code = models.CharField(max_length=2)
    amended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    amended_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["amended_at", "id"]
        indexes = [
            models.Index(fields=["site", "date", "session", "pupil"], name="mark_amendment_key"),
            models.Index(fields=["site", "pupil", "date"], name="mark_amendment_pupil"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(original_code=models.F("new_code")), name="mark_amendment_changes"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="mark_amendment_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.session}: {self.original_code} to {self.new_code}"


class RegisterSettings(models.Model):
    """When a school's registers close, AM and PM: a pupil arriving late before then is
    marked L (late, counts as present), after it U (unauthorised absence)."""

    DEFAULT_AM_CLOSE = datetime.time(9, 30)
    DEFAULT_PM_CLOSE = datetime.time(13, 45)

    site = models.OneToOneField(
        "institutions.Institution", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    am_closes_at = models.TimeField("morning register closes at", default=DEFAULT_AM_CLOSE)
    pm_closes_at = models.TimeField("afternoon register closes at", default=DEFAULT_PM_CLOSE)

    def __str__(self) -> str:
        return f"Registers of school {self.site_id} close {self.am_closes_at}/{self.pm_closes_at}"

    def closes_at(self, session: str) -> datetime.time:
        return self.am_closes_at if session == Session.AM else self.pm_closes_at


class Exclusion(models.Model):
    """A suspension (a fixed number of sessions) or a permanent exclusion."""

    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,  # covered by (pupil, site) -> pupil (migration 0002)
    )
    pupil = models.ForeignKey(
        Pupil, on_delete=models.PROTECT, related_name="exclusions", db_constraint=False
    )
    kind = models.CharField(max_length=10, choices=ExclusionKind.choices)
    starts_on = models.DateField()
    sessions = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="A suspension's length in sessions (half days)."
    )
    reason = models.CharField(max_length=2, choices=ExclusionReason.choices)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=ExclusionKind.PERMANENT, sessions__isnull=True)
                | Q(kind=ExclusionKind.SUSPENSION, sessions__gte=1),
                name="exclusion_length_fits_kind",
            ),
        ]
        indexes = [models.Index(fields=["site", "starts_on"], name="exclusion_site_date")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.starts_on}"


# --- Roll-ups: what the group's dashboard reads -------------------------------------------------


class RollupState(models.Model):
    """When a school's roll-ups were last computed, and whether its records changed since.

    Not personal data: one row per school site that keeps MIS records."""

    school = models.OneToOneField(
        "institutions.Institution", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    changed_at = models.DateTimeField(
        help_text="The school's records changed at this time (pupils, marks, exclusions)."
    )
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refreshed_for = models.DateField(
        null=True, blank=True, help_text="The day the figures were counted up to."
    )
    term_start = models.DateField(null=True, blank=True)
    year_start = models.DateField(null=True, blank=True)
    folded_through = models.DateField(
        null=True,
        blank=True,
        help_text="The marks changed up to this day are in the pupils' weekly totals; "
        "later-dated changes wait in AttendanceChange.",
    )

    def __str__(self) -> str:
        return f"Figures of school {self.school_id}, refreshed {self.refreshed_at}"


class AttendanceRollup(models.Model):
    """A school's live figures for one cell of pupils (year group x disadvantaged x SEN
    provision), counted up to ``RollupState.refreshed_for``. Cells add up: a school's figures
    are the sums of its cells, a group's the sums of its schools'.

    Attendance and persistent absence are over the current term to date; suspensions and
    permanent exclusions over the academic year to date; ``pupils_on_roll`` is the day's roll.
    """

    school = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    year_group = models.SmallIntegerField()
    disadvantaged = models.BooleanField()
    sen_provision = models.CharField(max_length=1, choices=SenProvision.choices)
    pupils_on_roll = models.PositiveIntegerField()
    pupils_with_sessions = models.PositiveIntegerField(
        help_text="Pupils with at least one possible session this term (the persistent "
        "absence denominator)."
    )
    possible_sessions = models.PositiveIntegerField()
    present_sessions = models.PositiveIntegerField()
    authorised_sessions = models.PositiveIntegerField()
    unauthorised_sessions = models.PositiveIntegerField()
    persistent_absentees = models.PositiveIntegerField(
        help_text="Pupils who missed 10% or more of their possible sessions this term."
    )
    suspensions = models.PositiveIntegerField()
    permanent_exclusions = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "year_group", "disadvantaged", "sen_provision"],
                name="attendance_rollup_one_per_cell",
            ),
        ]

    def __str__(self) -> str:
        return f"School {self.school_id}, {year_group_label(self.year_group)}"


class WeeklyAttendance(models.Model):
    """A school's attendance counts of one week (Monday to Sunday) for one year group, kept
    by the roll-up refresh from the marks, so that a trend exists beyond the term to date.

    Counts, never rates: a school's week is the sum of its year groups, a group's week the
    sum of its schools'. The pupil's year group is the one on record when the week was
    counted. The school's own records decide every row: the table may be written only in a
    transaction bound to the school (Row-Level Security on writes, migration 0004); the
    group reads it as it reads ``AttendanceRollup``, through ``sharing.access``.
    """

    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    week_start = models.DateField(help_text="The week's Monday.")
    year_group = models.SmallIntegerField()
    possible_sessions = models.PositiveIntegerField()
    present_sessions = models.PositiveIntegerField()
    authorised_sessions = models.PositiveIntegerField()
    unauthorised_sessions = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "week_start", "year_group"], name="weekly_attendance_one_per_cell"
            ),
            models.CheckConstraint(
                condition=Q(week_start__week_day=2), name="weekly_attendance_starts_on_monday"
            ),
            models.CheckConstraint(
                condition=Q(
                    possible_sessions=models.F("present_sessions")
                    + models.F("authorised_sessions")
                    + models.F("unauthorised_sessions")
                ),
                name="weekly_attendance_possible_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"School {self.site_id}, week of {self.week_start}, {year_group_label(self.year_group)}"
        )


class OutsideReadKind(models.TextChoices):
    """The pupil-level reads recorded when made from outside the school (``outside_reads``).
    The Attendance page and its export are counts over the school, not pupil-level."""

    STUDENTS = "students", "Students list"
    STUDENTS_EXPORT = "students_export", "Students export"
    PUPIL = "pupil", "A pupil’s record"
    CTF = "ctf", "Common Transfer File"
    ARRIVALS = "arrivals", "Pupils arriving from other schools"
    REGISTER = "register", "A register"
    REGISTRATION_GROUP = "registration_group", "A registration group’s pupils"


class OutsideRead(models.Model):
    """One request by someone from outside the school (inside a Log in to MIS hop from a
    group site) that read pupil-level data: who, from which group, what, when. One row per
    request, however many pupils it showed; never changed (the application may only add).

    ``pupil``: the pupil whose record was read (``PUPIL``); kept as the id when the pupil's
    records are later replaced (no database constraint, as the school's records may go)."""

    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text="The school whose pupils were read.",
    )
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_group = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The group site the reader logged in to the school's MIS from.",
    )
    what = models.CharField(max_length=20, choices=OutsideReadKind.choices)
    pupil = models.ForeignKey(
        Pupil,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    path = models.CharField(max_length=255, help_text="The page or endpoint, with its query.")
    api = models.BooleanField(default=False, help_text="Read through the REST API.")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["site", "-at"], name="outside_read_site_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_what_display()} (site {self.site_id})"


# --- What a pupil's record carries from school to school (the Common Transfer File) --------
#
# Each row carries its pupil's site and points at (pupil, site) (migration 0007): the rows
# belong to the pupil's own school, under the same Row-Level Security as the pupil.


class PupilAddress(models.Model):
    """A pupil's home address in the CTF's BS7666 parts."""

    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,  # covered by (pupil, site) -> pupil (migration 0007)
    )
    pupil = models.ForeignKey(
        Pupil, on_delete=models.CASCADE, related_name="addresses", db_constraint=False
    )
    saon = models.CharField("secondary addressable object", max_length=100, blank=True)
    paon = models.CharField("primary addressable object", max_length=100, blank=True)
    street = models.CharField(max_length=100, blank=True)
    locality = models.CharField(max_length=100, blank=True)
    town = models.CharField(max_length=100, blank=True)
    administrative_area = models.CharField(max_length=100, blank=True)
    post_town = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=8, blank=True)

    def __str__(self) -> str:
        parts = (self.saon, self.paon, self.street, self.town, self.postcode)
        return ", ".join(part for part in parts if part)


class FsmPeriod(models.Model):
    """A period of eligibility for free school meals (the CTF's FSM history)."""

    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    pupil = models.ForeignKey(
        Pupil, on_delete=models.CASCADE, related_name="fsm_periods", db_constraint=False
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="Empty while eligible.")
    uk_country = models.CharField("UK country", max_length=3, blank=True, default="ENG")

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="fsm_period_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"FSM from {self.starts_on}"


class SenPeriod(models.Model):
    """A pupil's SEN provision from a date (the CTF's SEN history)."""

    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    pupil = models.ForeignKey(
        Pupil, on_delete=models.CASCADE, related_name="sen_periods", db_constraint=False
    )
    starts_on = models.DateField()
    provision = models.CharField(max_length=1, choices=SenProvision.choices)

    class Meta:
        ordering = ["starts_on"]

    def __str__(self) -> str:
        return f"{self.get_provision_display()} from {self.starts_on}"


class PriorAttendance(models.Model):
    """A year's attendance summary recorded at an earlier school, as its CTF gave it: the
    marks themselves stay with the school that recorded them."""

    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    pupil = models.ForeignKey(
        Pupil, on_delete=models.CASCADE, related_name="prior_attendance", db_constraint=False
    )
    academic_year = models.PositiveSmallIntegerField(help_text="The year it starts in: 2025.")
    school_name = models.CharField(max_length=255, blank=True)
    la_code = models.CharField("LA code", max_length=3, blank=True)
    establishment_number = models.CharField(max_length=4, blank=True)
    sessions_possible = models.PositiveIntegerField()
    sessions_authorised = models.PositiveIntegerField()
    sessions_unauthorised = models.PositiveIntegerField()

    class Meta:
        ordering = ["academic_year", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    sessions_possible__gte=models.F("sessions_authorised")
                    + models.F("sessions_unauthorised")
                ),
                name="prior_attendance_absences_within_possible",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.academic_year}: {self.school_name}"


class CtfImport(models.Model):
    """A Common Transfer File uploaded to a school: previewed first, then imported (all or
    nothing) or left. The file is kept while the preview waits (it is the pupils' personal
    data: under the school's Row-Level Security, migration 0007)."""

    class State(models.TextChoices):
        PREVIEWED = "previewed", "Previewed"
        IMPORTED = "imported", "Imported"

    site = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    original_name = models.CharField(max_length=255)
    content = models.TextField(help_text="The file as uploaded (UTF-8).")
    source_school = models.CharField(max_length=255, blank=True)
    pupils_in_file = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PREVIEWED)
    uploaded_at = models.DateTimeField(default=timezone.now)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["site", "-uploaded_at"], name="ctf_import_site_at")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_state_display()})"


class PupilArrival(models.Model):
    """A pupil on their way from another school on the platform: written at the destination
    (``site``) by the source's off-roll, holding the transferable record exactly as a CTF
    would carry it. The destination accepts it (matched by UPN) or rejects it."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    site = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text="The destination school.",
    )
    from_school = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+"
    )
    upn = models.CharField("UPN", max_length=13)
    legal_first_name = models.CharField(max_length=100)
    legal_last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    left_on = models.DateField(help_text="The pupil's last day at the source school.")
    record = models.TextField(help_text="The transferable record: a CTF of this one pupil.")
    sent_by = models.CharField(max_length=254, help_text="Who took the pupil off roll.")
    sent_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    pupil = models.ForeignKey(
        Pupil,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,  # (pupil, site) -> pupil (migration 0007)
        help_text="The destination's pupil record once accepted.",
    )

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["site", "state", "-sent_at"], name="arrival_site_state")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="accepted", pupil__isnull=False)
                | (~Q(state="accepted") & Q(pupil__isnull=True)),
                name="arrival_pupil_only_when_accepted",
            ),
            models.CheckConstraint(
                condition=~Q(state="rejected") | ~Q(rejection_reason=""),
                name="arrival_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.legal_first_name} {self.legal_last_name} from {self.from_school_id}"
