"""Notes and labels: the only code that writes them.

Who may do what is decided here, from the caller's `StaffScope`, so REST and socket
handlers cannot disagree. Fan-out happens after the commit and only to staff: nothing in
this module ever emits on the visitor side.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from relaydesk.collab.models import (
    LABEL_NAME_CHARS,
    ConversationLabel,
    ConversationNote,
    Label,
    LabelPublic,
    NoteAuthor,
    NotePublic,
)
from relaydesk.conversations import service as conversations
from relaydesk.conversations.models import Conversation, ConversationStatus, SenderKind
from relaydesk.conversations.policy import StaffScope, require_view
from relaydesk.conversations.schemas import dump
from relaydesk.core import event_log, realtime
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from relaydesk.core.models import Role, StaffUser
from relaydesk.core.text import clean_text

NOTE_PAGE = 500


class NoteAdded(event_log.EventPayload):
    type: Literal["conversation.note_added"] = "conversation.note_added"
    note_id: str
    chars: int


class LabelsChanged(event_log.EventPayload):
    type: Literal["conversation.labels_changed"] = "conversation.labels_changed"
    added: list[int]
    removed: list[int]


class LabelCreated(event_log.EventPayload):
    type: Literal["label.created"] = "label.created"
    label_id: int
    name: str


class LabelDeleted(event_log.EventPayload):
    type: Literal["label.deleted"] = "label.deleted"
    label_id: int
    name: str
    conversations: int


async def _viewable(db: Database, scope: StaffScope, conversation_id: str) -> Conversation:
    conversation = await conversations.get_conversation(db, conversation_id)
    require_view(scope, conversation)
    return conversation


async def _writable(db: Database, scope: StaffScope, conversation_id: str) -> Conversation:
    conversation = await _viewable(db, scope, conversation_id)
    if not scope.handles_conversations:
        raise Forbidden("your role may not write in conversations")
    return conversation


def _note_public(note: ConversationNote, author: StaffUser | None) -> NotePublic:
    return NotePublic(
        id=note.id,
        conversation_id=note.conversation_id,
        client_id=note.client_id,
        author=NoteAuthor(id=note.author_id, name=author.name if author else None),
        text=note.text,
        created_at=note.created_at,
    )


# Notes


async def add_note(
    db: Database, *, scope: StaffScope, conversation_id: str, client_id: str, text: str
) -> tuple[NotePublic, bool]:
    """Store a private note, or return the one already stored with this `client_id` (a
    resend). Returns the note and whether it was created."""
    conversation = await _writable(db, scope, conversation_id)
    text = clean_text(text, max_chars=get_settings().max_message_chars)
    existing = await _note_by_client_id(db, conversation_id, client_id)
    if existing is not None:
        return existing, False
    note = ConversationNote(
        conversation_id=conversation_id, author_id=scope.user_id, client_id=client_id, text=text
    )
    try:
        async with db.write() as session:
            session.add(note)
            await session.flush()
            event_log.record(
                session,
                NoteAdded(note_id=note.id, chars=len(text)),
                site_id=conversation.site_id,
                conversation_id=conversation_id,
                actor_kind=SenderKind.AGENT,
                actor_id=scope.user_id,
            )
    except IntegrityError:
        # A concurrent resend won the unique (conversation, client_id) race.
        again = await _note_by_client_id(db, conversation_id, client_id)
        if again is None:
            raise
        return again, False
    public = _note_public(note, scope.user)
    await realtime.to_staff_side(conversation_id, "note:new", {"note": dump(public)})
    return public, True


async def _note_by_client_id(
    db: Database, conversation_id: str, client_id: str
) -> NotePublic | None:
    async with db.read() as session:
        row = (
            await session.execute(
                select(ConversationNote, StaffUser)
                .outerjoin(StaffUser, col(StaffUser.id) == col(ConversationNote.author_id))
                .where(
                    col(ConversationNote.conversation_id) == conversation_id,
                    col(ConversationNote.client_id) == client_id,
                )
            )
        ).first()
    return _note_public(row[0], row[1]) if row is not None else None


async def list_notes(db: Database, *, scope: StaffScope, conversation_id: str) -> list[NotePublic]:
    """The conversation's notes, oldest first (the latest `NOTE_PAGE` of them)."""
    await _viewable(db, scope, conversation_id)
    if not scope.handles_conversations:
        raise Forbidden("your role may not read conversations")
    async with db.read() as session:
        rows = (
            await session.execute(
                select(ConversationNote, StaffUser)
                .outerjoin(StaffUser, col(StaffUser.id) == col(ConversationNote.author_id))
                .where(col(ConversationNote.conversation_id) == conversation_id)
                .order_by(col(ConversationNote.created_at).desc(), col(ConversationNote.id))
                .limit(NOTE_PAGE)
            )
        ).all()
    return [_note_public(note, author) for note, author in reversed(rows)]


