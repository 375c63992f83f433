"""Console strings for notes, labels, the Team view and reopening, in every locale.

Merged into the shared message table when this module is imported (the console routes
import it), so the console's boot strings carry them."""

from __future__ import annotations

from relaydesk.core.i18n import MESSAGES

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "console.view.team": "Team",
        "console.conv.reopen": "Reopen",
        "console.note.toggle": "Note",
        "console.note.title": "Private note",
        "console.note.reply": "Private note, only staff see it (Enter saves)",
        "console.note.save": "Add note",
        "console.note.hint": "Visitors never see notes",
        "console.labels.title": "Labels",
        "console.labels.add": "+ Label",
        "console.labels.none": "No labels yet.",
        "console.labels.new": "New label name",
        "console.labels.create": "Create",
        "console.labels.all": "All labels",
        "console.labels.filter": "Filter by label",
    },
    "zh": {
        "console.view.team": "团队",
        "console.conv.reopen": "重新打开",
        "console.note.toggle": "备注",
        "console.note.title": "内部备注",
        "console.note.reply": "内部备注，仅客服可见（回车保存）",
        "console.note.save": "添加备注",
        "console.note.hint": "访客永远看不到备注",
        "console.labels.title": "标签",
        "console.labels.add": "+ 标签",
        "console.labels.none": "暂无标签。",
        "console.labels.new": "新标签名称",
        "console.labels.create": "创建",
        "console.labels.all": "所有标签",
        "console.labels.filter": "按标签筛选",
    },
}

for _locale, _table in STRINGS.items():
    MESSAGES[_locale].update(_table)
