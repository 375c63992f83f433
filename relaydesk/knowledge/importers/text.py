"""Bytes to text: the encodings people's files really come in, and a clear no otherwise."""

from __future__ import annotations

import re

from relaydesk.knowledge.errors import ImportRefused

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# What text decoded as GB18030 by mistake tends to contain: private-use code points, rare
# CJK extension characters and symbols no Chinese text is made of.
_UNLIKELY_IN_CHINESE = re.compile(r"[\ue000-\uf8ff\u3400-\u4dbf\U00020000-\U0003ffff\u0080-\u00ff]")


def decode_text(data: bytes, *, name: str) -> str:
    """UTF-8 (with or without a BOM), else GB18030 for Chinese files; else refuse."""
    if not data.strip():
        raise ImportRefused(f"{name} is empty", code="empty_file", file=name)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _clean(data.decode("utf-16"), name)
        except UnicodeDecodeError:
            pass
    try:
        return _clean(data.decode("utf-8-sig"), name)
    except UnicodeDecodeError:
        pass
    if b"\x00" not in data:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            text = ""
        cjk = len(_CJK.findall(text))
        if cjk and len(_UNLIKELY_IN_CHINESE.findall(text)) <= cjk // 50:
            return _clean(text, name)
    raise ImportRefused(
        f"{name} is not text in UTF-8 or GB18030; save it as UTF-8 and import it again",
        code="bad_encoding",
        file=name,
    )


def _clean(text: str, name: str) -> str:
    if "\x00" in text:
        raise ImportRefused(f"{name} looks binary, not text", code="bad_encoding", file=name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ImportRefused(f"{name} is empty", code="empty_file", file=name)
    return text


def detect_locale(text: str, default: str = "en") -> str:
    """`zh` for text that is mostly Chinese, else `default`."""
    sample = text[:5000]
    letters = sum(1 for ch in sample if ch.isalpha())
    if letters and len(_CJK.findall(sample)) / letters > 0.3:
        return "zh"
    return default
