"""Every module of the package imports, and every third-party module it imports is a
declared dependency: the environment the README builds (`pip install .`) has nothing else.

`scripts/test` runs the suite against the installed wheel with RELAYDESK_TEST_INSTALLED=1;
then the first test also checks that `relaydesk` really came from site-packages."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import os
import pkgutil
import re
import sys
import tomllib
from pathlib import Path

import pytest

import relaydesk

REPO = Path(__file__).resolve().parent.parent
PACKAGE = Path(relaydesk.__file__).resolve().parent
# `__main__` runs the CLI when imported; Alembic loads the migration scripts by path.
NOT_IMPORTABLE = ("relaydesk.__main__", "relaydesk.migrations.env", "relaydesk.migrations.versions")


def _modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(relaydesk.__path__, prefix="relaydesk.")
        if not info.name.startswith(NOT_IMPORTABLE)
    ]
    assert len(names) > 100, names  # the walk found the package, not an empty folder
    return sorted(names)


def test_tests_run_against_the_installed_package() -> None:
    if os.environ.get("RELAYDESK_TEST_INSTALLED") != "1":
        pytest.skip("scripts/test sets RELAYDESK_TEST_INSTALLED=1 for its installed wheel")
    assert PACKAGE != REPO / "relaydesk", "relaydesk was imported from the checkout"
    assert PACKAGE.parent.name == "site-packages", PACKAGE
    assert Path(sys.prefix).resolve() in PACKAGE.parents, (PACKAGE, sys.prefix)
    assert sys.prefix != sys.base_prefix, "scripts/test runs pytest inside its own venv"


@pytest.mark.parametrize("name", _modules())
def test_every_module_imports(name: str) -> None:
    importlib.import_module(name)


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level name -> files of the package importing it (lazy imports included)."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "relaydesk" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(PACKAGE.parent)))
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    """Distribution names in `[project] dependencies` (not the dev extra)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {
        _canonical(re.split(r"[\s<>=!~;\[@]", spec, maxsplit=1)[0])
        for spec in project["dependencies"]
    }


def test_every_third_party_import_is_a_declared_dependency() -> None:
    provided_by = importlib.metadata.packages_distributions()
    declared = _declared()
    undeclared = {}
    for top, files in sorted(_third_party_imports().items()):
        distributions = {_canonical(d) for d in provided_by.get(top, [])}
        if not distributions & declared:
            undeclared[top] = (sorted(distributions) or ["not installed"], sorted(files)[:3])
    assert undeclared == {}, f"add these to [project] dependencies in pyproject.toml: {undeclared}"
