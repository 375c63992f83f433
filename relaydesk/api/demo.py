"""Demo data, so a fresh `relaydesk serve` has a site, agents and a bot that answers."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import select

from relaydesk.accounts import service as accounts
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict
from relaydesk.core.models import Role, Site, Team
from relaydesk.core.security import new_password
from relaydesk.knowledge.demo import seed_demo_knowledge
from relaydesk.sites import service as sites

DEMO_SITE_KEY = "demo-site"
DEMO_AGENT_EMAIL = "agent@demo.relaydesk.dev"
DEMO_ADMIN_EMAIL = "admin@demo.relaydesk.dev"
# The look of the `/demo` shop page's widget; admins change it in the console.
DEMO_THEME = {
    "color": "#8a5a34",
    "greeting": "Hi! I’m the Juniper & Oak assistant. "
    "Ask me about beans, delivery or your subscription.",
}


@dataclass
class DemoCredentials:
    site_id: int
    site_key: str
    agent_email: str
    agent_password: str
    admin_email: str
    admin_password: str


def _credentials_file(data_dir: Path) -> Path:
    return data_dir / "demo-credentials.json"


async def seed_demo(db: Database, data_dir: Path) -> DemoCredentials:
    """Create the demo site and staff once; later calls return what was created."""
    path = _credentials_file(data_dir)
    async with db.read() as session:
        site = (
            await session.execute(select(Site).where(Site.site_key == DEMO_SITE_KEY))
        ).scalar_one_or_none()
    if site is not None and path.exists():
        assert site.id is not None
        await seed_demo_knowledge(db, site_id=site.id)
        return DemoCredentials(**json.loads(path.read_text()))
    if site is None:
        site = await sites.create_site(
            db,
            name="Relaydesk Demo Help Center",
            site_key=DEMO_SITE_KEY,
            # The demo page is served by this server, at whatever address it runs on.
            allow_any_origin=True,
            default_locale="en",
            theme=DEMO_THEME,
        )
    assert site.id is not None
    async with db.read() as session:
        team = (
            (await session.execute(select(Team).where(Team.site_id == site.id))).scalars().first()
        )
    team_ids = [team.id] if team is not None and team.id is not None else []
    creds = DemoCredentials(
        site_id=site.id,
        site_key=site.site_key,
        agent_email=DEMO_AGENT_EMAIL,
        agent_password=new_password(),
        admin_email=DEMO_ADMIN_EMAIL,
        admin_password=new_password(),
    )
    for email, password, roles, name in (
        (creds.agent_email, creds.agent_password, [Role.AGENT], "Ava Agent"),
        (creds.admin_email, creds.admin_password, [Role.ADMIN], "Demo Admin"),
    ):
        try:
            await accounts.create_user(
                db, email=email, password=password, roles=roles, name=name, team_ids=team_ids
            )
        except Conflict:
            # The user exists from an earlier run whose credential file is gone: reset it.
            await accounts.set_password(db, email=email, password=password)
    _save_credentials(path, creds)
    await seed_demo_knowledge(db, site_id=site.id)
    return creds


def _save_credentials(path: Path, creds: DemoCredentials) -> None:
    # Readable by the owner only: it holds passwords.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(creds.__dict__, handle, indent=2)
