"""Console strings for the inbox filters, the search box and the visitor details panel, in
every locale; registered on import (the inbox module imports this one, so the console's
boot strings carry them)."""

from __future__ import annotations

from relaydesk.core.i18n import register

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "console.filters.search": "Search messages",
        "console.filters.search_hint": "Search messages and notes (press /)",
        "console.filters.clear": "Clear search",
        "console.filters.team": "Team",
        "console.filters.all_teams": "All teams",
        "console.filters.status": "Status",
        "console.filters.all_statuses": "All statuses",
        "console.filters.reason": "Handoff reason",
        "console.filters.all_reasons": "Any handoff reason",
        "console.filters.reason_keyword": "Visitor mentioned a keyword",
        "console.filters.no_match": "No conversations match these filters.",
        "console.filters.reset": "Clear filters",
        "console.details.page": "Current page",
        "console.details.earlier": "Earlier conversations",
        "console.details.no_message": "No messages",
    },
    "zh": {
        "console.filters.search": "搜索消息",
        "console.filters.search_hint": "搜索消息和备注（按 / 键）",
        "console.filters.clear": "清除搜索",
        "console.filters.team": "团队",
        "console.filters.all_teams": "所有团队",
        "console.filters.status": "状态",
        "console.filters.all_statuses": "所有状态",
        "console.filters.reason": "转人工原因",
        "console.filters.all_reasons": "所有转人工原因",
        "console.filters.reason_keyword": "访客提到了关键词",
        "console.filters.no_match": "没有符合筛选条件的会话。",
        "console.filters.reset": "清除筛选",
        "console.details.page": "当前页面",
        "console.details.earlier": "以往会话",
        "console.details.no_message": "没有消息",
    },
}

register(STRINGS)
