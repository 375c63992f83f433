"""REST: the signed-in staff member's personal API tokens. Managed only from a session or a
password-issued bearer token, never with an API token (accounts/scopes.py)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from relaydesk.accounts import tokens
from relaydesk.accounts.models import ApiToken, ApiTokenCreate, ApiTokenCreated, ApiTokenPublic
from relaydesk.audit import service as audit
from relaydesk.audit.models import AuditAction
from relaydesk.core.deps import CurrentUser, DbDep

router = APIRouter(prefix="/api/v1/auth/me/tokens", tags=["auth"])


def _public(row: ApiToken) -> ApiTokenPublic:
    return ApiTokenPublic.model_validate(row, from_attributes=True)


@router.get("", response_model=list[ApiTokenPublic])
async def list_my_tokens(db: DbDep, user: CurrentUser) -> list[ApiTokenPublic]:
    """Your tokens, newest first, revoked and expired ones included (never the secret)."""
    assert user.id is not None
    return [_public(row) for row in await tokens.list_tokens(db, user_id=user.id)]


@router.post("", response_model=ApiTokenCreated, status_code=201)
async def create_my_token(
    body: ApiTokenCreate, db: DbDep, user: CurrentUser, ip: audit.ClientIp
) -> ApiTokenCreated:
    """A new token, sent as `Authorization: Bearer rd_pat_...` on REST calls. The response
    is the only time the token is shown. Scopes beyond your roles are refused
    (403 `scope_exceeds_role`)."""
    row, token = await tokens.issue(db, user=user, data=body)
    await audit.record(
        db,
        action=AuditAction.TOKEN_CREATE,
        actor=user,
        target_kind="api_token",
        target_id=row.id,
        ip=ip,
        details={"name": row.name, "scopes": sorted(body.scopes)},
    )
    return ApiTokenCreated(**_public(row).model_dump(), token=token)


@router.delete("/{token_id}", status_code=204)
async def revoke_my_token(
    token_id: int, db: DbDep, user: CurrentUser, ip: audit.ClientIp
) -> Response:
    assert user.id is not None
    await tokens.revoke(db, user_id=user.id, token_id=token_id)
    await audit.record(
        db,
        action=AuditAction.TOKEN_REVOKE,
        actor=user,
        target_kind="api_token",
        target_id=token_id,
        ip=ip,
    )
    return Response(status_code=204)
