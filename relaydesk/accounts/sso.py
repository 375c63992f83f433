"""Who an identity vouched for by the OpenID provider is here.

Staff are matched by their verified email. By default only existing, active accounts may
sign in this way; with `oidc_auto_provision`, a verified email of an allowed domain that
has no account gets one, with `oidc_default_role` (never admin: admins are made by admins).
A provisioned account gets a random password nobody knows, so it signs in through the
provider until an admin sets one.
"""

from __future__ import annotations

import secrets

from sqlmodel import select

from relaydesk.accounts import service as accounts
from relaydesk.accounts.oidc import Identity, SsoError
from relaydesk.core.config import Settings
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict
from relaydesk.core.keys import split_keys
from relaydesk.core.models import Role, StaffUser


def domain_allowed(settings: Settings, email: str) -> bool:
    if not settings.oidc_allowed_domains:
        return True
    domain = email.rpartition("@")[2].lower()
    return domain in {d.lower().lstrip("@") for d in split_keys(settings.oidc_allowed_domains)}


async def _by_email(db: Database, email: str) -> StaffUser | None:
    async with db.read() as session:
        return (
            await session.execute(select(StaffUser).where(StaffUser.email == email))
        ).scalar_one_or_none()


async def staff_for(db: Database, settings: Settings, identity: Identity) -> StaffUser:
    """The active staff member this identity signs in as, or SsoError saying why not."""
    if not domain_allowed(settings, identity.email):
        raise SsoError("this email domain may not sign in here", code="sso_domain_not_allowed")
    user = await _by_email(db, identity.email)
    if user is None and settings.oidc_auto_provision:
        try:
            user = await accounts.create_user(
                db,
                email=identity.email,
                password=secrets.token_urlsafe(32),
                roles=[Role(settings.oidc_default_role)],
                name=identity.name,
            )
        except Conflict:  # two first sign-ins at once: the other one created it
            user = await _by_email(db, identity.email)
    if user is None:
        raise SsoError("no staff account has this email", code="sso_unknown_user")
    if not user.is_active:
        raise SsoError("this account is deactivated", code="sso_account_disabled")
    return user
