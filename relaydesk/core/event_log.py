"""The append-only event log. Service functions call `record()` inside their transaction,
so an event exists if and only if the change it describes was committed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.core.config import get_settings
from relaydesk.core.models import Event
from relaydesk.core.pii import masked


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str


class WidgetOpened(EventPayload):
    """A visitor's widget opened their conversation (`conversation:open`)."""

    type: Literal["widget.opened"] = "widget.opened"
    visitor_id: str
    new_conversation: bool


class ConversationStarted(EventPayload):
    type: Literal["conversation.started"] = "conversation.started"
    visitor_id: str


class MessageStored(EventPayload):
    type: Literal["message.stored"] = "message.stored"
    message_id: str
    seq: int
    sender_kind: str
    chars: int


class HandoffRequested(EventPayload):
    type: Literal["conversation.handoff_requested"] = "conversation.handoff_requested"
    reason: str
    team_id: int | None = None


class ConversationAssigned(EventPayload):
    type: Literal["conversation.assigned"] = "conversation.assigned"
    assignee_id: int
    previous_assignee_id: int | None = None
    previous_status: str


class ConversationTransferred(EventPayload):
    """Moved to another agent (`assignee_id`) or into a team's queue (`assignee_id` None)."""

    type: Literal["conversation.transferred"] = "conversation.transferred"
    previous_status: str
    previous_assignee_id: int | None
    previous_team_id: int | None
    assignee_id: int | None
    team_id: int | None


class PresenceChanged(EventPayload):
    """An agent's effective presence changed (self-set, or their last console tab closed)."""

    type: Literal["staff.presence_changed"] = "staff.presence_changed"
    user_id: int
    status: str
    previous: str
    chosen: str


class ConversationResolved(EventPayload):
    type: Literal["conversation.resolved"] = "conversation.resolved"
    previous_status: str


class ConversationReopened(EventPayload):
    type: Literal["conversation.reopened"] = "conversation.reopened"


class ConversationHandedBack(EventPayload):
    type: Literal["conversation.handed_back"] = "conversation.handed_back"
    previous_assignee_id: int | None


# The bot (relaydesk/bot): what it replied, and what visitors thought of it.


class BotReplied(EventPayload):
    type: Literal["bot.replied"] = "bot.replied"
    message_id: str
    action: Literal["answer", "clarify", "handoff"]
    confidence: float
    entry_ids: list[str]
    # "llm", "extractive" or "fixed" (a scripted text); `failure` is the LLM failure kind
    # when an LLM answer fell back.
    mode: str
    failure: str | None = None
    reason: str | None = None


class BotFeedbackGiven(EventPayload):
    type: Literal["bot.feedback"] = "bot.feedback"
    message_id: str
    rating: Literal["up", "down"]
    previous: Literal["up", "down"] | None = None


class CsatSubmitted(EventPayload):
    type: Literal["csat.submitted"] = "csat.submitted"
    score: int
    has_comment: bool


class OfflineMessageLeft(EventPayload):
    type: Literal["conversation.offline_message"] = "conversation.offline_message"
    chars: int


class HandoffSummarized(EventPayload):
    type: Literal["bot.handoff_summary"] = "bot.handoff_summary"
    summary_id: int
    generated_by: Literal["llm", "extractive"]


# Knowledge base. `kb_version` is the site's knowledge-base version after the change.


class ArticleEvent(EventPayload):
    article_id: int
    version: int
    kb_version: int


class ArticleCreated(ArticleEvent):
    type: Literal["knowledge.article_created"] = "knowledge.article_created"


class ArticleUpdated(ArticleEvent):
    type: Literal["knowledge.article_updated"] = "knowledge.article_updated"


class ArticlePublished(ArticleEvent):
    type: Literal["knowledge.article_published"] = "knowledge.article_published"


class ArticleUnpublished(ArticleEvent):
    type: Literal["knowledge.article_unpublished"] = "knowledge.article_unpublished"


