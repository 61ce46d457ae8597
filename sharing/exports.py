"""Data Sharing Agreements as a file (``matmis.exports``): one tab's schools with the
page's search, filters and sort, every page, and the tab's own columns."""

from institutions.models import Institution
from matmis.exports import BATCH_SIZE, Column, Table, in_batches

from .models import AccessLevel
from .selectors import (
    TAB_APPROVED,
    TAB_NONE,
    TAB_PENDING,
    agreement_tab_schools,
    delivery_summaries,
)

CLOSED_STATUS = {"declined": "Declined", "withdrawn": "Withdrawn"}
SCHOOL_COLUMNS = [
    Column("School", lambda school: school.name),
    Column("URN", lambda school: school.urn),
    Column("Phase", lambda school: school.phase),
    Column("Type", lambda school: school.type_name),
    Column("Town", lambda school: school.town),
    Column("Postcode", lambda school: school.postcode),
]


def _level(level: int | None) -> str:
    return AccessLevel(level).label if level else ""


TAB_COLUMNS = {
    TAB_NONE: [
        Column(
            "Last request",
            lambda school: CLOSED_STATUS.get(school.last_closed_status, "Not asked yet"),
        ),
        Column("Last request decided", lambda school: school.last_closed_at),
        Column("Reason given", lambda school: school.last_decline_reason),
    ],
    TAB_PENDING: [
        Column("Level asked for", lambda school: _level(school.pending_level)),
        Column("Raise from", lambda school: _level(school.agreement_level)),
        Column("Sent", lambda school: school.pending_sent_at),
        Column(
            "Sent by",
            lambda school: school.pending_sender_name or school.pending_sender_email,
        ),
        Column("Last reminder", lambda school: school.last_reminder_at),
        Column(
            "Emails",
            lambda school: school.delivery.label if school.delivery else "No emails",
        ),
    ],
    TAB_APPROVED: [
        Column("Access level", lambda school: _level(school.agreement_level)),
        Column("Raise pending to", lambda school: _level(school.pending_level)),
        Column("Approved", lambda school: school.agreement_approved_at),
        Column("Set up for the group", lambda school: bool(school.agreement_automated)),
    ],
}


def agreements_table(*, group: Institution, tab: str, sort: str, filters: dict) -> Table:
    """The schools of ``tab`` as the page lists them (``agreement_tab_schools``): one query,
    and on the Pending tab the emails' state, one query per batch of rows as on the page."""
    schools = agreement_tab_schools(group=group, tab=tab, sort=sort, **filters)
    rows = schools.iterator(chunk_size=BATCH_SIZE)
    if tab == TAB_PENDING:

        def with_deliveries(batch: list[Institution]) -> None:
            ids = [school.pending_request_id for school in batch]
            deliveries = delivery_summaries(group=group, request_ids=ids)
            for school in batch:
                school.delivery = deliveries.get(school.pending_request_id)

        rows = in_batches(rows, prepare=with_deliveries)
    return Table(f"agreements-{tab}", [*SCHOOL_COLUMNS, *TAB_COLUMNS[tab]], rows)
