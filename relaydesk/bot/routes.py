"""REST: `POST /api/v1/bot/answer` (the live conversation's code path, without a
conversation) and the per-site bot policy."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from relaydesk.accounts import service as accounts
from relaydesk.audit import service as audit
from relaydesk.audit.models import AuditAction
from relaydesk.bot import answer, service
from relaydesk.bot.policy import BotPolicy
from relaydesk.bot.prompt import Turn
from relaydesk.core.config import get_settings
from relaydesk.core.deps import CurrentUser, DbDep, require_roles
from relaydesk.core.errors import NotFound
from relaydesk.core.models import Role, StaffUser
from relaydesk.core.text import clean_text
from relaydesk.sites import service as sites

router = APIRouter(prefix="/api/v1/bot", tags=["bot"])

Text = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class HistoryTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["visitor", "bot", "user", "assistant"]
    text: Text


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site: int = Field(ge=1)
    question: Text
    history: list[HistoryTurn] = Field(default_factory=list, max_length=50)


class Citation(BaseModel):
    entry_id: str
    external_id: str | None
    title: str
    url: str | None


class AnswerResponse(BaseModel):
    action: Literal["answer", "clarify", "handoff"]
    answer: str
    citations: list[Citation]
    confidence: float
    reason: str | None = None


async def _require_site_access(db: DbDep, user: StaffUser, site_id: int) -> None:
    if user.has_role(Role.ADMIN):
        await sites.get_site(db, site_id)
        return
    assert user.id is not None
    if site_id not in await accounts.site_ids_of(db, user.id):
        raise NotFound("no such site", code="site_not_found")


@router.post("/answer", response_model=AnswerResponse)
async def bot_answer(body: AnswerRequest, db: DbDep, user: CurrentUser) -> AnswerResponse:
    await _require_site_access(db, user, body.site)
    limit = get_settings().max_message_chars
    question = clean_text(body.question, max_chars=limit, field="question")
    history = [
        Turn(
            "visitor" if t.role in ("visitor", "user") else "bot",
            clean_text(t.text, max_chars=limit, field="history.text"),
        )
        for t in body.history
    ]
    site = await sites.get_site(db, body.site)
    reply = await answer.respond(
        db,
        site_id=body.site,
        site_name=site.name,
        question=question,
        history=history,
        policy=await service.get_policy(db, body.site),
    )
    assert reply is not None  # only None when asked to need knowledge
    return AnswerResponse(
        action=reply.action,
        answer=reply.text,
        citations=[
            Citation(
                entry_id=c["entry_id"],
                external_id=c["external_id"],
                title=c["title"],
                url=c["url"],
            )
            for c in reply.citations
        ],
        confidence=round(reply.confidence, 4),
        reason=reply.reason,
    )


@router.get("/sites/{site_id}/policy", response_model=BotPolicy)
async def get_policy(site_id: int, db: DbDep, user: CurrentUser) -> BotPolicy:
    await _require_site_access(db, user, site_id)
    return await service.get_policy(db, site_id)


@router.put("/sites/{site_id}/policy", response_model=BotPolicy)
async def put_policy(
    site_id: int,
    body: BotPolicy,
    db: DbDep,
    user: Annotated[StaffUser, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))],
    ip: audit.ClientIp,
) -> BotPolicy:
    await _require_site_access(db, user, site_id)
    policy = await service.set_policy(db, site_id=site_id, policy=body)
    await audit.record(
        db,
        action=AuditAction.SETTINGS_CHANGE,
        actor=user,
        ip=ip,
        site_id=site_id,
        target_kind="bot_policy",
        target_id=site_id,
        details={"bot_policy": policy.model_dump(mode="json")},
    )
    return policy
