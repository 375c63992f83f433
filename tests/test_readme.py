"""The README documents every setting, and its commands are the ones CI runs."""

from __future__ import annotations

from pathlib import Path

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
