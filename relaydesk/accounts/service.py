"""Staff users, teams and authentication."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from relaydesk.accounts import sessions
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from relaydesk.core.models import Role, StaffUser, Team, TeamMember
from relaydesk.core.security import hash_password, hash_password_async, verify_password_async

# Verifying against a real hash when the email is unknown keeps the response time the same,
# so login timing does not reveal which emails have accounts.
_DUMMY_HASH = hash_password("relaydesk-timing-equaliser")


def _normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        raise InvalidInput(f"not an email address: {email!r}", code="invalid_email")
    return email


async def create_user(
    db: Database,
    *,
    email: str,
    password: str,
    roles: list[Role],
    name: str | None = None,
    team_ids: list[int] | None = None,
) -> StaffUser:
    email = _normalise_email(email)
    if len(password) < 8:
        raise InvalidInput("password must have at least 8 characters", code="weak_password")
    if not roles:
        raise InvalidInput("a user needs at least one role", code="invalid_roles")
    user = StaffUser(
        email=email,
        name=(name or email.split("@")[0]).strip()[:200],
        password_hash=await hash_password_async(password),
        roles=[Role(r).value for r in roles],
    )
    async with db.write() as session:
        if (
            await session.execute(select(StaffUser).where(StaffUser.email == email))
        ).scalar_one_or_none():
            raise Conflict(f"a user with email {email} exists", code="email_taken")
        session.add(user)
        await session.flush()
        assert user.id is not None
        for team_id in team_ids or []:
            if await session.get(Team, team_id) is None:
                raise NotFound(f"no team {team_id}", code="team_not_found")
            session.add(TeamMember(team_id=team_id, user_id=user.id))
    return user


async def authenticate(db: Database, *, email: str, password: str) -> StaffUser:
    async with db.read() as session:
        user = (
            await session.execute(select(StaffUser).where(StaffUser.email == email.strip().lower()))
        ).scalar_one_or_none()
    if user is None:
        await verify_password_async(password, _DUMMY_HASH)
        raise Unauthorized("wrong email or password", code="bad_credentials")
    if not await verify_password_async(password, user.password_hash) or not user.is_active:
        raise Unauthorized("wrong email or password", code="bad_credentials")
    return user


async def get_active_user(
    db: Database, user_id: int, claims: dict[str, Any] | None = None
) -> StaffUser:
    """The user, if active; with a token's `claims`, also if that token was not revoked."""
    async with db.read() as session:
        user = await session.get(StaffUser, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("the account no longer exists or is disabled", code="invalid_token")
    if claims is not None:
        sessions.check_version(user, claims)
    return user


async def team_ids_of(db: Database, user_id: int) -> list[int]:
    async with db.read() as session:
        rows = await session.execute(
            select(TeamMember.team_id).where(TeamMember.user_id == user_id)
        )
        return [row for row in rows.scalars()]


async def site_ids_of(db: Database, user_id: int) -> list[int]:
    async with db.read() as session:
        rows = await session.execute(
            select(Team.site_id)
            .join(TeamMember, col(TeamMember.team_id) == col(Team.id))
            .where(TeamMember.user_id == user_id)
            .distinct()
        )
        return [row for row in rows.scalars()]


async def teams_of_site(db: Database, site_id: int) -> list[Team]:
    async with db.read() as session:
        rows = await session.execute(select(Team).where(Team.site_id == site_id))
        return list(rows.scalars())


async def add_team_member(db: Database, *, team_id: int, user_id: int) -> None:
    async with db.write() as session:
        if await session.get(TeamMember, (team_id, user_id)) is None:
            session.add(TeamMember(team_id=team_id, user_id=user_id))


async def set_password(db: Database, *, email: str, password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("password must have at least 8 characters", code="weak_password")
    new_hash = await hash_password_async(password)
    async with db.write() as session:
        user = (
            await session.execute(
                select(StaffUser).where(StaffUser.email == _normalise_email(email))
            )
        ).scalar_one_or_none()
        if user is None:
            raise NotFound(f"no user {email}", code="user_not_found")
        user.password_hash = new_hash
        user.session_version += 1
