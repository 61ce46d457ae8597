"""The transferable record: what a Common Transfer File carries for each pupil, as plain
values. A transfer inside the platform carries exactly this (as a CTF of one pupil)."""

import datetime
from dataclasses import dataclass

# The one CTF version read and written (the DfE's current published schema).
CTF_VERSION = "25.0"
DOCUMENT_NAME = "Common Transfer File"
SUPPLIER_ID = "matmis"

# The CTF's NCyearActual values for the year groups kept here (Reception 0, nursery -1, -2).
NC_YEARS: dict[int, str] = {-2: "N1", -1: "N2", 0: "R"} | {year: str(year) for year in range(1, 15)}
YEAR_OF_NC: dict[str, int] = {value: year for year, value in NC_YEARS.items()}


@dataclass(frozen=True)
class SchoolRef:
    la_code: str
    establishment_number: str
    name: str = ""
    academic_year: str = ""  # the source's current academic year, "2026"


@dataclass(frozen=True)
class Address:
    saon: str = ""
    paon: str = ""
    street: str = ""
    locality: str = ""
    town: str = ""
    administrative_area: str = ""
    post_town: str = ""
    postcode: str = ""


@dataclass(frozen=True)
class YearAttendance:
    academic_year: int
    school_name: str
    la_code: str
    establishment_number: str
    sessions_possible: int
    sessions_authorised: int
    sessions_unauthorised: int


@dataclass(frozen=True)
class FsmInstance:
    starts_on: datetime.date
    ends_on: datetime.date | None
    uk_country: str = "ENG"


@dataclass(frozen=True)
class SenEntry:
    starts_on: datetime.date
    provision: str  # mis.codes.SenProvision


@dataclass(frozen=True)
class TransferRecord:
    upn: str
    legal_last_name: str
    legal_first_name: str
    preferred_first_name: str
    date_of_birth: datetime.date
    sex: str  # "F", "M" or "" when the file gave none
    year_group: int
    addresses: tuple[Address, ...] = ()
    attendance: tuple[YearAttendance, ...] = ()
    fsm: tuple[FsmInstance, ...] = ()
    sen: tuple[SenEntry, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.preferred_first_name or self.legal_first_name} {self.legal_last_name}"

    def fsm_eligible_on(self, day: datetime.date) -> bool:
        return any(
            period.starts_on <= day and (period.ends_on is None or period.ends_on >= day)
            for period in self.fsm
        )

    def disadvantaged_on(self, day: datetime.date) -> bool:
        """Free school meals at any time in the last six years (the pupil premium rule)."""
        since = day - datetime.timedelta(days=6 * 365 + 1)
        return any(period.ends_on is None or period.ends_on >= since for period in self.fsm)

    @property
    def sen_provision(self) -> str:
        """The latest SEN provision of the history; "N" without one."""
        if not self.sen:
            return "N"
        return max(self.sen, key=lambda entry: entry.starts_on).provision


@dataclass(frozen=True)
class Rejection:
    """An element of the file that was refused: where, what, why. A blocking one refuses
    the whole import; any other is left out and listed."""

    where: str  # "Pupil 3 (UPN A123...)" or "Header"
    element: str
    reason: str
    blocking: bool


@dataclass(frozen=True)
class CtfDocument:
    version: str
    source: SchoolRef
    destination: SchoolRef | None
    generated_at: str
    pupils: tuple[TransferRecord, ...]
    rejections: tuple[Rejection, ...]

    @property
    def blocking(self) -> tuple[Rejection, ...]:
        return tuple(rejection for rejection in self.rejections if rejection.blocking)
