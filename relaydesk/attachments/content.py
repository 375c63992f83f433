"""What an uploaded file really is, decided from its bytes, never from its name.

Only formats a browser shows without running anything are accepted: PNG, JPEG, GIF,
WebP and PDF. SVG and HTML are refused whatever they are called, since served from our
origin they could run script.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from pathlib import PurePosixPath

from relaydesk.core.errors import InvalidInput

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PDF = "application/pdf"
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    PDF: ".pdf",
}
_PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
# Decoding a decompression bomb would take the server's memory; no chat image is this big.
MAX_PIXELS = 50_000_000
_UNSAFE_NAME = re.compile(r"[^\w .()+,-]+")


def sniff(data: bytes) -> str | None:
    """The content type the bytes begin like, or None when it is none we accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    # PDF readers accept the header within the first KB; we want it first, as writers put it.
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def _image_decodes(data: bytes, content_type: str) -> bool:
    try:
        from PIL import Image
    except ImportError:  # Pillow is optional: the magic bytes were checked already
        return True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != _PIL_FORMATS[content_type]:
                    return False
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return False
                image.verify()
    except Exception:
        return False
    return True


def check_content(data: bytes) -> str:
    """The verified content type of an upload, or InvalidInput with a precise code."""
    if not data:
        raise InvalidInput("the file is empty", code="attachment_empty")
    content_type = sniff(data)
    if content_type is None:
        raise InvalidInput(
            "only PNG, JPEG, GIF, WebP images and PDF documents may be attached",
            code="attachment_type_not_allowed",
        )
    if content_type in IMAGE_TYPES and not _image_decodes(data, content_type):
        raise InvalidInput("the image is damaged or too large", code="attachment_invalid_image")
    if content_type == PDF and b"%%EOF" not in data[-2048:]:
        raise InvalidInput("the PDF is incomplete", code="attachment_invalid_pdf")
    return content_type


def clean_filename(name: str | None, content_type: str) -> str:
    """A display name safe in a header and on screen, ending in the type's real extension."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = unicodedata.normalize("NFC", base)
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = _UNSAFE_NAME.sub("_", base).strip(" ._")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem[:120].strip(" ._") or "file"
    return stem + _EXTENSIONS[content_type]


def is_image(content_type: str) -> bool:
    return content_type in IMAGE_TYPES
