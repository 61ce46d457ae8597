"""``manage.py import_published FILE [FILE...]``: import published (DfE) figures."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.published_import import (
    ENCODING_LABELS,
    PublishedFileError,
    PublishedImportResult,
    published_figures_import,
)


class Command(BaseCommand):
    help = (
        "Import Explore Education Statistics data files (the absence release, the suspensions "
        "and permanent exclusions release, the school census's pupil characteristics and its "
        "SEN figures, key stage 2 and key stage 4 performance: the release is recognised from "
        "the columns) into the published figures of schools and England. "
        "Each file is imported as a whole or not at all; within a file, rows that cannot be "
        "imported are listed with their line number. Only the figures a file holds are written, "
        "and importing the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="Path of an EES CSV file.")

    def handle(self, *args, **options) -> None:
        refused = []
        for path in options["files"]:
            try:
                with open(path, "rb") as stream:
                    result = published_figures_import(stream=stream)
            except OSError as exc:
                refused.append(path)
                self.stderr.write(f"{path}: cannot be read: {exc.strerror or exc}.")
                continue
            except PublishedFileError as exc:
                refused.append(path)
                self.stderr.write(f"{path} was not imported: {exc}")
                continue
            self._summary(path, result)
        if refused:
            raise CommandError(
                f"{len(refused)} of {len(options['files'])} files not imported: "
                + ", ".join(refused)
            )

    def _summary(self, path: str, result: PublishedImportResult) -> None:
        write = self.stdout.write
        write(f"{path}: read as {ENCODING_LABELS[result.encoding]}.")
        write(f"  Releases: {', '.join(result.releases)}")
        write(f"  Figures: {', '.join(result.fields)}")
        write(f"  Rows read: {result.rows_read}")
        write(f"  Schools written: {result.schools_written}")
        write(f"  National rows written: {result.national_rows}")
        write(f"  Skipped: {sum(result.skipped.values())}")
        for reason, rows in result.skipped.items():
            write(f"    {rows} {reason}")
        write(f"  Given twice: {len(result.duplicates)}")
        for duplicate in result.duplicates:
            school = f"URN {duplicate.urn}" if duplicate.urn else "England"
            write(
                f"    line {duplicate.line} replaces line {duplicate.replaced_line} "
                f"({school}, {duplicate.time_period})"
            )
        write(f"  Rejected: {len(result.rejected)}")
        for rejection in result.rejected:
            urn = f" (URN {rejection.urn})" if rejection.urn else ""
            write(f"    line {rejection.line}{urn}: {rejection.reason}")
