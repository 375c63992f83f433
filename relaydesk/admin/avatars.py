"""Avatar images uploaded from the profile page: checked by content, stored in the data dir
under an unguessable name, served publicly (visitors see their agent's avatar)."""

from __future__ import annotations

import asyncio
import io
import re
import secrets
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from relaydesk.core.config import Settings
from relaydesk.core.errors import InvalidInput

MAX_AVATAR_BYTES = 512 * 1024
MAX_SIDE = 4096
# Content type by the file's first bytes; the name and the declared type are ignored.
_KINDS: dict[str, tuple[str, str]] = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
}
NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(png|jpg|gif|webp)$")
MEDIA_TYPES = {ext: media for ext, media in _KINDS.values()}


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _decode(data: bytes, kind: str) -> None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != kind:
                raise InvalidInput("the file is not the image it claims to be", code="bad_image")
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE:
                raise InvalidInput("the image is too large", code="image_too_large")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput("the image cannot be decoded", code="bad_image") from exc


def directory(settings: Settings) -> Path:
    return settings.data_dir / "avatars"


async def store(settings: Settings, data: bytes) -> str:
    """Validate `data` as a small PNG, JPEG, GIF or WebP and store it; returns its name."""
    if len(data) > MAX_AVATAR_BYTES:
        raise InvalidInput(
            f"the avatar must be at most {MAX_AVATAR_BYTES // 1024} KB", code="image_too_large"
        )
    kind = _sniff(data)
    if kind is None:
        raise InvalidInput("the avatar must be a PNG, JPEG, GIF or WebP image", code="bad_image")
    await asyncio.to_thread(_decode, data, kind)
    name = f"{secrets.token_urlsafe(18)}.{_KINDS[kind][0]}"
    folder = directory(settings)

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)

    await asyncio.to_thread(write)
    return name
