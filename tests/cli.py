"""The `relaydesk` command run in this process (typer's CliRunner), for tests of what a
command does rather than of the process it runs in. A real subprocess pays a fresh
interpreter's imports and a migration check, 1.5-2 s of CPU a command; this costs a
fraction of that. The tests of the command as a process (`relaydesk serve`, `--data-dir`
against RELAYDESK_DATA_DIR, exit codes without a traceback) keep real subprocesses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from relaydesk.api.cli import app
from relaydesk.core.config import get_settings


@dataclass
class Ran:
    """What a subprocess.CompletedProcess would say: exit code and the two streams."""

    returncode: int
    stdout: str
    stderr: str


def invoke(*args: str, data_dir: Path) -> Ran:
    # The command points the settings at its data dir through the environment (as a
    # process would for itself): put back what this process had, for the tests after it.
    before = os.environ.get("RELAYDESK_DATA_DIR")
    try:
        result = CliRunner().invoke(
            app, [*args, "--data-dir", str(data_dir)], catch_exceptions=False
        )
    finally:
        if before is None:
            os.environ.pop("RELAYDESK_DATA_DIR", None)
        else:
            os.environ["RELAYDESK_DATA_DIR"] = before
        get_settings.cache_clear()
    return Ran(result.exit_code, result.stdout, result.stderr)
