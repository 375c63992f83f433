"""REST: staff authentication."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from relaydesk.accounts import sessions, throttle
from relaydesk.core.deps import CurrentUser, DbDep, SettingsDep
from relaydesk.core.security import create_token

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class StaffUserPublic(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]
    availability: str
    avatar_url: str | None = None
    capacity: int = 5


@router.post("/token", response_model=Token)
async def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: DbDep,
    settings: SettingsDep,
) -> Token:
    """OAuth2 password grant: email as `username`, and the password. Repeated failures
    lock the account and the address out for a while (429 `too_many_attempts`)."""
    user = await throttle.sign_in(
        db,
        settings,
        email=form.username,
        password=form.password,
        ip=request.client.host if request.client else None,
    )
    token = create_token(
        settings,
        kind="access",
        subject=str(user.id),
        lifetime=timedelta(minutes=settings.access_token_minutes),
        **sessions.claims_for(user),
    )
    return Token(access_token=token)


@router.get("/me", response_model=StaffUserPublic)
async def me(user: CurrentUser) -> StaffUserPublic:
    return StaffUserPublic.model_validate(user, from_attributes=True)
