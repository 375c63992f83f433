"""UI strings of single sign-on (login page) and personal API tokens (profile page),
English and Chinese."""

from __future__ import annotations

from relaydesk.core.i18n import register

_STRINGS: dict[str, tuple[str, str]] = {
    "login.sso": ("Sign in with {provider}", "使用 {provider} 登录"),
    "login.or": ("or", "或"),
    "login.sso_failed": (
        "Single sign-on did not work. Try again, or ask an administrator whether your "
        "account may use it.",
        "单点登录未成功。请重试，或询问管理员您的账号是否可以使用单点登录。",
    ),
    "login.sso_unavailable": (
        "The sign-in provider cannot be reached right now. Please try again later.",
        "暂时无法连接登录服务提供方，请稍后再试。",
    ),
    "tokens.title": ("API tokens", "API 令牌"),
    "tokens.lead": (
        "Personal tokens let scripts and integrations call the REST API as you, limited to "
        "the scopes you choose. Send one in this header:",
        "个人令牌让脚本和集成以您的身份调用 REST API，权限限于您选择的范围。请在以下请求头中发送：",
    ),
    "tokens.name": ("Name", "名称"),
    "tokens.scopes": ("Scopes", "权限范围"),
    "tokens.expires_in": ("Expires after (days)", "有效期（天）"),
    "tokens.create": ("Create token", "创建令牌"),
    "tokens.new": (
        "Copy your new token now: it will not be shown again.",
        "请立即复制新令牌：它不会再次显示。",
    ),
    "tokens.copy": ("Copy", "复制"),
    "tokens.none": ("You have no API tokens.", "您还没有 API 令牌。"),
    "tokens.created": ("Created", "创建于"),
    "tokens.expires": ("Expires", "到期"),
    "tokens.last_used": ("Last used", "最近使用"),
    "tokens.never": ("never", "从未"),
    "tokens.revoke": ("Revoke", "撤销"),
    "tokens.revoke_confirm": (
        "Revoke this token? Anything using it stops working.",
        "撤销此令牌？使用它的程序将无法继续工作。",
    ),
    "tokens.revoked": ("revoked", "已撤销"),
    "tokens.expired": ("expired", "已过期"),
    "tokens.scope.conversations:read": ("Read conversations", "读取会话"),
    "tokens.scope.conversations:write": ("Write conversations", "写入会话"),
    "tokens.scope.knowledge:read": ("Read the knowledge base", "读取知识库"),
    "tokens.scope.knowledge:write": ("Edit the knowledge base", "编辑知识库"),
    "tokens.scope.analytics:read": ("Read analytics", "读取统计分析"),
    "tokens.scope.admin": (
        "Administration (everything your role allows)",
        "管理（角色允许的全部操作）",
    ),
}

register(
    {
        "en": {key: en for key, (en, _) in _STRINGS.items()},
        "zh": {key: zh for key, (_, zh) in _STRINGS.items()},
    }
)
