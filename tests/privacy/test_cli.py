"""`relaydesk privacy ...` as an operator runs it, on a real data dir: the commands in this
process (tests/cli.py), and a real subprocess for the exit code of a refused one."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.cli import invoke

CLI = [sys.executable, "-m", "relaydesk"]


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )


def test_retention_and_purge_commands(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    created = invoke(
        "sites", "create", "--name", "Acme", "--any-origin", "--json", data_dir=data_dir
    )
    assert created.returncode == 0, created.stderr
    site_id = json.loads(created.stdout)["id"]

    set_days = invoke(
        "privacy", "retention", "--site", str(site_id), "--days", "30", data_dir=data_dir
    )
    assert set_days.returncode == 0, set_days.stderr
    assert json.loads(set_days.stdout) == {"site_id": site_id, "retention_days": 30}

    dry = invoke("privacy", "purge", "--dry-run", data_dir=data_dir)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {
        "dry_run": True,
        "files": 0,
        "sites": {str(site_id): {"attachment": 0, "conversation": 0, "message": 0}},
    }
    real = invoke("privacy", "purge", data_dir=data_dir)
    assert real.returncode == 0, real.stderr
    assert json.loads(real.stdout)["dry_run"] is False

    # As a process: a refusal exits 2 with the reason, not a traceback.
    missing = run("privacy", "export", "0" * 32, data_dir=data_dir)
    assert missing.returncode == 2
    assert "visitor_not_found" in missing.stderr and "Traceback" not in missing.stderr
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "relaydesk.db").stat().st_mode) == 0o600
