"""Where every staff sign-in attempt ends up, whichever way it came (password on the REST
token route or the console form, or single sign-on): one function, so the audit log records
successes and failures of every method at one call site."""

from __future__ import annotations

import logging
from typing import Literal

from relaydesk.audit import service as audit
from relaydesk.audit.models import AuditAction
from relaydesk.core.db import Database
from relaydesk.core.models import StaffUser

log = logging.getLogger("relaydesk.signin")

Method = Literal["password", "sso"]


async def outcome(
    db: Database,
    *,
    method: Method,
    email: str | None,
    ip: str | None,
    user: StaffUser | None = None,
    failure: str | None = None,
) -> None:
    """Record one attempt: `user` when it succeeded, else `failure`, a stable reason code
    (`bad_credentials`, `too_many_attempts`, `sso_unknown_user`, ...). `email` is what the
    caller claimed (password) or the identity provider asserted (SSO), trimmed for the log."""
    claimed = (email or "").strip().lower()[:320] or None
    if user is not None:
        log.info("sign-in ok method=%s user=%s ip=%s", method, user.id, ip)
        await audit.record(
            db, action=AuditAction.LOGIN, actor=user, ip=ip, details={"method": method}
        )
        return
    log.info("sign-in failed method=%s email=%r reason=%s ip=%s", method, claimed, failure, ip)
    if failure == "too_many_attempts":
        # Refused before any check: costs an attacker nothing to send, so it adds no row
        # (the lockout that caused it was recorded by the failures that led to it).
        return
    await audit.record(
        db,
        action=AuditAction.LOGIN_FAILED,
        actor_email=claimed,
        ip=ip,
        details={"method": method, "reason": failure},
    )
