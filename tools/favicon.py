"""Draws relaydesk/api/static/favicon.ico: the shapes of favicon.svg (a white speech
bubble with three dots on a brand-blue rounded square) at 16, 32 and 48 px, as PNG images
in an ICO container. Standard library only, deterministic: `python tools/favicon.py`.
Browsers that read SVG icons use favicon.svg; the ICO is for the rest (and /favicon.ico)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "relaydesk" / "api" / "static" / "favicon.ico"
BLUE = (0x3B, 0x5B, 0xDB)
WHITE = (0xFF, 0xFF, 0xFF)
SUPERSAMPLE = 4


def _in_round_rect(
    x: float, y: float, x0: float, y0: float, x1: float, y1: float, r: float
) -> bool:
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _in_tail(x: float, y: float) -> bool:
    # The triangle (10,22) (15,22) (10,26) under the bubble, pointing down-left.
    return x >= 10 and 22 <= y <= 26 and (x - 10) / 5 + (y - 22) / 4 <= 1


def colour_at(x: float, y: float) -> tuple[int, int, int, int]:
    """The icon's colour at (x, y) in the SVG's 32 x 32 units."""
    if not _in_round_rect(x, y, 0, 0, 32, 32, 7):
        return (0, 0, 0, 0)
    for cx in (11.5, 16, 20.5):
        if (x - cx) ** 2 + (y - 15) ** 2 <= 1.7**2:
            return (*BLUE, 255)
    if _in_round_rect(x, y, 6, 8, 26, 22, 3) or _in_tail(x, y):
        return (*WHITE, 255)
    return (*BLUE, 255)


def render(size: int) -> bytes:
    """RGBA rows, each pixel the average of SUPERSAMPLE^2 samples."""
    n = SUPERSAMPLE
    rows = bytearray()
    for py in range(size):
        rows.append(0)  # PNG filter: none
        for px in range(size):
            total = [0, 0, 0, 0]
            for sy in range(n):
                for sx in range(n):
                    x = (px + (sx + 0.5) / n) * 32 / size
                    y = (py + (sy + 0.5) / n) * 32 / size
                    r, g, b, a = colour_at(x, y)
                    total[0] += r * a
                    total[1] += g * a
                    total[2] += b * a
                    total[3] += a
            alpha = total[3]
            rgb = [round(c / alpha) if alpha else 0 for c in total[:3]]
            rows.extend([*rgb, round(alpha / (n * n))])
    return bytes(rows)


def png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(render(size), 9))
        + chunk(b"IEND", b"")
    )


def ico(sizes: tuple[int, ...] = (16, 32, 48)) -> bytes:
    images = [png(s) for s in sizes]
    offset = 6 + 16 * len(images)
    out = struct.pack("<HHH", 0, 1, len(images))
    for size, image in zip(sizes, images, strict=True):
        out += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return out + b"".join(images)


if __name__ == "__main__":
    OUT.write_bytes(ico())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
