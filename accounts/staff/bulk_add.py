"""Adding many members of staff from a CSV file: name, email, job title, role names (several
separated by ``;``), one person a line, under a header line naming the columns.

Every line is read and checked first (the same check as adding one person, plus the role
names and repeated addresses); only when every line passes are they all added, in one
transaction, each through ``staff_member_add``. Otherwise nothing is added and each line
says why it was refused or that it was fine. On a group site people are added with no
associated schools (set them on each person's page afterwards).

The file is read like the other uploads (``matmis.text_files``): UTF-8 (with or without a
byte-order mark) or cp1252, no NUL bytes, at most ``MAX_BYTES`` and ``MAX_LINES``.
"""

import codecs
import csv
import enum
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower

from accounts.audit import Actor
from accounts.models import BusinessRole
from institutions.models import Institution
from matmis.text_files import scan_bytes

from .onboarding import AddOutcome, NewStaffMember, staff_member_add, staff_member_check

MAX_BYTES = 1024 * 1024
MAX_LINES = 500
COLUMNS = ("name", "email", "job title", "roles")
# What a header may call each column (compared in lower case, spaces squeezed).
COLUMN_NAMES = {
    "name": {"name", "full name"},
    "email": {"email", "email address", "e-mail"},
    "job title": {"job title", "job", "title"},
    "roles": {"roles", "role", "role names", "business roles"},
}


class StaffFileError(Exception):
    """The file as a whole cannot be read; ``str(exc)`` says why and what to do."""


class LineOutcome(enum.StrEnum):
    INVITED = "invited"
    EXISTING_USER_ADDED = "existing_user_added"
    REFUSED = "refused"
    NOT_ADDED = "not_added"  # fine, but another line was refused


OUTCOME_WORDS = {
    LineOutcome.INVITED: "Invited",
    LineOutcome.EXISTING_USER_ADDED: "Existing user added",
    LineOutcome.REFUSED: "Refused",
    LineOutcome.NOT_ADDED: "Not added: another line was refused",
}


@dataclass(frozen=True)
class LineResult:
    line: int
    name: str
    email: str
    outcome: LineOutcome
    reasons: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        return OUTCOME_WORDS[self.outcome]


@dataclass(frozen=True)
class BulkAddResult:
    lines: tuple[LineResult, ...]

    @property
    def added(self) -> bool:
        return bool(self.lines) and all(
            line.outcome in (LineOutcome.INVITED, LineOutcome.EXISTING_USER_ADDED)
            for line in self.lines
        )

    def count(self, outcome: LineOutcome) -> int:
        return sum(1 for line in self.lines if line.outcome is outcome)


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise StaffFileError(
            f"The file is larger than {MAX_BYTES // 1024} KB. Split it into smaller files."
        )
    if not data.strip():
        raise StaffFileError("The file is empty. Add a header line and one line per person.")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise StaffFileError("The file is saved as UTF-16 text. Save it as CSV (UTF-8).")
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise StaffFileError(
            "The file is a spreadsheet, not a CSV file. Save it as CSV (UTF-8) and try again."
        )
    scan = scan_bytes(data, io.BytesIO())
    if scan.has_nul:
        raise StaffFileError("The file holds binary data (NUL bytes): it is not a CSV file.")
    if scan.has_bom:
        return data.decode("utf-8-sig")
    if scan.valid_utf8:
        return data.decode("utf-8")
    return data.decode("cp1252", errors="replace")


def _column_positions(header: list[str]) -> dict[str, int]:
    names = [" ".join(cell.split()).lower() for cell in header]
    positions = {}
    for column, accepted in COLUMN_NAMES.items():
        for index, name in enumerate(names):
            if name in accepted:
                positions[column] = index
                break
    missing = [column for column in COLUMNS if column not in positions]
    if missing:
        raise StaffFileError(
            "The first line must name the columns: name, email, job title, roles. Missing: "
            f"{', '.join(missing)}."
        )
    return positions


@dataclass(frozen=True)
class _Line:
    number: int
    name: str
    email: str
    job_title: str
    role_names: tuple[str, ...]


