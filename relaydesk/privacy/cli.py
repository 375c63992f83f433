"""`relaydesk privacy ...`: retention purge and visitor requests from the command line
(run by an operator on the host; audited as the `cli` actor)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from relaydesk.core.cli_options import DataDir
from relaydesk.core.config import get_settings
from relaydesk.privacy import files

app = typer.Typer(
    help="Privacy: retention purge, visitor export and erasure.", no_args_is_help=True
)


# The domain modules are imported inside the commands: `relaydesk --help` and every other
# command stay quick to start.


def _prepare(data_dir: Path | None) -> None:
    """Owner-only files, and the schema up to date (as every other command does)."""
    from relaydesk.core import migrate

    if data_dir is not None:
        os.environ["RELAYDESK_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    settings = get_settings()
    files.secure_install(settings.data_dir, settings.effective_database_url)
    migrate.upgrade(settings.effective_database_url)


async def _with_db(work: Any) -> Any:
    from relaydesk.core import state

    async with state.running() as app:
        return await work(app.database)


def _run(work: Any) -> Any:
    """Run against the database; a refusal (no such visitor) is one line and exit code 2."""
    from relaydesk.core.errors import DomainError

    try:
        return asyncio.run(_with_db(work))
    except DomainError as exc:
        typer.echo(f"error: {exc.message} ({exc.code})", err=True)
        raise typer.Exit(2) from None


@app.command("purge")
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Apply every site's retention period now (the server also does it hourly)."""
    from relaydesk.audit.models import ActorKind
    from relaydesk.privacy import service

    _prepare(data_dir)
    result = _run(lambda db: service.purge(db, dry_run=dry_run, actor_kind=ActorKind.CLI))
    typer.echo(json.dumps(result.as_dict(), sort_keys=True))


@app.command("export")
def export(
    visitor_id: Annotated[str, typer.Argument(help="The visitor's id.")],
    data_dir: DataDir = None,
) -> None:
    """Export one visitor's data; prints the receipt (the zip is under data/exports/)."""
    from relaydesk.privacy import requests
    from relaydesk.privacy.schemas import ReceiptPublic

    _prepare(data_dir)
    receipt = _run(lambda db: requests.export_visitor(db, visitor_id=visitor_id, actor=None))
    typer.echo(ReceiptPublic.of(receipt).model_dump_json())


@app.command("delete")
def delete(
    visitor_id: Annotated[str, typer.Argument(help="The visitor's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Erase one visitor and all their data; prints the receipt."""
    from relaydesk.privacy import requests
    from relaydesk.privacy.schemas import ReceiptPublic

    if not yes:
        typer.confirm(f"Erase visitor {visitor_id} and all their data?", abort=True)
    _prepare(data_dir)
    receipt = _run(lambda db: requests.delete_visitor(db, visitor_id=visitor_id, actor=None))
    typer.echo(ReceiptPublic.of(receipt).model_dump_json())


@app.command("retention")
def retention(
    site: Annotated[int, typer.Option(help="Site id.")],
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="Days of inactivity; omit to keep forever."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Set a site's retention period (audited as the command line)."""
    from relaydesk.privacy import service

    _prepare(data_dir)
    _run(lambda db: service.set_retention(db, site_id=site, days=days, actor=None, ip=None))
    typer.echo(json.dumps({"site_id": site, "retention_days": days}))
