"""scripts/run's progress while installing: pip's output becomes one line per package
fetched and one for the install, and an error is shown in full."""

import subprocess
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "scripts" / "lib.sh"


def _pip_progress(pip_output: str) -> str:
    return subprocess.run(
        ["bash", "-c", f'. "{LIB}"; pip_progress'],
        input=pip_output,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_each_package_fetched_is_a_progress_line():
    out = _pip_progress(
        "Collecting Django==6.1 (from -r requirements.lock (line 12))\n"
        "  Downloading django-6.1-py3-none-any.whl (8.3 MB)\n"
        "Collecting celery==5.5.0 (from -r requirements.lock (line 5))\n"
        "  Using cached celery-5.5.0-py3-none-any.whl\n"
        "Installing collected packages: Django, celery\n"
        "Successfully installed Django-6.1 celery-5.5.0\n"
    )
    assert out.splitlines() == [
        "    fetching Django==6.1 (from -r requirements.lock (line 12))",
        "    fetching celery==5.5.0 (from -r requirements.lock (line 5))",
        "    installing the packages into .venv",
        "    installed",
    ]


def test_an_error_is_shown_in_full():
    out = _pip_progress(
        "Collecting Django==6.1\n"
        "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n"
        "    Django==6.1 from https://example.invalid/django.whl:\n"
        "        Expected sha256 abc\n"
    )
    assert "    Django==6.1 from https://example.invalid/django.whl:" in out
    assert "        Expected sha256 abc" in out


def test_the_run_command_prints_the_mail_page_and_announces_slow_steps():
    run = (LIB.parent / "run").read_text()
    assert "emails sent: http://localhost:$PORT/mail/" in run
    assert 'say "Loading demo data (most of a minute the first time' in run
