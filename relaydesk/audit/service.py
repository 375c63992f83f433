"""Writing and reading the audit log.

`record` is the one writer, and there is no function that changes or removes an entry.
Besides the database's triggers, every ORM session refuses to flush a changed or
deleted `AuditEntry` and to run an UPDATE or DELETE statement on the table
(`_guard_*` below), so a bug elsewhere in the app fails loudly instead of rewriting
history.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Delete, Update, event, func
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlmodel import col, select

from relaydesk.audit.models import ActorKind, AuditEntry, AuditEntryPublic
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.core.models import StaffUser


class AppendOnly(DomainError):
    code = "audit_append_only"
    http_status = 409


def _guard_flush(session: Session, _: UOWTransaction, __: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnly("audit log entries cannot be changed or deleted")


def _guard_statement(state: ORMExecuteState) -> None:
    statement = state.statement
    if (
        isinstance(statement, Update | Delete)
        and getattr(statement.table, "name", None) == "audit_log"
    ):
        raise AppendOnly("audit log entries cannot be changed or deleted")


event.listen(Session, "before_flush", _guard_flush)
event.listen(Session, "do_orm_execute", _guard_statement)

_MAX_DETAIL_CHARS = 4000


def client_ip(request: Request | None) -> str | None:
    """The peer's address as the server sees it (behind a proxy, uvicorn's
    --forwarded-allow-ips decides whether that is the proxy or the client)."""
    return request.client.host if request is not None and request.client else None


def _request_ip(request: Request) -> str | None:
    return client_ip(request)


ClientIp = Annotated[str | None, Depends(_request_ip)]


def _bounded(details: dict[str, Any] | None) -> dict[str, Any]:
    """Details are for people reading the log; a huge value (a pasted origin list) is cut
    rather than allowed to bloat an append-only table."""
    out: dict[str, Any] = {}
    for key, value in (details or {}).items():
        text = repr(value)
        out[str(key)[:64]] = value if len(text) <= _MAX_DETAIL_CHARS else text[:_MAX_DETAIL_CHARS]
    return out


async def record(
    db: Database,
    *,
    action: str,
    actor: StaffUser | None = None,
    actor_kind: ActorKind | None = None,
    actor_id: int | None = None,
    actor_email: str | None = None,
    site_id: int | None = None,
    target_kind: str | None = None,
    target_id: str | int | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Pass the staff `actor`, or `actor_kind` CLI/SYSTEM for commands
    and background jobs (and `actor_email` alone for a failed sign-in, which has no user)."""
    if actor is not None:
        actor_id, actor_email = actor.id, actor.email
    kind = actor_kind or (ActorKind.STAFF if actor_id or actor_email else ActorKind.SYSTEM)
    entry = AuditEntry(
        actor_kind=kind,
        actor_id=actor_id,
        actor_email=(actor_email or None) and actor_email[:320],
        action=action,
        site_id=site_id,
        target_kind=target_kind,
        target_id=None if target_id is None else str(target_id)[:64],
        ip=ip[:64] if ip else None,
        details=_bounded(details),
    )
    async with db.write() as session:
        session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    actor_email: str | None = None
    action: str | None = None
    site_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Any) -> Any:
        if self.actor_id is not None:
            query = query.where(col(AuditEntry.actor_id) == self.actor_id)
        if self.actor_email:
            query = query.where(
                func.lower(col(AuditEntry.actor_email)) == self.actor_email.strip().lower()
            )
        if self.action:
            # "user" matches every "user.*" action; "user.roles" only itself.
            query = query.where(
                (col(AuditEntry.action) == self.action)
                | col(AuditEntry.action).startswith(self.action.rstrip(".") + ".", autoescape=True)
            )
        if self.site_id is not None:
            query = query.where(col(AuditEntry.site_id) == self.site_id)
        if self.since is not None:
            query = query.where(col(AuditEntry.created_at) >= self.since)
        if self.until is not None:
            query = query.where(col(AuditEntry.created_at) < self.until)
        return query


async def list_entries(
    db: Database, *, where: AuditFilter, limit: int = 50, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """One page, newest first, and how many entries match in all."""
    async with db.read() as session:
        total = (
            await session.execute(where.apply(select(func.count()).select_from(AuditEntry)))
        ).scalar_one()
        rows = (
            await session.execute(
                where.apply(select(AuditEntry))
                .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
                .limit(limit)
                .offset(offset)
            )
        ).scalars()
        return list(rows), int(total)


async def iter_entries(
    db: Database, *, where: AuditFilter, chunk: int = 1000
) -> AsyncIterator[AuditEntry]:
    """Every matching entry, newest first, read in chunks by id (keyset: no offset scan)."""
    before: int | None = None
    while True:
        query = where.apply(select(AuditEntry))
        if before is not None:
            query = query.where(col(AuditEntry.id) < before)
        async with db.read() as session:
            rows = list(
                (
                    await session.execute(query.order_by(col(AuditEntry.id).desc()).limit(chunk))
                ).scalars()
            )
        for row in rows:
            yield row
        if len(rows) < chunk:
            return
        before = rows[-1].id


CSV_COLUMNS = (
    "id",
    "created_at",
    "actor_kind",
    "actor_id",
    "actor_email",
    "action",
    "site_id",
    "target_kind",
    "target_id",
    "ip",
    "details",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection):
# a visitor-chosen or staff-chosen string such as a name could then reach the reader's
# machine. Such cells get a leading apostrophe, which spreadsheets show as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(v) for v in values])
    return out.getvalue()


def csv_row(entry: AuditEntry) -> str:
    data = AuditEntryPublic.of(entry).model_dump(mode="json")
    data["details"] = json.dumps(data["details"], ensure_ascii=False, sort_keys=True)
    return csv_line([data[c] for c in CSV_COLUMNS])


async def csv_lines(db: Database, *, where: AuditFilter) -> AsyncIterator[str]:
    yield csv_line(list(CSV_COLUMNS))
    async for entry in iter_entries(db, where=where):
        yield csv_row(entry)
