"""Imports every module that defines tables, so the metadata is complete (migrations,
schema checks)."""

from relaydesk.bot import models as bot_models
from relaydesk.core import models as core_models
from relaydesk.knowledge import models as knowledge_models

__all__ = ["bot_models", "core_models", "knowledge_models"]