def read_staff_file(data: bytes) -> list[_Line]:
    """The people lines of a staff CSV file; StaffFileError when it cannot be read."""
    text = _decode(data)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows = [(n, row) for n, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if not rows:
        raise StaffFileError("The file is empty. Add a header line and one line per person.")
    (_, header), body = rows[0], rows[1:]
    positions = _column_positions(header)
    if not body:
        raise StaffFileError("The file has a header line but nobody under it.")
    if len(body) > MAX_LINES:
        raise StaffFileError(
            f"The file has {len(body)} people; at most {MAX_LINES} can be added at a time. "
            "Split it into smaller files."
        )

    def cell(row: list[str], column: str) -> str:
        index = positions[column]
        return row[index].strip() if index < len(row) else ""

    return [
        _Line(
            number=number,
            name=cell(row, "name"),
            email=cell(row, "email"),
            job_title=cell(row, "job title"),
            role_names=tuple(
                name
                for name in (" ".join(part.split()) for part in cell(row, "roles").split(";"))
                if name
            ),
        )
        for number, row in body
    ]


def _role_map(site: Institution) -> dict[str, BusinessRole]:
    return {
        role.lowered: role
        for role in BusinessRole.objects.filter(site=site).annotate(lowered=Lower("name"))
    }


def staff_bulk_add(*, site: Institution, data: bytes, actor: Actor) -> BulkAddResult:
    """Check every line of the CSV file ``data``, then add them all, or none (see the
    module's docstring). StaffFileError when the file itself cannot be read."""
    lines = read_staff_file(data)
    roles = _role_map(site)
    checked: list[tuple[_Line, NewStaffMember | None, tuple[str, ...]]] = []
    seen: dict[str, int] = {}
    for line in lines:
        reasons: list[str] = []
        unknown = [name for name in line.role_names if name.lower() not in roles]
        if unknown:
            known = ", ".join(sorted(role.name for role in roles.values()))
            reasons.append(
                f"Not a role at {site.name}: {', '.join(unknown)}. The roles are: {known}."
            )
        member = NewStaffMember(
            full_name=line.name,
            email=line.email,
            job_title=line.job_title,
            roles=[roles[name.lower()] for name in line.role_names if name.lower() in roles]
            if not unknown
            else [],
        )
        tidy = None
        try:
            tidy = staff_member_check(site=site, member=member)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                if field == "roles" and unknown:
                    continue
                reasons.extend(messages)
        email = (tidy.email if tidy else line.email.strip().lower()) or ""
        if email and email in seen:
            reasons.append(f"{email} is on line {seen[email]} already: give each person once.")
        elif email:
            seen[email] = line.number
        checked.append((line, tidy if not reasons else None, tuple(reasons)))

    if any(reasons for _, _, reasons in checked):
        return BulkAddResult(
            tuple(
                LineResult(
                    line.number,
                    line.name,
                    line.email,
                    LineOutcome.REFUSED if reasons else LineOutcome.NOT_ADDED,
                    reasons,
                )
                for line, _, reasons in checked
            )
        )
    results = []
    failed: tuple[_Line, tuple[str, ...]] | None = None
    try:
        with transaction.atomic():
            for line, member, _ in checked:
                try:
                    added = staff_member_add(site=site, member=member, actor=actor, checked=True)
                except ValidationError as error:
                    # Changed since the check (someone added them meanwhile): all or none.
                    failed = (line, tuple(error.messages))
                    raise
                outcome = (
                    LineOutcome.INVITED
                    if added.outcome is AddOutcome.INVITED
                    else LineOutcome.EXISTING_USER_ADDED
                )
                results.append(LineResult(line.number, member.full_name, member.email, outcome))
    except ValidationError:
        if failed is None:
            raise
        return BulkAddResult(
            tuple(
                LineResult(
                    line.number,
                    line.name,
                    line.email,
                    LineOutcome.REFUSED if line is failed[0] else LineOutcome.NOT_ADDED,
                    failed[1] if line is failed[0] else (),
                )
                for line, _, _ in checked
            )
        )
    return BulkAddResult(tuple(results))
