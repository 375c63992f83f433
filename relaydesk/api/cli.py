"""The `relaydesk` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from relaydesk.api.keys_cli import keys_app
from relaydesk.core.cli_options import DataDir
from relaydesk.core.config import get_settings
from relaydesk.core.errors import DomainError

app = typer.Typer(help="Relaydesk: AI customer service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Staff users.", no_args_is_help=True)
sites_app = typer.Typer(help="Sites that embed the widget.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(sites_app, name="sites")
kb_app = typer.Typer(help="Knowledge base: import and reindex.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
analytics_app = typer.Typer(help="Analytics rollups.", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")
app.add_typer(keys_app, name="keys")

from relaydesk.privacy.cli import app as privacy_app  # noqa: E402

app.add_typer(privacy_app, name="privacy")

T = TypeVar("T")

AsJson = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]

if TYPE_CHECKING:
    import uvicorn


def _use_data_dir(data_dir: Path | None) -> None:
    if data_dir is not None:
        os.environ["RELAYDESK_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except DomainError as exc:
        typer.echo(f"error: {exc.message} ({exc.code})", err=True)
        raise typer.Exit(2) from None


def _migrate() -> None:
    from relaydesk.core import migrate

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.effective_database_url)


@app.callback()
def main_options(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder for every command.")
    ] = None,
) -> None:
    _use_data_dir(data_dir)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply all schema migrations."""
    _use_data_dir(data_dir)
    _migrate()
    typer.echo("database is up to date")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    password: Annotated[str, typer.Option(help="At least 8 characters.")],
    role: Annotated[
        list[str], typer.Option(help="admin, supervisor, agent or editor (repeatable).")
    ],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    team: Annotated[list[int] | None, typer.Option(help="Team id (repeatable).")] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Create a staff user."""
    from relaydesk.accounts import service as accounts
    from relaydesk.core import state
    from relaydesk.core.models import Role

    _use_data_dir(data_dir)
    try:
        roles = [Role(r) for r in role]
    except ValueError:
        raise typer.BadParameter(f"roles are {', '.join(Role)}") from None
    _migrate()

    async def create() -> Any:
        async with state.running() as app:
            return await accounts.create_user(
                app.database, email=email, password=password, roles=roles, name=name, team_ids=team
            )

    user = _run(create())
    if as_json:
        typer.echo(json.dumps({"id": user.id, "email": user.email, "roles": user.roles}))
    else:
        typer.echo(f"created user {user.id} <{user.email}> with roles {', '.join(user.roles)}")


@sites_app.command("create")
def sites_create(
    name: Annotated[str, typer.Option(help="The site's name.")],
    origin: Annotated[
        list[str] | None, typer.Option(help="Allowed origin, e.g. https://example.com.")
    ] = None,
    any_origin: Annotated[
        bool, typer.Option(help="Let any website embed the widget (not recommended).")
    ] = False,
    locale: Annotated[str, typer.Option(help="Default locale (en or zh).")] = "en",
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Create a site and print its public site key."""
    from relaydesk.core import state
    from relaydesk.sites import service as sites

    if not origin and not any_origin:
        # An empty allow-list admits no website: say so rather than create a dead site.
        typer.echo(
            "Give the websites that may embed the widget: --origin https://your-site.example "
            "(repeatable), or --any-origin to allow every website.",
            err=True,
        )
        raise typer.Exit(2)
    _use_data_dir(data_dir)
    _migrate()

    async def create() -> Any:
        async with state.running() as app:
            return await sites.create_site(
                app.database,
                name=name,
                allowed_origins=origin,
                allow_any_origin=any_origin,
                default_locale=locale,
            )

    site = _run(create())
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "id": site.id,
                    "site_key": site.site_key,
                    "name": site.name,
                    "allowed_origins": site.allowed_origins,
                }
            )
        )
    else:
        typer.echo(f"created site {site.id} ({site.name}); site key: {site.site_key}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    data_dir: DataDir = None,
    demo: Annotated[bool, typer.Option(help="Create the demo site and staff.")] = True,
) -> None:
    """Migrate, seed the demo (unless --no-demo) and serve HTTP + Socket.IO."""
    import uvicorn

    from relaydesk.api.app import create_app
    from relaydesk.api.demo import seed_demo
    from relaydesk.core import state
    from relaydesk.privacy import files

    _use_data_dir(data_dir)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    # Before anything is created: the database, keys and uploads are owner-only.
    files.secure_install(settings.data_dir, settings.effective_database_url)
    _migrate()
    bind_host, bind_port = host or settings.host, port or settings.port
    base = f"http://{bind_host}:{bind_port}"
    if demo:

        async def seed() -> Any:
            async with state.running(settings) as app:
                return await seed_demo(app.database, settings.data_dir)

        creds = _run(seed())
        typer.echo(
            "\nRelaydesk demo is ready.\n"
            f"  Demo page:    {base}/demo  (the widget, as a visitor sees it)\n"
            f"  Console:      {base}/console\n"
            f"  Demo agent:   {creds.agent_email} / {creds.agent_password}\n"
            f"  Demo admin:   {creds.admin_email} / {creds.admin_password}\n"
            f"  Site key:     {creds.site_key} (site id {creds.site_id})\n"
            f"  API docs:     {base}/docs\n"
            f"  Data folder:  {settings.data_dir.resolve()}\n"
        )
    from relaydesk.knowledge import server_link

    # Lets `relaydesk kb import` on this data dir go through this server (see server_link).
    local_host = "127.0.0.1" if bind_host in ("0.0.0.0", "::", "") else bind_host
    link = server_link.publish(settings.data_dir, f"http://{local_host}:{bind_port}")
    try:
        app = create_app(settings)
        app.app_state.put(server_link.SERVER_TOKEN, link.token)
        uvicorn.Server(server_config(app, bind_host, bind_port)).run()
    finally:
        server_link.withdraw(settings.data_dir, link)


