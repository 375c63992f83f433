"""REST for notes and labels: thin wrappers over `relaydesk.collab.service`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from relaydesk.collab import service
from relaydesk.collab import strings as _strings  # noqa: F401  (registers console strings)
from relaydesk.collab.models import LabelCreate, LabelPublic, LabelsUpdate, NoteCreate, NotePublic
from relaydesk.conversations.policy import load_scope
from relaydesk.core.deps import CurrentUser, DbDep

router = APIRouter(prefix="/api/v1", tags=["notes and labels"])


@router.get("/conversations/{conversation_id}/notes", response_model=list[NotePublic])
async def get_notes(db: DbDep, user: CurrentUser, conversation_id: str) -> list[NotePublic]:
    """The conversation's private notes (staff only), oldest first."""
    scope = await load_scope(db, user)
    return await service.list_notes(db, scope=scope, conversation_id=conversation_id)


@router.post("/conversations/{conversation_id}/notes", response_model=NotePublic, status_code=201)
async def post_note(
    db: DbDep, user: CurrentUser, conversation_id: str, body: NoteCreate, response: Response
) -> NotePublic:
    """Add a private note; a resend with the same `client_id` returns the original (200)."""
    scope = await load_scope(db, user)
    note, created = await service.add_note(
        db,
        scope=scope,
        conversation_id=conversation_id,
        client_id=body.client_id,
        text=body.text,
    )
    if not created:
        response.status_code = 200
    return note


@router.get("/labels", response_model=list[LabelPublic])
async def get_labels(db: DbDep, user: CurrentUser, site: int | None = None) -> list[LabelPublic]:
    """Labels of a site (or of all your sites), by name."""
    scope = await load_scope(db, user)
    return await service.list_labels(db, scope=scope, site_id=site)


@router.post("/labels", response_model=LabelPublic, status_code=201)
async def post_label(db: DbDep, user: CurrentUser, body: LabelCreate) -> LabelPublic:
    """Create a label (supervisors and admins of the site)."""
    scope = await load_scope(db, user)
    return await service.create_label(
        db, scope=scope, site_id=body.site_id, name=body.name, color=body.color
    )


@router.delete("/labels/{label_id}", status_code=204)
async def remove_label(db: DbDep, user: CurrentUser, label_id: int) -> Response:
    """Delete a label and take it off every conversation (supervisors and admins)."""
    scope = await load_scope(db, user)
    await service.delete_label(db, scope=scope, label_id=label_id)
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/labels", response_model=list[LabelPublic])
async def get_conversation_labels(
    db: DbDep, user: CurrentUser, conversation_id: str
) -> list[LabelPublic]:
    scope = await load_scope(db, user)
    return await service.conversation_labels(db, scope=scope, conversation_id=conversation_id)


@router.put("/conversations/{conversation_id}/labels", response_model=list[LabelPublic])
async def put_conversation_labels(
    db: DbDep, user: CurrentUser, conversation_id: str, body: LabelsUpdate
) -> list[LabelPublic]:
    """Replace the conversation's labels (anyone who may write in it)."""
    scope = await load_scope(db, user)
    return await service.set_labels(
        db, scope=scope, conversation_id=conversation_id, label_ids=body.label_ids
    )
