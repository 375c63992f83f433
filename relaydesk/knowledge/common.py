"""What every knowledge-base writer shares: who acts, the site's knowledge-base version,
re-indexing after the commit, events, and one get/lock/list path for articles and FAQ entries.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.core.models import Site, StaffUser, utcnow
from relaydesk.knowledge import search
from relaydesk.knowledge.errors import (
    ArticleNotFound,
    FaqEntryNotFound,
    SiteNotFound,
)
from relaydesk.knowledge.models import (
    Article,
    ContentStatus,
    FaqEntry,
    KnowledgeBaseState,
)

ARTICLE_CONTENT = ("title", "body", "locale", "tags", "source_url")
FAQ_CONTENT = ("title", "questions", "answer", "tags", "locale")


@dataclass(frozen=True)
class Actor:
    """Who changes the knowledge base: a staff user, or the system (CLI, demo seeding)."""

    kind: str
    id: str | None = None

    @classmethod
    def staff(cls, user: StaffUser) -> Actor:
        return cls(kind="staff", id=str(user.id))


SYSTEM = Actor(kind="system")
CLI = Actor(kind="system", id="cli")


# The knowledge-base version


async def bump_kb_version(session: AsyncSession, site_id: int) -> int:
    """Increment the site's version inside the caller's transaction; the new value."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    statement = (
        insert(KnowledgeBaseState)
        .values(site_id=site_id, version=1, updated_at=now)
        .on_conflict_do_update(
            index_elements=["site_id"],
            set_={"version": col(KnowledgeBaseState.version) + 1, "updated_at": now},
        )
        .returning(col(KnowledgeBaseState.version))
    )
    return int((await session.execute(statement)).scalar_one())


async def _current_kb_version(session: AsyncSession, site_id: int) -> int:
    version = (
        await session.execute(
            select(KnowledgeBaseState.version).where(KnowledgeBaseState.site_id == site_id)
        )
    ).scalar_one_or_none()
    return int(version or 0)


async def kb_version_after(session: AsyncSession, site_id: int, *, affects: bool) -> int:
    if affects:
        return await bump_kb_version(session, site_id)
    return await _current_kb_version(session, site_id)


async def reindex_entries(
    db: Database, site_id: int, entry_ids: Collection[str], kb_version: int
) -> None:
    if entry_ids:
        await search.get_index_manager().apply(
            db, site_id=site_id, entry_ids=entry_ids, kb_version=kb_version
        )


async def require_site_in(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    if site is None:
        raise SiteNotFound(f"no site {site_id}")
    return site


async def require_site(db: Database, site_id: int) -> Site:
    async with db.read() as session:
        return await require_site_in(session, site_id)


def record(
    session: AsyncSession, payload: event_log.EventPayload, *, site_id: int, actor: Actor
) -> None:
    event_log.record(session, payload, site_id=site_id, actor_kind=actor.kind, actor_id=actor.id)


async def external_id_taken(
    session: AsyncSession,
    model: type[Article] | type[FaqEntry],
    site_id: int,
    external_id: str,
    exclude: int | None,
) -> bool:
    query = select(col(model.id)).where(
        col(model.site_id) == site_id, col(model.external_id) == external_id
    )
    if exclude is not None:
        query = query.where(col(model.id) != exclude)
    return (await session.execute(query)).first() is not None


M = TypeVar("M", Article, FaqEntry)
_NOT_FOUND: dict[type[Any], tuple[type[DomainError], str]] = {
    Article: (ArticleNotFound, "no article {}"),
    FaqEntry: (FaqEntryNotFound, "no FAQ entry {}"),
}


def _missing(model: type[M], row_id: int) -> DomainError:
    error, message = _NOT_FOUND[model]
    return error(message.format(row_id))


async def get_row(db: Database, model: type[M], row_id: int) -> M:
    async with db.read() as session:
        row = await session.get(model, row_id)
    if row is None:
        raise _missing(model, row_id)
    return row


async def lock_row(session: AsyncSession, model: type[M], row_id: int) -> M:
    row = (
        await session.execute(select(model).where(model.id == row_id).with_for_update())
    ).scalar_one_or_none()
    if row is None:
        raise _missing(model, row_id)
    return row


async def list_rows(
    db: Database,
    model: type[M],
    *,
    searched: Sequence[Any],
    order: Sequence[Any],
    site_ids: Collection[int] | None,
    status: ContentStatus | None,
    query: str | None,
    limit: int,
    offset: int,
) -> tuple[list[M], int]:
    """One page of `model` rows of these sites, optionally by status and a text search over
    the `searched` columns, plus the total count."""
    conditions: list[Any] = []
    if site_ids is not None:
        conditions.append(col(model.site_id).in_(list(site_ids)))
    if status is not None:
        conditions.append(model.status == status)
    if query:
        pattern = f"%{query.lower()}%"
        conditions.append(or_(*(func.lower(column).like(pattern) for column in searched)))
    async with db.read() as session:
        total = (
            await session.execute(select(func.count()).select_from(model).where(*conditions))
        ).scalar_one()
        rows = await session.execute(
            select(model).where(*conditions).order_by(*order).limit(limit).offset(offset)
        )
        return list(rows.scalars()), int(total)