# Labels


def _require_site(scope: StaffScope, site_id: int) -> None:
    if not scope.is_admin and site_id not in scope.site_ids:
        raise NotFound("no such site", code="site_not_found")


def _require_label_manager(scope: StaffScope, site_id: int) -> None:
    _require_site(scope, site_id)
    if not scope.user.has_role(Role.ADMIN, Role.SUPERVISOR):
        raise Forbidden("only supervisors and admins manage labels")


async def list_labels(
    db: Database, *, scope: StaffScope, site_id: int | None = None
) -> list[LabelPublic]:
    """The labels of one site, or of every site the caller works on."""
    if not scope.handles_conversations:
        raise Forbidden("your role has no inbox")
    query = select(Label).order_by(col(Label.site_id), col(Label.name))
    if site_id is not None:
        _require_site(scope, site_id)
        query = query.where(col(Label.site_id) == site_id)
    elif not scope.is_admin:
        query = query.where(col(Label.site_id).in_(scope.site_ids))
    async with db.read() as session:
        return [LabelPublic.of(label) for label in (await session.execute(query)).scalars()]


async def create_label(
    db: Database, *, scope: StaffScope, site_id: int, name: str, color: str
) -> LabelPublic:
    _require_label_manager(scope, site_id)
    name = " ".join(clean_text(name, max_chars=LABEL_NAME_CHARS, field="name").split())
    label = Label(site_id=site_id, name=name, color=color.lower())
    try:
        async with db.write() as session:
            taken = (
                await session.execute(
                    select(Label).where(col(Label.site_id) == site_id, col(Label.name) == name)
                )
            ).first()
            if taken is not None:
                raise Conflict(f"the site already has a label {name!r}", code="label_exists")
            session.add(label)
            await session.flush()
            assert label.id is not None
            event_log.record(
                session,
                LabelCreated(label_id=label.id, name=name),
                site_id=site_id,
                actor_kind=SenderKind.AGENT,
                actor_id=scope.user_id,
            )
    except IntegrityError as exc:
        raise Conflict(f"the site already has a label {name!r}", code="label_exists") from exc
    public = LabelPublic.of(label)
    await realtime.to_site_staff(site_id, "label:created", {"label": dump(public)})
    return public


async def delete_label(db: Database, *, scope: StaffScope, label_id: int) -> None:
    async with db.read() as session:
        label = await session.get(Label, label_id)
    if label is None:
        raise NotFound("no such label", code="label_not_found")
    try:
        _require_label_manager(scope, label.site_id)
    except NotFound as exc:
        raise NotFound("no such label", code="label_not_found") from exc
    async with db.write() as session:
        labelled = col(ConversationLabel.label_id) == label_id
        removed = (
            await session.execute(
                select(func.count()).select_from(ConversationLabel).where(labelled)
            )
        ).scalar_one()
        await session.execute(delete(ConversationLabel).where(labelled))
        await session.execute(delete(Label).where(col(Label.id) == label_id))
        event_log.record(
            session,
            LabelDeleted(label_id=label_id, name=label.name, conversations=int(removed)),
            site_id=label.site_id,
            actor_kind=SenderKind.AGENT,
            actor_id=scope.user_id,
        )
    await realtime.to_site_staff(
        label.site_id, "label:deleted", {"label_id": label_id, "site_id": label.site_id}
    )


