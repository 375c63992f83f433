"""Masking personal data in event payloads: the event log is kept for years and read by
analytics and exports, so emails, phone numbers and card numbers never reach it verbatim."""

from __future__ import annotations

import re
from typing import Any

# Bounded by non-word characters so that digits inside ids (hex UUIDs) are left alone.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 13-19 digits, optionally grouped by spaces or dashes; only Luhn-valid runs are cards.
_CARD = re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?![\w])")
# A leading + or a digit, then at least 8 more digits with the usual separators.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]{0,2}\d){7,14}(?![\w])")

EMAIL_MASK = "[email]"
CARD_MASK = "[card]"
PHONE_MASK = "[phone]"


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return CARD_MASK if _luhn(digits) else match.group()


def mask_text(text: str) -> str:
    """`text` with emails, card numbers and phone numbers replaced by placeholders."""
    if not any(ch.isdigit() or ch == "@" for ch in text):
        return text  # the common case: nothing to find
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _CARD.sub(_card, text)
    return _PHONE.sub(PHONE_MASK, text)


def masked(value: Any) -> Any:
    """`value` (a JSON-like payload) with every string masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value
