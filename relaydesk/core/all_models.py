"""Imports every module that defines tables, so the metadata is complete (migrations,
schema checks)."""

from relaydesk.core import models as core_models

__all__ = ["core_models"]
