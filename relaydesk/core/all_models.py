"""Imports every module that defines tables, so the metadata is complete (migrations,
schema checks)."""

from relaydesk.accounts import models as accounts_models
from relaydesk.analytics import models as analytics_models
from relaydesk.attachments import models as attachment_models
from relaydesk.audit import models as audit_models
from relaydesk.bot import models as bot_models
from relaydesk.canned import models as canned_models
from relaydesk.collab import models as collab_models
from relaydesk.conversations import models as conversation_models
from relaydesk.core import crypto_models
from relaydesk.core import models as core_models
from relaydesk.knowledge import models as knowledge_models
from relaydesk.privacy import models as privacy_models
from relaydesk.routing import models as routing_models

__all__ = [
    "accounts_models",
    "analytics_models",
    "attachment_models",
    "audit_models",
    "bot_models",
    "canned_models",
    "collab_models",
    "conversation_models",
    "core_models",
    "crypto_models",
    "knowledge_models",
    "privacy_models",
    "routing_models",
]
