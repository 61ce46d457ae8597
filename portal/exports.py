"""Browse Institutions as a file (``matmis.exports``): the group's schools with the page's
search, filters and sort, every page, with each school's data sharing status (looked up as
the page does, one query per batch of rows)."""

from institutions.models import Institution
from matmis.exports import BATCH_SIZE, Column, Table, in_batches
from sharing.selectors import NO_SHARING, SharingStatus, sharing_status_for_schools


def ofsted_text(school: Institution) -> str:
    """The page's Ofsted cell: a report card has no single overall grade."""
    if school.ofsted_grade:
        return school.get_ofsted_grade_display()
    if school.ofsted_report_card or school.ofsted_last_inspection:
        return "No single grade"
    return "Not inspected"


def _level(status: SharingStatus) -> str:
    if status.pending_level:
        return f"{status.level_label} (raise to {status.pending_level_label} pending)"
    return status.level_label


BROWSE_COLUMNS = [
    Column("School", lambda school: school.name),
    Column("URN", lambda school: school.urn),
    Column("Phase", lambda school: school.phase),
    Column("Type", lambda school: school.type_name),
    Column("Ofsted", ofsted_text),
    Column("Ofsted last inspection", lambda school: school.ofsted_last_inspection),
    Column("Pupils", lambda school: school.pupils),
    Column("Clusters", lambda school: "; ".join(c.name for c in school.group_clusters)),
    Column("Data sharing", lambda school: school.sharing.label),
    Column("Access level", lambda school: _level(school.sharing)),
    Column("Town", lambda school: school.town),
    Column("Postcode", lambda school: school.postcode),
]


def browse_table(*, group: Institution, schools) -> Table:
    """``schools`` (``group_school_list`` as the page reads it) with their sharing status."""

    def with_status(batch: list[Institution]) -> None:
        statuses = sharing_status_for_schools(group=group, school_ids=[s.pk for s in batch])
        for school in batch:
            school.sharing = statuses.get(school.pk, NO_SHARING)

    rows = in_batches(schools.iterator(chunk_size=BATCH_SIZE), prepare=with_status)
    return Table("schools", BROWSE_COLUMNS, rows)
