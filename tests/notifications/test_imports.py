"""The outbox sits below the apps: ``notifications`` imports no feature app, only the
kernel (``matmis``) and the register's models. Apps reach it, never the other way round
(their emails are built by the builders they register)."""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PACKAGE = ROOT / "notifications"
ALLOWED = ("matmis", "institutions.models")
# Project packages, and those the layout plans (STYLE.md): none may be imported here.
PLANNED = {"portal", "hop", "apps", "networks"}


def first_party() -> set[str]:
    found = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    return (found | PLANNED) - {"notifications"}


def imported_names(path: Path):
    """Every name ``path`` imports, anywhere in it (functions included), in full, with its
    line: ``from institutions import models`` is ``institutions.models``. Relative imports
    stay inside the package."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


def allowed(name: str) -> bool:
    return any(name == root or name.startswith(f"{root}.") for root in ALLOWED)


def test_notifications_imports_no_feature_app():
    project = first_party()
    assert {"sharing", "mis", "analytics", "accounts", "institutions"} <= project
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 5
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in files
        for name, line in imported_names(path)
        if name.split(".")[0] in project and not allowed(name)
    ]
    assert offending == []


def test_the_walk_finds_an_import_hidden_in_a_function(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom matmis.celery import app\nfrom institutions import selectors\n\n"
        "def later():\n    from sharing.models import AgreementRequest\n    import mis.rollups\n"
    )
    names = {name for name, _line in imported_names(sample)}
    assert names == {
        "os",
        "matmis.celery.app",
        "institutions.selectors",
        "sharing.models.AgreementRequest",
        "mis.rollups",
    }
    assert [name for name in sorted(names) if not allowed(name) and name != "os"] == [
        "institutions.selectors",
        "mis.rollups",
        "sharing.models.AgreementRequest",
    ]
    assert allowed("institutions.models.Institution")
