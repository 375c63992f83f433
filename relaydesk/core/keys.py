"""Signing keys: which key signs tokens, which keys still verify them, and where the key
comes from when the operator gave none.

A key given in `RELAYDESK_SECRET_KEY` wins. Otherwise a random key is generated once and
kept in the data dir as `secret_key` (mode 0600), so a default install never signs with a
key anyone else knows, and restarts keep sessions valid. Several nodes must share the key:
set it explicitly (or share the data dir).

Every token carries the id (`kid`) of the key that signed it, a fingerprint of the key, so
rotation is: move the old key to `RELAYDESK_PREVIOUS_SECRET_KEYS`, set the new one; tokens
signed by the old key keep working until they expire or the old key is dropped.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relaydesk.core.config import Settings

# The key earlier versions shipped as a default: published in this repository, so it is
# refused outside development even if someone sets it explicitly.
DEV_SECRET_KEY = "relaydesk-development-secret-do-not-use-in-production"
KEY_FILE = "secret_key"
MIN_KEY_CHARS = 32
# Bits per character of the key's own character distribution. Random base64 or hex keys of
# 32+ characters score 3.9-5.5; repeated words and keyboard runs score under 3.
MIN_KEY_ENTROPY = 3.0


def shannon_entropy(text: str) -> float:
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values()) if total else 0.0


def weak_key_problem(key: str) -> str | None:
    """Why this key must not sign tokens outside development, or None."""
    if key == DEV_SECRET_KEY:
        return "it is the development key published in the source"
    if len(key.encode()) < MIN_KEY_CHARS:
        return f"it is shorter than {MIN_KEY_CHARS} bytes"
    if shannon_entropy(key) < MIN_KEY_ENTROPY:
        return "it is not random enough (too few distinct characters)"
    return None


def split_keys(value: str) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()]


def key_id(key: str) -> str:
    """A public name for a key: a truncated hash, which reveals nothing about a random key."""
    return hashlib.sha256(b"relaydesk-kid:" + key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKeys:
    current: str
    kid: str
    # Every key that may verify, by id: the current one first.
    verifying: dict[str, str]


def generated_key(data_dir: Path) -> str:
    """The data dir's key, created on first use with owner-only permissions. Creation is
    exclusive, so two processes starting together agree on one key."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            # Someone loosened it (a copy, a restore): a key others can read is no secret.
            path.chmod(0o600)
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
        # An empty file is a crash between create and write: fill it in below.
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def load_signing_keys(settings: Settings) -> SigningKeys:
    current = (
        settings.secret_key.get_secret_value()
        if settings.secret_key is not None
        else generated_key(settings.data_dir)
    )
    previous = (
        split_keys(settings.previous_secret_keys.get_secret_value())
        if settings.previous_secret_keys is not None
        else []
    )
    verifying = {key_id(current): current}
    for key in previous:
        verifying.setdefault(key_id(key), key)
    return SigningKeys(current=current, kid=key_id(current), verifying=verifying)
