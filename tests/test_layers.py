"""Data flows one way (DESIGN.md, docs/architecture.md): each package imports only `core/`
and the domains below it, and nothing but the entry point imports the app package `api/`.
Lower layers learn about changes through hooks, never by importing the layers above.

The check reads every module's imports with `ast` (lazy imports inside functions count too),
so an upward import fails here before it becomes an import cycle or a tangle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import relaydesk

PACKAGE = Path(relaydesk.__file__).resolve().parent

# Lowest first. A package may import its own modules, `core`, and any package of a lower
# layer; packages of the same layer may import each other.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core"}),
    frozenset({"audit"}),
    frozenset({"accounts", "sites", "migrations", "testing"}),
    frozenset({"conversations"}),
    frozenset({"knowledge", "routing", "canned", "collab", "attachments"}),
    frozenset({"bot"}),
    frozenset({"admin", "widget", "agents_console", "analytics", "privacy"}),
    frozenset({"api"}),
    frozenset({"__main__"}),
)

# The few imports that point up, each with its reason. Adding to this list needs one.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    # Alembic and the test databases need every table registered on one metadata.
    **{
        ("relaydesk.core.all_models", f"relaydesk.{package}"): "the table registry"
        for package in (
            "accounts",
            "analytics",
            "attachments",
            "audit",
            "bot",
            "canned",
            "collab",
            "conversations",
            "knowledge",
            "privacy",
            "routing",
        )
    },
    # The request dependencies resolve the signed-in user; accounts sits just above core.
    ("relaydesk.core.deps", "relaydesk.accounts"): "the signed-in staff user",
    # Revoking a session closes its sockets, whose tracker lives with routing (lazy import).
    ("relaydesk.accounts.sessions", "relaydesk.routing"): "disconnect revoked consoles",
    # The analytics page renders inside the console's page shell.
    ("relaydesk.analytics.page", "relaydesk.agents_console"): "the console page shell",
}


def _rank(package: str) -> int:
    for rank, layer in enumerate(LAYERS):
        if package in layer:
            return rank
    raise AssertionError(f"relaydesk/{package} is in no layer: add it to LAYERS")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every `relaydesk.…` module the file imports, relative imports resolved."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from relaydesk import bot` names a package, not an attribute.
            if target == "relaydesk":
                found.update(f"relaydesk.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("relaydesk.")}


def _edges() -> list[tuple[str, str]]:
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "versions" in path.parts:  # migration scripts are loaded by Alembic, by path
            continue
        module = _module_name(path)
        edges.extend((module, target) for target in sorted(_imports(path, module)))
    return edges


def _package(module: str) -> str:
    return module.split(".")[1]


def _allowed(source: str, target: str) -> bool:
    return any(
        source == allowed_source
        and (target == allowed_target or target.startswith(allowed_target + "."))
        for allowed_source, allowed_target in ALLOWED_UPWARD
    )


def test_the_walk_finds_the_imports() -> None:
    edges = _edges()
    assert len(edges) > 500, len(edges)
    assert ("relaydesk.api.app", "relaydesk.core.config") in edges


def test_no_package_imports_one_above_it() -> None:
    upward = [
        f"{source} imports {target}"
        for source, target in _edges()
        if source.count(".") >= 1
        and _rank(_package(target)) > _rank(_package(source))
        and not _allowed(source, target)
    ]
    assert upward == [], "\n".join(upward)


def test_only_the_entry_point_imports_the_app_package() -> None:
    importers = sorted(
        source
        for source, target in _edges()
        if _package(target) == "api" and _package(source) not in {"api", "__main__"}
    )
    assert importers == []


def test_every_exception_is_still_needed() -> None:
    edges = _edges()
    stale = [
        pair
        for pair in ALLOWED_UPWARD
        if not any(
            source == pair[0] and (target == pair[1] or target.startswith(pair[1] + "."))
            for source, target in edges
        )
    ]
    assert stale == []


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("relaydesk.routing.assign", "relaydesk.bot.turn"),
        ("relaydesk.bot.turn", "relaydesk.api.app"),
    ],
)
def test_an_upward_import_is_caught(source: str, target: str) -> None:
    assert _rank(_package(target)) > _rank(_package(source))
    assert not _allowed(source, target)


# What the app holds while it runs is on its app state (core/state.py), not in module
# globals that tests must reset. The few `global` statements left, each with its reason.
# Adding to this list needs one.
GLOBALS_ALLOWED: dict[str, str] = {
    "relaydesk.core.state": "the app state installed in this process",
    "relaydesk.core.gc_policy": "the garbage collector's thresholds are per process",
    "relaydesk.core.models": "the clock tests and benchmarks drive (set_clock)",
    "relaydesk.conversations.hooks": "the hook runs of the running event loop",
    "relaydesk.routing.connections": "the connection tracker of the running event loop",
    "relaydesk.knowledge.retrieval.execution": "BLAS threads are limited once per process",
}


def _modules_with_globals() -> set[str]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        if "versions" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.Global) for node in ast.walk(tree)):
            found.add(_module_name(path))
    return found


def test_no_new_module_globals() -> None:
    assert _modules_with_globals() - set(GLOBALS_ALLOWED) == set(), (
        "hold it on the app state (core/state.py: a field or a Slot) instead"
    )


def test_every_allowed_global_is_still_there() -> None:
    assert set(GLOBALS_ALLOWED) - _modules_with_globals() == set()
