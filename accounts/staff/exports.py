"""The staff list as a file (``matmis.exports``): the Staff page's people, search and
columns, every page."""

from accounts.models import StaffProfile
from institutions.models import Institution
from matmis.exports import BATCH_SIZE, Column, Table

from .selectors import HeldRole, directory_association_summary, held_roles, staff_directory


def _role_text(held: HeldRole) -> str:
    """As the page's role tag reads: the name, with its dates when not in force today."""
    if held.in_force:
        return held.name
    if held.not_started:
        return f"{held.name} (from {held.starts_on.isoformat()})"
    return f"{held.name} (ended {held.ends_on.isoformat()})"


def _roles(profile: StaffProfile) -> str:
    return "; ".join(_role_text(held) for held in held_roles(profile))


def staff_columns(site: Institution) -> list[Column]:
    columns = [
        Column("Name", lambda profile: profile.user.display_name),
        Column("Email", lambda profile: profile.user.email),
        Column("Job title", lambda profile: profile.job_title),
        Column("Roles", _roles),
    ]
    if site.is_group:
        columns.append(
            Column("Associations", lambda profile: directory_association_summary(profile).text)
        )
    return columns


def staff_table(*, site: Institution, search: str | None) -> Table:
    """The people of the Staff page for ``search``: one query for them and one for their
    roles per ``BATCH_SIZE`` people."""
    profiles = staff_directory(site=site, search=search)
    return Table("staff", staff_columns(site), profiles.iterator(chunk_size=BATCH_SIZE))
