"""Command-line options every `relaydesk` sub-command shares, declared once so that the main
CLI (api/cli.py), `keys` and `privacy` read the data folder the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data folder (default ./relaydesk-data or RELAYDESK_DATA_DIR).",
        envvar="RELAYDESK_DATA_DIR",
    ),
]
