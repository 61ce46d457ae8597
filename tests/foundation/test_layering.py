"""The layout the import contracts (``[tool.importlinter]`` in pyproject.toml, run by
scripts/test) cannot express: what the kernel may import from the foundation, and no
project import hiding inside a function without saying why."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "matmis",
    "institutions",
    "accounts",
    "notifications",
    "sharing",
    "mis",
    "analytics",
    "hop",
    "networks",
    "thirdparty",
    "portal",
)
# From the foundation the kernel imports the site model and the permission function only.
KERNEL_MAY_IMPORT = {"institutions.models", "accounts.permissions"}


def _sources(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text(), filename=str(path))


def _project_imports(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        names = [node.module]
    else:
        return []
    return [name for name in names if name.split(".")[0] in APPS]


def test_the_kernel_imports_only_the_site_model_and_the_permission_function():
    reached = {
        f"{path.relative_to(ROOT)}:{node.lineno} {name}"
        for path, tree in _sources("matmis")
        for node in ast.walk(tree)
        for name in _project_imports(node)
        if not name.startswith("matmis") and name not in KERNEL_MAY_IMPORT
    }
    assert reached == set()


def _function_imports(tree: ast.AST):
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if node is not function and _project_imports(node):
                    yield node


@pytest.mark.parametrize("app", APPS)
def test_no_project_import_inside_a_function_without_a_comment_saying_why(app):
    silent = []
    for path, tree in _sources(app):
        lines = path.read_text().splitlines()
        for node in _function_imports(tree):
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            same = lines[node.lineno - 1]
            if not above.startswith("#") and "#" not in same:
                silent.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert silent == []


def test_no_two_apps_import_each_other_directly_except_inside_the_foundation():
    """Cycles between apps: none among the feature apps and the roof. (The foundation's
    three apps share one layer of the contracts; accounts and institutions refer to
    each other's models.)"""
    edges = {
        (app, name.split(".")[0])
        for app in APPS
        for _, tree in _sources(app)
        for node in ast.walk(tree)
        for name in _project_imports(node)
        if name.split(".")[0] != app
    }
    foundation = {"matmis", "accounts", "institutions"}
    cycles = {
        tuple(sorted(edge))
        for edge in edges
        if (edge[1], edge[0]) in edges and not set(edge) <= foundation
    }
    assert cycles == set()
