"""Who may see and act on which conversation. One place, used by REST and sockets alike."""

from __future__ import annotations

from dataclasses import dataclass

from relaydesk.accounts import service as accounts
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.core.db import Database
from relaydesk.core.errors import Forbidden, NotFound
from relaydesk.core.models import Role, StaffUser


@dataclass(frozen=True)
class StaffScope:
    user: StaffUser
    team_ids: frozenset[int]
    site_ids: frozenset[int]

    @property
    def user_id(self) -> int:
        assert self.user.id is not None
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user.has_role(Role.ADMIN)

    @property
    def handles_conversations(self) -> bool:
        return self.user.has_role(Role.ADMIN, Role.SUPERVISOR, Role.AGENT)


async def load_scope(db: Database, user: StaffUser) -> StaffScope:
    assert user.id is not None
    return StaffScope(
        user=user,
        team_ids=frozenset(await accounts.team_ids_of(db, user.id)),
        site_ids=frozenset(await accounts.site_ids_of(db, user.id)),
    )


def can_view(scope: StaffScope, conversation: Conversation) -> bool:
    if scope.is_admin:
        return True
    if not scope.handles_conversations or conversation.site_id not in scope.site_ids:
        return False
    in_team = conversation.team_id is None or conversation.team_id in scope.team_ids
    if scope.user.has_role(Role.SUPERVISOR):
        return in_team
    # Agents: their own conversations, plus the live ones (bot or queue) of their teams.
    if conversation.assignee_id == scope.user_id:
        return True
    return in_team and conversation.status in (ConversationStatus.BOT, ConversationStatus.QUEUED)


def require_view(scope: StaffScope, conversation: Conversation) -> None:
    if not can_view(scope, conversation):
        # Same answer as a missing id, so ids of other sites' conversations leak nothing.
        raise NotFound("no such conversation", code="conversation_not_found")


def require_reassign(scope: StaffScope, conversation: Conversation) -> None:
    require_view(scope, conversation)
    if not scope.user.has_role(Role.ADMIN, Role.SUPERVISOR):
        raise Forbidden("only supervisors and admins may reassign", code="forbidden")