def server_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """How `serve` runs uvicorn: no `server: uvicorn` header (it tells an attacker what to
    try), and X-Forwarded-Proto/For honoured from the proxies uvicorn trusts
    (FORWARDED_ALLOW_IPS, loopback by default) so https is seen behind a TLS proxy."""
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_level="info", server_header=False, proxy_headers=True
    )


def _kb_echo_summary(summary: dict[str, Any], as_json: bool, how: str) -> None:
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(
        f"imported {how}: articles {summary['articles_created']} new, "
        f"{summary['articles_updated']} updated, {summary['articles_unchanged']} unchanged; "
        f"FAQ entries {summary['faq_created']} new, {summary['faq_updated']} updated, "
        f"{summary['faq_unchanged']} unchanged"
    )
    for skipped in summary.get("skipped", []):
        typer.echo(f"  skipped {skipped.get('url') or skipped.get('file')}: {skipped['reason']}")


@kb_app.command("import")
def kb_import(
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders, or an http(s) URL to import.")
    ],
    site: Annotated[int, typer.Option("--site", help="Site id to import into.")],
    draft: Annotated[bool, typer.Option(help="Keep new entries as drafts.")] = False,
    sitemap: Annotated[bool, typer.Option(help="The URL is a sitemap: crawl it.")] = False,
    max_pages: Annotated[int, typer.Option(help="Most pages a sitemap crawl imports.")] = 50,
    skip_bad: Annotated[
        bool, typer.Option(help="Import the good files when some cannot be read.")
    ] = False,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Import Markdown, text, HTML, PDF, DOCX and FAQ (JSONL, CSV) files into a site.

    Published and searchable when the command returns. When a server runs on the data
    dir, the import goes through it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from relaydesk.knowledge import bulk, server_link

    _use_data_dir(data_dir)
    settings = get_settings()
    _migrate()
    try:
        link = server_link.find_server(settings.data_dir)
    except server_link.ServerNotAnswering as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    how = f"through the server at {link.url}" if link else "directly"
    publish = not draft
    try:
        if len(paths) == 1 and paths[0].lower().startswith(("http://", "https://")):
            if link is not None:
                summary = bulk.url_to_server(
                    link,
                    site_id=site,
                    url=paths[0],
                    sitemap=sitemap,
                    max_pages=max_pages,
                    publish=publish,
                )
            else:
                result, _ = bulk.run(
                    bulk.import_url_direct(
                        settings,
                        site_id=site,
                        url=paths[0],
                        sitemap=sitemap,
                        max_pages=max_pages,
                        publish=publish,
                    )
                )
                summary = result.model_dump()
            _kb_echo_summary(summary, as_json, how)
            return
        files = bulk.collect_files([Path(p) for p in paths])
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            transient=True,
            disable=as_json,
        ) as progress:
            task = progress.add_task("reading", total=len(files))

            def advance(name: str) -> None:
                progress.update(task, advance=1, description=f"reading {name[-40:]}")

            batch, contents, errors = bulk.read_and_parse(
                files, skip_bad=skip_bad, progress=advance
            )
            for error in errors:
                typer.echo(f"skipped: {error.message} ({error.code})", err=True)
            if not contents:
                typer.echo("error: no file could be imported", err=True)
                raise typer.Exit(2)
            progress.update(task, description="storing and indexing")
            if link is not None:
                summary = bulk.upload_to_server(
                    link, site_id=site, contents=contents, publish=publish
                )
            else:
                result, _ = bulk.run(
                    bulk.import_direct(settings, site_id=site, batch=batch, publish=publish)
                )
                summary = result.model_dump()
    except (DomainError, bulk.ServerRefused) as exc:
        typer.echo(f"error: {exc.message} ({exc.code})", err=True)
        raise typer.Exit(2) from None
    _kb_echo_summary(summary, as_json, how)


@kb_app.command("reindex")
def kb_reindex(
    site: Annotated[int | None, typer.Option("--site", help="Only this site.")] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Rebuild knowledge indexes from the database (through the server if one runs)."""
    from relaydesk.knowledge import bulk, server_link

    _use_data_dir(data_dir)
    settings = get_settings()
    _migrate()
    try:
        link = server_link.find_server(settings.data_dir)
        if link is not None:
            report = bulk.reindex_on_server(link, site_id=site)
        else:
            report = bulk.run(bulk.reindex_direct(settings, site_id=site))
    except server_link.ServerNotAnswering as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except DomainError as exc:
        typer.echo(f"error: {exc.message} ({exc.code})", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report))
        return
    for item in report["sites"]:
        typer.echo(
            f"site {item['site_id']}: {item['entries']} entries, {item['chunks']} chunks "
            f"({report['mode']})"
        )


def main() -> None:
    app()


@analytics_app.command("backfill")
def analytics_backfill(data_dir: DataDir = None) -> None:
    """Record the events older rows lack, then rebuild the analytics rollups."""
    from relaydesk.analytics.backfill import backfill
    from relaydesk.core import state

    _use_data_dir(data_dir)
    _migrate()

    async def run() -> Any:
        async with state.running() as app:
            return await backfill(app.database)

    result = _run(run())
    typer.echo(json.dumps(result.__dict__))
