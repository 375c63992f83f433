"""REST for attachments: upload into a conversation, download by id.

Both take either a visitor token (`Authorization: Bearer <visitor_token>`, what the
widget has) or staff credentials (bearer access token, or the console cookie plus CSRF
header). The widget runs on other sites' pages, so these routes answer CORS themselves,
to the origins the site allows, and put CORS headers on their errors too so the widget
can read the error code.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

import jwt
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from relaydesk.attachments import service
from relaydesk.attachments import strings as _strings  # noqa: F401  (registers console strings)
from relaydesk.attachments.content import is_image
from relaydesk.attachments.models import Attachment, AttachmentPublic
from relaydesk.conversations import service as conversations
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.policy import load_scope, require_view
from relaydesk.conversations.schemas import dump
from relaydesk.conversations.service import Actor
from relaydesk.core.config import Settings
from relaydesk.core.db import Database
from relaydesk.core.deps import DbDep, SettingsDep, current_user, oauth2_scheme
from relaydesk.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from relaydesk.core.security import decode_token
from relaydesk.sites import service as sites

router = APIRouter(prefix="/api/v1", tags=["attachments"])

BearerDep = Annotated[str | None, Depends(oauth2_scheme)]
# Served bytes are data, never a document that may run or load anything.
DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
# Room for the multipart framing around the file itself.
_FORM_OVERHEAD = 64 * 1024
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9._-]")


class LengthRequired(DomainError):
    code = "length_required"
    http_status = 411


def _is_visitor_token(token: str | None) -> bool:
    if not token:
        return False
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    return isinstance(claims, dict) and claims.get("kind") == "visitor"


async def _visitor_actor(
    db: Database, settings: Settings, token: str, conversation: Conversation, origin: str | None
) -> Actor:
    claims = decode_token(settings, token, kind="visitor")
    if claims.get("site") != conversation.site_id or claims["sub"] != conversation.visitor_id:
        raise NotFound("no such conversation", code="conversation_not_found")
    site = await sites.get_site(db, conversation.site_id)
    if not sites.origin_allowed(site, origin):
        raise Forbidden("this origin may not embed the widget", code="origin_not_allowed")
    return Actor.visitor(str(claims["sub"]))


async def _participant(
    request: Request,
    db: Database,
    settings: Settings,
    bearer: str | None,
    conversation: Conversation,
    *,
    write: bool,
) -> Actor:
    """Who asks, if they take part in `conversation`; else the same 404 as a missing id."""
    if bearer and _is_visitor_token(bearer):
        return await _visitor_actor(
            db, settings, bearer, conversation, request.headers.get("origin")
        )
    user = await current_user(request, db, settings, bearer)
    scope = await load_scope(db, user)
    require_view(scope, conversation)
    if write and not scope.handles_conversations:
        raise Forbidden("your role may not write in conversations")
    return Actor.staff(user)


def _cors(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin:
        return {}
    # Credentials are bearer tokens, never cookies, so echoing the origin exposes nothing;
    # which origins a site allows is checked when the token is.
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _error(request: Request, exc: DomainError) -> JSONResponse:
    headers = _cors(request)
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status, headers=headers)


def _preflight(request: Request, methods: str) -> Response:
    headers = _cors(request)
    if headers:
        headers.update(
            {
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            }
        )
    return Response(status_code=204, headers=headers)


@router.options("/conversations/{conversation_id}/attachments", include_in_schema=False)
async def upload_preflight(request: Request) -> Response:
    return _preflight(request, "POST")


@router.options("/attachments/{attachment_id}", include_in_schema=False)
async def download_preflight(request: Request) -> Response:
    return _preflight(request, "GET")


async def _read_upload(request: Request, settings: Settings) -> tuple[str | None, bytes]:
    limit = settings.attachment_max_bytes
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        # A body of unknown length would be spooled to disk before its size is known.
        raise LengthRequired("send the upload with a Content-Length")
    if int(declared) > limit + _FORM_OVERHEAD:
        service.check_size(int(declared) - _FORM_OVERHEAD)
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception as exc:
        raise InvalidInput(
            "send the file as multipart/form-data in the field `file`", code="attachment_missing"
        ) from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput(
            "send the file as multipart/form-data in the field `file`", code="attachment_missing"
        )
    data = await upload.read(limit + 1)
    await upload.close()
    service.check_size(len(data))
    return upload.filename, data


@router.post(
    "/conversations/{conversation_id}/attachments",
    status_code=201,
    responses={413: {"description": "attachment_too_large"}},
)
async def upload_attachment(
    conversation_id: str, request: Request, db: DbDep, settings: SettingsDep, bearer: BearerDep
) -> Response:
    """Upload one image (PNG, JPEG, GIF, WebP) or PDF, as multipart field `file`, into a
    conversation you take part in. Send a message with its id in `attachment_ids` to
    share it. Answer: `{"attachment": {id, name, type, size, url}}`."""
    try:
        conversation = await conversations.get_conversation(db, conversation_id)
        actor = await _participant(request, db, settings, bearer, conversation, write=True)
        await service.check_upload_rate(db, uploader=actor)
        filename, data = await _read_upload(request, settings)
        attachment = await service.store_attachment(
            db, conversation=conversation, uploader=actor, filename=filename, data=data
        )
    except DomainError as exc:
        return _error(request, exc)
    return JSONResponse(
        {"attachment": dump(AttachmentPublic.of(attachment))},
        status_code=201,
        headers=_cors(request),
    )


def _disposition(attachment: Attachment) -> str:
    kind = "inline" if is_image(attachment.content_type) else "attachment"
    fallback = _NOT_TOKEN.sub("_", attachment.filename)
    encoded = quote(attachment.filename, safe="")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


@router.get("/attachments/{attachment_id}", responses={404: {"description": "not found"}})
async def download_attachment(
    attachment_id: str, request: Request, db: DbDep, settings: SettingsDep, bearer: BearerDep
) -> Response:
    """The file, for the conversation's visitor and the staff who may view it."""
    try:
        attachment = await service.get_attachment(db, attachment_id)
        conversation = await conversations.get_conversation(db, attachment.conversation_id)
        try:
            await _participant(request, db, settings, bearer, conversation, write=False)
        except NotFound as exc:
            raise NotFound("no such attachment", code="attachment_not_found") from exc
        data = await service.read_bytes(attachment)
    except DomainError as exc:
        return _error(request, exc)
    headers = {
        **_cors(request),
        "Content-Disposition": _disposition(attachment),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cache-Control": "private, max-age=3600",
        "Cross-Origin-Resource-Policy": "same-origin",
        "ETag": f'"{attachment.sha256[:32]}"',
    }
    return Response(data, media_type=attachment.content_type, headers=headers)
