"""Strings of the audit-log and privacy pages, English and Chinese; registered on import
(the pages import this module)."""

from __future__ import annotations

from relaydesk.audit.models import AuditAction
from relaydesk.core.i18n import register

_ACTIONS: dict[AuditAction, tuple[str, str]] = {
    AuditAction.LOGIN: ("Signed in", "登录"),
    AuditAction.LOGIN_FAILED: ("Sign-in failed", "登录失败"),
    AuditAction.LOGOUT: ("Signed out", "退出登录"),
    AuditAction.PASSWORD_CHANGE: ("Password changed", "修改密码"),
    AuditAction.USER_CREATE: ("User created", "创建用户"),
    AuditAction.USER_ROLES: ("Roles changed", "角色变更"),
    AuditAction.USER_ACTIVATE: ("User activated", "启用用户"),
    AuditAction.USER_DEACTIVATE: ("User deactivated", "停用用户"),
    AuditAction.USER_UPDATE: ("User edited", "编辑用户"),
    AuditAction.TEAM_CREATE: ("Team created", "创建团队"),
    AuditAction.TEAM_UPDATE: ("Team changed", "团队变更"),
    AuditAction.TEAM_MEMBER_ADD: ("Added to team", "加入团队"),
    AuditAction.TEAM_MEMBER_REMOVE: ("Removed from team", "移出团队"),
    AuditAction.SITE_CREATE: ("Site created", "创建站点"),
    AuditAction.SITE_UPDATE: ("Site settings changed", "站点设置变更"),
    AuditAction.SITE_ORIGINS: ("Allowed origins changed", "允许来源变更"),
    AuditAction.IDENTITY_SECRET_ROTATE: ("Identity secret rotated", "轮换身份密钥"),
    AuditAction.IDENTITY_SECRET_CLEAR: ("Identity secret removed", "移除身份密钥"),
    AuditAction.RETENTION_CHANGE: ("Retention changed", "保留期限变更"),
    AuditAction.RETENTION_PURGE: ("Retention purge", "按保留期限清除"),
    AuditAction.VISITOR_EXPORT: ("Visitor data exported", "导出访客数据"),
    AuditAction.VISITOR_DELETE: ("Visitor data erased", "删除访客数据"),
    AuditAction.KEY_ROTATE: ("Encryption keys rotated", "轮换加密密钥"),
    AuditAction.EXPERIMENT_SHIP: ("Experiment shipped", "实验上线"),
    AuditAction.SETTINGS_CHANGE: ("Settings changed", "设置变更"),
}

_PAIRS: dict[str, tuple[str, str]] = {
    "audit.title": ("Audit log", "审计日志"),
    "audit.lead": (
        "Every staff action that changes access, settings or personal data. Entries cannot "
        "be edited or deleted.",
        "所有影响访问权限、设置或个人数据的员工操作。记录不可修改或删除。",
    ),
    "audit.when": ("When", "时间"),
    "audit.actor": ("Who", "操作人"),
    "audit.actor_email": ("Staff email", "员工邮箱"),
    "audit.action": ("Action", "操作"),
    "audit.site": ("Site", "站点"),
    "audit.target": ("Target", "对象"),
    "audit.ip": ("IP address", "IP 地址"),
    "audit.details": ("Details", "详情"),
    "audit.since": ("From", "开始日期"),
    "audit.until": ("Before", "截止日期"),
    "audit.any": ("All", "全部"),
    "audit.filter": ("Filter", "筛选"),
    "audit.csv": ("Export CSV", "导出 CSV"),
    "audit.none": ("No entries match.", "没有匹配的记录。"),
    "audit.count": ("{total} entries", "共 {total} 条"),
    "audit.prev": ("Newer", "较新"),
    "audit.next": ("Older", "较早"),
    "audit.actor.cli": ("Command line", "命令行"),
    "audit.actor.system": ("System", "系统"),
    "privacy.title": ("Privacy", "隐私"),
    "privacy.lead": (
        "How long conversations are kept, and visitors' requests to see or erase their data.",
        "会话保留多久，以及访客查看或删除其数据的请求。",
    ),
    "privacy.retention": ("Retention", "保留期限"),
    "privacy.retention_hint": (
        "Conversations idle for longer are deleted with their messages, files and notes. "
        "Empty keeps them forever.",
        "超过此天数无活动的会话将连同消息、文件和备注一并删除。留空则永久保留。",
    ),
    "privacy.days": ("Days", "天数"),
    "privacy.forever": ("Kept forever", "永久保留"),
    "privacy.visitor": ("Visitor data request", "访客数据请求"),
    "privacy.visitor_hint": (
        "Enter the visitor's id, or open this page from a conversation's visitor panel "
        "(Data request).",
        "输入访客 ID，或在会话的访客信息栏中点击“数据请求”打开本页。",
    ),
    "privacy.visitor_id": ("Visitor id", "访客 ID"),
    "privacy.find": ("Look up", "查找"),
    "privacy.not_found": ("No visitor with that id.", "没有该 ID 的访客。"),
    "privacy.profile": ("Profile", "资料"),
    "privacy.held": (
        "Conversations: {conversations} · messages: {messages}",
        "会话：{conversations} · 消息：{messages}",
    ),
    "privacy.export": ("Export data", "导出数据"),
    "privacy.delete": ("Erase visitor", "删除访客"),
    "privacy.delete_confirm": (
        "Erase this visitor and all their conversations and files? This cannot be undone.",
        "确定删除该访客及其所有会话和文件吗？此操作无法撤销。",
    ),
    "privacy.receipts": ("Receipts", "处理回执"),
    "privacy.receipt": ("Receipt", "回执"),
    "privacy.kind.export": ("Export", "导出"),
    "privacy.kind.delete": ("Erasure", "删除"),
    "privacy.rows": ("Rows and files", "数据行与文件"),
    "privacy.download": ("Download", "下载"),
    "privacy.gone": ("Removed", "已删除"),
    "privacy.none": ("No requests yet.", "暂无请求。"),
    "privacy.sha256": ("SHA-256 of the export", "导出文件的 SHA-256"),
    "privacy.field.id": ("Id", "ID"),
    "privacy.field.name": ("Name", "姓名"),
    "privacy.field.email": ("Email", "邮箱"),
    "privacy.field.external_id": ("Id on the site", "站点用户 ID"),
    "privacy.field.locale": ("Language", "语言"),
    "privacy.field.created_at": ("First seen", "首次访问"),
    "privacy.field.last_seen_at": ("Last seen", "最近访问"),
    # The conversation's visitor panel (console bundle): admins' way to the privacy page.
    "console.details.privacy": ("Data request", "数据请求"),
    "console.details.privacy_open": ("Export or erase…", "导出或删除…"),
}
_PAIRS |= {f"audit.action.{a.value}": pair for a, pair in _ACTIONS.items()}

STRINGS: dict[str, dict[str, str]] = {
    "en": {key: en for key, (en, _) in _PAIRS.items()},
    "zh": {key: zh for key, (_, zh) in _PAIRS.items()},
}
register(STRINGS)
