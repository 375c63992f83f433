"""Managing staff and teams: what the admin pages and `/api/v1/users|teams` change.

Kept apart from `service.py` (sign-in, scope lookups) because only admins reach it."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select

from relaydesk.accounts import sessions, tokens
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from relaydesk.core.models import Role, Site, StaffUser, Team, TeamMember
from relaydesk.core.security import hash_password_async, verify_password_async

MIN_PASSWORD = 8


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD} characters", code="weak_password"
        )


async def list_users(db: Database) -> list[StaffUser]:
    async with db.read() as session:
        rows = await session.execute(select(StaffUser).order_by(col(StaffUser.id)))
        return list(rows.scalars())


async def get_user(db: Database, user_id: int) -> StaffUser:
    async with db.read() as session:
        user = await session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("no such user", code="user_not_found")
    return user


async def teams_by_user(db: Database) -> dict[int, list[int]]:
    async with db.read() as session:
        rows = await session.execute(select(TeamMember.user_id, TeamMember.team_id))
        found: dict[int, list[int]] = defaultdict(list)
        for user_id, team_id in rows.all():
            found[user_id].append(team_id)
        return {k: sorted(v) for k, v in found.items()}


async def _other_active_admins(session: AsyncSession, user_id: int) -> int:
    rows = await session.execute(
        select(StaffUser).where(col(StaffUser.is_active), StaffUser.id != user_id)
    )
    return sum(1 for u in rows.scalars() if Role.ADMIN in u.roles)


async def _check_teams(session: AsyncSession, team_ids: list[int]) -> None:
    for team_id in team_ids:
        if await session.get(Team, team_id) is None:
            raise NotFound(f"no team {team_id}", code="team_not_found")


async def update_user(
    db: Database,
    *,
    user_id: int,
    name: str | None = None,
    roles: list[Role] | None = None,
    capacity: int | None = None,
    is_active: bool | None = None,
    team_ids: list[int] | None = None,
) -> StaffUser:
    """Change a user; refuses a change that would leave no active admin, so nobody can
    lock the whole organisation out of the admin pages."""
    async with db.write() as session:
        user = await session.get(StaffUser, user_id)
        if user is None:
            raise NotFound("no such user", code="user_not_found")
        loses_admin = Role.ADMIN in user.roles and (
            (roles is not None and Role.ADMIN not in roles) or is_active is False
        )
        if loses_admin and user.is_active and await _other_active_admins(session, user_id) == 0:
            raise Conflict(
                "this is the last active admin: make someone else admin first",
                code="last_admin",
            )
        if name is not None:
            user.name = name
        if roles is not None:
            if not roles:
                raise InvalidInput("a user needs at least one role", code="invalid_roles")
            user.roles = sorted({Role(r).value for r in roles})
        if capacity is not None:
            user.capacity = capacity
        if is_active is not None:
            if user.is_active and not is_active:
                user.session_version += 1  # reactivating must not revive old tokens
                await session.execute(tokens.revoke_all_statement(user_id))
            user.is_active = is_active
        if team_ids is not None:
            await _check_teams(session, team_ids)
            await session.execute(delete(TeamMember).where(col(TeamMember.user_id) == user_id))
            for team_id in sorted(set(team_ids)):
                session.add(TeamMember(team_id=team_id, user_id=user_id))
        session.add(user)
    if is_active is False or roles is not None or team_ids is not None:
        # Rooms were joined at connect: only a reconnect (or none) reflects the change.
        assert user.id is not None
        await sessions.disconnect_consoles(user.id)
    return user


async def update_profile(
    db: Database,
    *,
    user_id: int,
    name: str | None = None,
    avatar_url: str | None = None,
    clear_avatar: bool = False,
) -> StaffUser:
    async with db.write() as session:
        user = await session.get(StaffUser, user_id)
        if user is None:
            raise NotFound("no such user", code="user_not_found")
        if name is not None:
            user.name = name
        if avatar_url is not None or clear_avatar:
            user.avatar_url = avatar_url
        session.add(user)
    return user


async def change_password(
    db: Database, *, user_id: int, current_password: str, new_password: str
) -> StaffUser:
    check_password_strength(new_password)
    # Hashed before the write transaction: SQLite holds its one writer for the duration.
    new_hash = await hash_password_async(new_password)
    async with db.read() as session:
        current = await session.get(StaffUser, user_id)
    if current is None:
        raise NotFound("no such user", code="user_not_found")
    if not await verify_password_async(current_password, current.password_hash):
        raise Unauthorized("the current password is wrong", code="wrong_password")
    async with db.write() as session:
        user = await session.get(StaffUser, user_id)
        if user is None:
            raise NotFound("no such user", code="user_not_found")
        if user.password_hash != current.password_hash:
            raise Unauthorized("the current password is wrong", code="wrong_password")
        user.password_hash = new_hash
        user.session_version += 1  # every other session signs in with the new password
        session.add(user)
    await sessions.disconnect_consoles(user_id)
    return user


# Teams


async def list_teams(db: Database, *, site_id: int | None = None) -> list[Team]:
    query = select(Team).order_by(col(Team.site_id), col(Team.id))
    if site_id is not None:
        query = query.where(Team.site_id == site_id)
    async with db.read() as session:
        return list((await session.execute(query)).scalars())


async def get_team(db: Database, team_id: int) -> Team:
    async with db.read() as session:
        team = await session.get(Team, team_id)
    if team is None:
        raise NotFound("no such team", code="team_not_found")
    return team


async def members_by_team(db: Database, team_ids: list[int]) -> dict[int, list[StaffUser]]:
    found: dict[int, list[StaffUser]] = {t: [] for t in team_ids}
    if not team_ids:
        return found
    async with db.read() as session:
        rows = await session.execute(
            select(TeamMember.team_id, StaffUser)
            .join(StaffUser, col(StaffUser.id) == col(TeamMember.user_id))
            .where(col(TeamMember.team_id).in_(team_ids))
            .order_by(col(StaffUser.name))
        )
        for team_id, user in rows.all():
            found[team_id].append(user)
    return found


async def create_team(
    db: Database, *, site_id: int, name: str, routing_mode: str | None = None
) -> Team:
    team = Team(site_id=site_id, name=name)
    if routing_mode is not None:
        team.routing_mode = routing_mode
    async with db.write() as session:
        if await session.get(Site, site_id) is None:
            raise NotFound("no such site", code="site_not_found")
        session.add(team)
    return team


async def update_team(
    db: Database, *, team_id: int, name: str | None = None, routing_mode: str | None = None
) -> Team:
    async with db.write() as session:
        team = await session.get(Team, team_id)
        if team is None:
            raise NotFound("no such team", code="team_not_found")
        if name is not None:
            team.name = name
        if routing_mode is not None:
            team.routing_mode = routing_mode
        session.add(team)
    return team


async def add_member(db: Database, *, team_id: int, user_id: int) -> None:
    async with db.write() as session:
        if await session.get(Team, team_id) is None:
            raise NotFound("no such team", code="team_not_found")
        if await session.get(StaffUser, user_id) is None:
            raise NotFound("no such user", code="user_not_found")
        if await session.get(TeamMember, (team_id, user_id)) is None:
            session.add(TeamMember(team_id=team_id, user_id=user_id))


async def remove_member(db: Database, *, team_id: int, user_id: int) -> None:
    async with db.write() as session:
        member = await session.get(TeamMember, (team_id, user_id))
        if member is None:
            raise NotFound("not a member of this team", code="member_not_found")
        await session.delete(member)