class ArticleRestored(ArticleEvent):
    type: Literal["knowledge.article_restored"] = "knowledge.article_restored"
    restored_from: int


class ArticleDeleted(ArticleEvent):
    type: Literal["knowledge.article_deleted"] = "knowledge.article_deleted"


class FaqEntryEvent(EventPayload):
    faq_entry_id: int
    kb_version: int


class FaqEntryCreated(FaqEntryEvent):
    type: Literal["knowledge.faq_created"] = "knowledge.faq_created"


class FaqEntryUpdated(FaqEntryEvent):
    type: Literal["knowledge.faq_updated"] = "knowledge.faq_updated"


class FaqEntryPublished(FaqEntryEvent):
    type: Literal["knowledge.faq_published"] = "knowledge.faq_published"


class FaqEntryUnpublished(FaqEntryEvent):
    type: Literal["knowledge.faq_unpublished"] = "knowledge.faq_unpublished"


class FaqEntryDeleted(FaqEntryEvent):
    type: Literal["knowledge.faq_deleted"] = "knowledge.faq_deleted"


class KnowledgeImported(EventPayload):
    type: Literal["knowledge.imported"] = "knowledge.imported"
    source: str  # "upload", "url", "sitemap", "cli" or "demo"
    files: int
    articles_created: int
    articles_updated: int
    faq_created: int
    faq_updated: int
    kb_version: int


class KnowledgeDemoSeeded(EventPayload):
    """The demo help center was added once; later starts leave editors' changes alone."""

    type: Literal["knowledge.demo_seeded"] = "knowledge.demo_seeded"
    articles: int
    faq_entries: int


def record(
    session: AsyncSession,
    payload: EventPayload,
    *,
    site_id: int,
    actor_kind: str,
    actor_id: str | int | None = None,
    conversation_id: str | None = None,
) -> Event:
    if not enabled():
        # RELAYDESK_EVENT_LOG=off (a benchmark's baseline): the event, never written.
        return Event(site_id=site_id, type=payload.type, actor_kind=actor_kind, payload={})
    event = Event(
        site_id=site_id,
        type=payload.type,
        conversation_id=conversation_id,
        actor_kind=actor_kind,
        actor_id=None if actor_id is None else str(actor_id),
        payload=masked(payload.model_dump(exclude={"type"})),
    )
    session.add(event)
    return event


def enabled() -> bool:
    """Whether events are written at all (`RELAYDESK_EVENT_LOG`; default on)."""
    return get_settings().event_log_on


def row(
    payload: EventPayload,
    *,
    site_id: int,
    actor_kind: str,
    actor_id: str | int | None,
    conversation_id: str | None,
    created_at: datetime,
) -> dict[str, Any]:
    """The same event as a plain row, for bulk Core inserts on hot paths. Not masked: the
    payloads written here (`MessageStored`, state changes) carry ids and counts, never
    free text, and the message path is too hot to scan them (tests/analytics checks)."""
    return {
        "site_id": site_id,
        "type": payload.type,
        "conversation_id": conversation_id,
        "actor_kind": actor_kind,
        "actor_id": None if actor_id is None else str(actor_id),
        "payload": payload.model_dump(exclude={"type"}),
        "created_at": created_at,
    }


def message_stored_row(
    *,
    site_id: int,
    conversation_id: str,
    sender_kind: str,
    sender_id: str | None,
    message_id: str,
    seq: int,
    chars: int,
    created_at: datetime,
) -> dict[str, Any]:
    """`row(MessageStored(...))` built directly: the message path writes one per message,
    and validating then dumping a model for each was ~4 of the ~50 µs the event cost
    there (docs/performance.md). tests/analytics checks that both give the same row."""
    return {
        "site_id": site_id,
        "type": "message.stored",
        "conversation_id": conversation_id,
        "actor_kind": sender_kind,
        "actor_id": sender_id,
        "payload": {
            "message_id": message_id,
            "seq": seq,
            "sender_kind": str(sender_kind),
            "chars": chars,
        },
        "created_at": created_at,
    }
