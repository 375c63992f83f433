"""Validation of free text that strangers send (messages, names)."""

from __future__ import annotations

import re

from relaydesk.core.errors import InvalidInput

# C0/C1 control characters except tab, newline and carriage return; they have no place in
# chat text and some terminals and log viewers interpret them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(text: str, *, max_chars: int, field: str = "text") -> str:
    """Return `text` ready to store, or raise InvalidInput with a precise code."""
    if _SURROGATE.search(text):
        raise InvalidInput(f"{field} contains a lone surrogate", code="invalid_text")
    if _CONTROL.search(text):
        raise InvalidInput(f"{field} contains control characters", code="invalid_text")
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(f"{field} is empty", code="empty_text")
    if len(text) > max_chars:
        raise InvalidInput(
            f"{field} is longer than {max_chars} characters", code="text_too_long", limit=max_chars
        )
    return text
