"""``manage.py import_gias FILE``."""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from institutions.models import Institution
from tests.institutions.test_gias_reader import SAMPLE, good_row, make_csv, sample_header

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def import_gias(path, stdout=None) -> str:
    out = stdout or io.StringIO()
    call_command("import_gias", str(path), "--today", "2026-09-01", stdout=out)
    return out.getvalue()


def test_the_command_prints_the_counts():
    output = import_gias(SAMPLE)
    assert "Read" in output and "cp1252" in output
    assert "Created: 600\n" in output
    assert "Updated: 0\n" in output
    assert "Unchanged: 0\n" in output
    assert "Rejected: 0\n" in output
    assert "Rejected rows" not in output

    again = import_gias(SAMPLE)
    assert "Created: 0\n" in again
    assert "Unchanged: 600\n" in again


def test_the_command_lists_rejected_rows_and_imports_the_rest(tmp_path):
    path = tmp_path / "edubasealldata.csv"
    path.write_bytes(
        make_csv([good_row(URN="100001"), good_row(URN="100002", OpenDate="30-02-2020")])
    )
    output = import_gias(path)
    assert "Created: 1\n" in output
    assert "Rejected: 1\n" in output
    assert "  line 3 (URN 100002): OpenDate “30-02-2020” is not a real date\n" in output
    assert Institution.objects.filter(urn="100001").exists()


def test_progress_is_shown_only_on_a_terminal():
    assert "\rRead" not in import_gias(SAMPLE)
    assert "\rRead 600 rows" in import_gias(SAMPLE, stdout=Terminal())


def test_a_file_that_cannot_be_read_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        import_gias(tmp_path / "missing.csv")
    path = tmp_path / "wrong.csv"
    path.write_bytes(make_csv([good_row()], header=[c for c in sample_header() if c != "URN"]))
    with pytest.raises(CommandError, match="missing these columns: URN"):
        import_gias(path)
    assert not Institution.objects.exists()


def test_the_exit_code_is_non_zero_only_when_the_file_cannot_be_read(tmp_path):
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    missing = subprocess.run(
        [sys.executable, str(manage), "import_gias", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert "Cannot read" in missing.stderr

    # Bad rows are reported, not an error: the command ends normally.
    path = tmp_path / "some-bad-rows.csv"
    path.write_bytes(make_csv([good_row(URN="100001"), good_row(URN="oops")]))
    assert "Rejected: 1" in import_gias(path)
