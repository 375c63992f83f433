"""UI strings in English and Chinese, and picking the locale of a request."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

SUPPORTED = ("en", "zh")
LOCALE_COOKIE = "relaydesk_locale"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "app.name": "Relaydesk",
        "login.title": "Sign in to Relaydesk",
        "login.email": "Email",
        "login.password": "Password",
        "login.remember": "Remember me",
        "login.submit": "Sign in",
        "login.failed": "Wrong email or password.",
        "login.csrf": "Your sign-in form expired. Please try again.",
        "console.signed_in_as": "Signed in as",
        "console.logout": "Sign out",
        "console.welcome": "Welcome",
        "lang.switch": "中文",
    },
    "zh": {
        "app.name": "Relaydesk",
        "login.title": "登录 Relaydesk",
        "login.email": "邮箱",
        "login.password": "密码",
        "login.remember": "记住我",
        "login.submit": "登录",
        "login.failed": "邮箱或密码错误。",
        "login.csrf": "登录表单已过期，请重试。",
        "console.signed_in_as": "当前用户",
        "console.logout": "退出登录",
        "console.welcome": "欢迎",
        "lang.switch": "English",
    },
}


def normalise_locale(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()
    return "zh" if value.startswith("zh") else "en" if value.startswith("en") else None


def request_locale(request: Request) -> str:
    """`?lang=`, then the locale cookie, then Accept-Language, then English."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LOCALE_COOKIE)):
        locale = normalise_locale(candidate)
        if locale:
            return locale
    for part in request.headers.get("accept-language", "").split(","):
        locale = normalise_locale(part.split(";")[0])
        if locale:
            return locale
    return "en"


def translator(locale: str) -> Callable[[str], str]:
    table = MESSAGES.get(locale, MESSAGES["en"])
    return lambda key: table.get(key, MESSAGES["en"].get(key, key))
