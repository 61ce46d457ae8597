"""``manage.py import_gias FILE``: import the register's establishment export."""

import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from institutions.register_import import RegisterFileError, register_import
from matmis.db_roles import owner_role
from matmis.text_files import ENCODING_LABELS


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--today must be a date like 2026-09-01, not {value!r}.") from exc


class Command(BaseCommand):
    help = (
        "Import the national register's establishment export (GIAS edubasealldata CSV): "
        "create and update schools, trusts and local authorities and their memberships. "
        "Rows that cannot be imported are listed with their line number; the rest are "
        "imported. Nothing is ever deleted, and a second run of the same file changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the CSV file (cp1252 or UTF-8).")
        parser.add_argument(
            "--today",
            type=_date,
            default=None,
            help="Date memberships start and end on (YYYY-MM-DD; default: today).",
        )

    def handle(self, *args, **options) -> None:
        path = options["file"]
        show_progress = self.stdout.isatty()

        def progress(rows_read: int) -> None:
            self.stdout.write(f"\rRead {rows_read:,} rows", ending="")
            self.stdout.flush()

        try:
            # As the tables' owner, like migrate: a first import may then rebuild the
            # name index and membership keys after loading (register_import._bulk_load).
            with open(path, "rb") as stream, owner_role():
                result = register_import(
                    stream=stream,
                    today=options["today"],
                    progress=progress if show_progress else None,
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        except RegisterFileError as exc:
            raise CommandError(f"{path} was not imported: {exc}") from exc
        if show_progress:
            self.stdout.write("")

        write = self.stdout.write
        write(f"Read {path} as {ENCODING_LABELS[result.encoding]}.")
        write(f"Created: {result.created}")
        write(f"Updated: {result.updated}")
        write(f"Unchanged: {result.unchanged}")
        write(f"Rejected: {len(result.rejected)}")
        write(
            f"Trusts and local authorities: {result.groups_created} created, "
            f"{result.groups_updated} renamed"
        )
        write(
            f"Memberships: {result.memberships_started} started, {result.memberships_ended} ended"
        )
        if result.rejected:
            write("Rejected rows:")
            for rejection in result.rejected:
                urn = f" (URN {rejection.urn})" if rejection.urn else ""
                write(f"  line {rejection.line}{urn}: {rejection.reason}")
