"""`relaydesk keys`: encryption keys at rest (core/crypto.py, core/rotation.py)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from relaydesk.core.cli_options import DataDir

keys_app = typer.Typer(help="Encryption keys at rest.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print progress as JSON lines.")]


def _progress_line(status: dict[str, Any]) -> str:
    parts = [
        f"{name} {entry['done']}{'' if entry['finished'] else '…'}"
        for name, entry in status["progress"].items()
    ]
    state = "finished" if status["finished"] else "running"
    return f"rotation {status['id']} to key {status['target_kid']} ({state}): " + ", ".join(parts)


@keys_app.command("rotate")
def keys_rotate(
    data_dir: DataDir = None,
    as_json: AsJson = False,
    chunk: Annotated[
        int, typer.Option(min=1, max=10_000, help="Rows per transaction (and checkpoint).")
    ] = 200,
) -> None:
    """Make a new key current and re-encrypt everything under it. Safe to interrupt: run
    it again and it resumes. The server keeps serving (and reading every value) meanwhile."""
    from relaydesk.api import cli
    from relaydesk.attachments import service as attachments  # noqa: F401  (its file step)
    from relaydesk.audit import service as audit
    from relaydesk.audit.models import ActorKind, AuditAction
    from relaydesk.core import all_models, rotation, state  # noqa: F401  (every encrypted table)
    from relaydesk.core.db import Database

    cli._use_data_dir(data_dir)
    cli._migrate()

    def report(status: rotation.RotationStatus) -> None:
        data = status.as_dict()
        typer.echo(json.dumps(data) if as_json else _progress_line(data))

    async def record(db: Database, phase: str, status: rotation.RotationStatus) -> None:
        await audit.record(
            db,
            action=AuditAction.KEY_ROTATE,
            actor_kind=ActorKind.CLI,
            target_kind="key",
            target_id=status.target_kid,
            details={"phase": phase, "rotation_id": status.id},
        )

    async def run() -> rotation.RotationStatus:
        async with state.running() as app:
            db = app.database
            status = await rotation.start(db)
            await record(db, "started", status)
            report(status)
            done = await rotation.rotate(db, status, on_progress=report, chunk=chunk)
            await record(db, "finished", done)
            return done

    cli._run(run())


@keys_app.command("status")
def keys_status(data_dir: DataDir = None) -> None:
    """The current key and the latest rotation's progress, as JSON."""
    from relaydesk.api import cli
    from relaydesk.core import crypto, rotation, state

    cli._use_data_dir(data_dir)
    cli._migrate()

    async def run() -> dict[str, Any]:
        async with state.running() as app:
            latest = await rotation.latest(app.database)
        ring = crypto.keyring()
        return {
            "current_kid": ring.current,
            "kids": sorted(ring.keys),
            "source": ring.source,
            "rotation": latest.as_dict() if latest else None,
        }

    typer.echo(json.dumps(cli._run(run())))