async def labels_of(db: Database, conversation_ids: Iterable[str]) -> dict[str, list[LabelPublic]]:
    """Each conversation's labels, by name."""
    ids = list(set(conversation_ids))
    result: dict[str, list[LabelPublic]] = {cid: [] for cid in ids}
    if not ids:
        return result
    async with db.read() as session:
        rows = await session.execute(
            select(col(ConversationLabel.conversation_id), Label)
            .join(Label, col(Label.id) == col(ConversationLabel.label_id))
            .where(col(ConversationLabel.conversation_id).in_(ids))
            .order_by(col(Label.name))
        )
        for conversation_id, label in rows.all():
            result[conversation_id].append(LabelPublic.of(label))
    return result


async def conversation_labels(
    db: Database, *, scope: StaffScope, conversation_id: str
) -> list[LabelPublic]:
    await _viewable(db, scope, conversation_id)
    return (await labels_of(db, [conversation_id]))[conversation_id]


async def set_labels(
    db: Database, *, scope: StaffScope, conversation_id: str, label_ids: list[int]
) -> list[LabelPublic]:
    """Replace the conversation's labels; every label must belong to its site."""
    conversation = await _writable(db, scope, conversation_id)
    wanted = set(label_ids)
    async with db.write() as session:
        labels = list(
            (await session.execute(select(Label).where(col(Label.id).in_(wanted)))).scalars()
        )
        if len(labels) != len(wanted) or any(
            label.site_id != conversation.site_id for label in labels
        ):
            raise InvalidInput(
                "every label must exist and belong to the conversation's site",
                code="invalid_label",
            )
        current = set(
            (
                await session.execute(
                    select(col(ConversationLabel.label_id)).where(
                        col(ConversationLabel.conversation_id) == conversation_id
                    )
                )
            ).scalars()
        )
        added, removed = sorted(wanted - current), sorted(current - wanted)
        if removed:
            await session.execute(
                delete(ConversationLabel).where(
                    col(ConversationLabel.conversation_id) == conversation_id,
                    col(ConversationLabel.label_id).in_(removed),
                )
            )
        for label_id in added:
            session.add(ConversationLabel(conversation_id=conversation_id, label_id=label_id))
        if added or removed:
            event_log.record(
                session,
                LabelsChanged(added=added, removed=removed),
                site_id=conversation.site_id,
                conversation_id=conversation_id,
                actor_kind=SenderKind.AGENT,
                actor_id=scope.user_id,
            )
    public = sorted((LabelPublic.of(label) for label in labels), key=lambda label: label.name)
    if added or removed:
        await _announce_labels(db, conversation_id, public)
    return public


async def _announce_labels(db: Database, conversation_id: str, labels: list[LabelPublic]) -> None:
    """Staff only, with the audiences of `conversations.announce`: a live conversation is
    the whole site's business; an owned or closed one only its owner's and the leads'."""
    conversation = await conversations.get_conversation(db, conversation_id)
    data = {
        "conversation_id": conversation_id,
        "site_id": conversation.site_id,
        "labels": [dump(label) for label in labels],
    }
    event = "conversation:labels"
    if conversation.status in (ConversationStatus.BOT, ConversationStatus.QUEUED):
        await realtime.to_site_staff(conversation.site_id, event, data)
    else:
        await realtime.to_site_leads(conversation.site_id, event, data)
        if conversation.assignee_id is not None:
            await realtime.to_staff_user(conversation.assignee_id, event, data)
    await realtime.to_staff_side(conversation_id, event, data)
