"""The README documents every setting, and its commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from relaydesk.api.demo import DEMO_SITE_KEY
from relaydesk.core.config import Settings

REPO = Path(__file__).resolve().parent.parent


def test_every_setting_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [n for n in Settings.model_fields if f"`RELAYDESK_{n.upper()}`" not in readme]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "./scripts/test" in readme and ci.strip().endswith("./scripts/test")
    assert "relaydesk serve" in readme


def _layout_table(readme: str) -> str:
    section = readme.split("## Layout", 1)[1]
    return section.split("\n## ", 1)[0]


def test_the_layout_table_names_every_package_folder_and_no_other() -> None:
    table = _layout_table((REPO / "README.md").read_text())
    folders = {
        p.name
        for p in (REPO / "relaydesk").iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    }
    listed = set(re.findall(r"`relaydesk/([a-z_]+)/`", table))
    assert folders - listed == set(), "add these folders to the README's Layout table"
    assert listed - folders == set(), "the README's Layout table lists folders that do not exist"


def test_the_embed_snippet_uses_the_demo_site_key() -> None:
    readme = (REPO / "README.md").read_text()
    keys = re.findall(r'data-site-key="([^"]+)"', readme)
    assert keys and set(keys) == {DEMO_SITE_KEY}


def test_the_readme_asks_for_a_virtual_environment_and_an_absolute_model_path() -> None:
    readme = (REPO / "README.md").read_text()
    assert "python3 -m venv" in readme
    paths = re.findall(r"RELAYDESK_EMBEDDING_MODEL_DIR=(\S+)", readme)
    assert paths and all(p.startswith("/") for p in paths), paths
