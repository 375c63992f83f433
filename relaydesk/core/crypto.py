"""Encryption at rest: AES-256-GCM under a keyring of data keys, plus the blind-index key.

What is encrypted, and how (docs/security.md has the whole picture):

- Text values (message text, visitor name and email, notes, ...) are stored as a versioned
  envelope `v1:<kid>:<base64url(nonce || ciphertext || tag)>`, so the key id travels with
  every value: a row's key is known without a separate column, and rotation finds the
  rows still under an old key with `NOT LIKE 'v1:<current kid>:%'`.
- Byte values (attachment files) are `RDE1 || kid || nonce || ciphertext || tag`.
- The associated data names the table, the column and the row (`message.text:<id>`), so a
  ciphertext copied into another row or column fails authentication instead of decrypting
  to someone else's text.

Keys come from `RELAYDESK_ENCRYPTION_KEYS` (base64 32-byte keys, current first) with
`RELAYDESK_ENCRYPTION_INDEX_KEY`, or else from `<data dir>/encryption_keys.json`, created on
first start with owner-only permissions like the signing key (`core/keys.py`). The file
keeps every key ever current, so values under an old key stay readable during and after a
rotation; `relaydesk keys rotate` adds a new current key to it (`rotation.py`). A running
server notices the file changed within `RELOAD_SECONDS` and writes under the new key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from relaydesk.core.config import Settings

ENVELOPE = "v1"
BYTES_MAGIC = b"RDE1"
KID_CHARS = 12
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
KEY_FILE = "encryption_keys.json"
# How stale a server's view of the key file may be: a rotation's new key is used for
# writes within this long (values under the old key stay readable all along).
RELOAD_SECONDS = 2.0


class CryptoError(Exception):
    """A stored value cannot be decrypted: tampered with, moved to another row, or under a
    key this server does not have. Never the plaintext's fault, so never shown to users."""


class UnknownKey(CryptoError):
    pass


def kid_of_key(key: bytes) -> str:
    """A public name for a key: a truncated hash, which reveals nothing about a random key."""
    return hashlib.sha256(b"relaydesk-encryption-kid:" + key).hexdigest()[:KID_CHARS]


def decode_key(text: str) -> bytes:
    """A 32-byte key written as base64 (standard or url-safe, padding optional) or hex."""
    text = text.strip()
    candidates: list[bytes] = []
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.b64decode(text + "=" * (-len(text) % 4)))
    with contextlib.suppress(ValueError):
        candidates.append(bytes.fromhex(text))
    for key in candidates:
        if len(key) == KEY_BYTES:
            return key
    raise ValueError("an encryption key must be 32 random bytes, as base64 or hex")


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


@dataclass(frozen=True)
class Keyring:
    current: str
    keys: dict[str, bytes]
    index_key: bytes
    # Where the keys came from: "settings" or the key file's path.
    source: str
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, compare=False, repr=False)

    def cipher(self, kid: str) -> AESGCM:
        found = self._ciphers.get(kid)
        if found is None:
            key = self.keys.get(kid)
            if key is None:
                raise UnknownKey(f"no encryption key with id {kid!r} is configured")
            found = self._ciphers[kid] = AESGCM(key)
        return found


def aad(table: str, column: str, row: str) -> bytes:
    return f"{table}.{column}:{row}".encode()


# ---------------------------------------------------------------------------------------
# Values


def encrypt_text(value: str, associated: bytes, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.cipher(ring.current).encrypt(nonce, value.encode(), associated)
    return f"{ENVELOPE}:{ring.current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def is_envelope(value: str) -> bool:
    return value.startswith(ENVELOPE + ":")


def kid_of(value: str) -> str | None:
    """The key id of an encrypted value; None for plaintext stored before encryption."""
    if not is_envelope(value):
        return None
    return value[len(ENVELOPE) + 1 : len(ENVELOPE) + 1 + KID_CHARS]


def decrypt_text(value: str, associated: bytes, ring: Keyring | None = None) -> str:
    """The plaintext of `value`. A value without the envelope is plaintext from before
    encryption was enabled (the rotate job encrypts those) and is returned as it is."""
    if not is_envelope(value):
        return value
    ring = ring or keyring()
    try:
        _, kid, body = value.split(":", 2)
        raw = base64.urlsafe_b64decode(body.encode("ascii"))
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise ValueError("too short")
    except (ValueError, binascii.Error) as exc:
        raise CryptoError(f"malformed encrypted value for {associated.decode()}") from exc
    try:
        plain = ring.cipher(kid).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
    except InvalidTag as exc:
        raise CryptoError(
            f"encrypted value for {associated.decode()} failed authentication "
            "(tampered with, or copied from another row or column)"
        ) from exc
    return plain.decode()


def encrypt_bytes(data: bytes, associated: bytes, ring: Keyring | None = None) -> bytes:
    ring = ring or keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.cipher(ring.current).encrypt(nonce, data, associated)
    return BYTES_MAGIC + ring.current.encode() + nonce + sealed


def kid_of_bytes(blob: bytes) -> str | None:
    if not blob.startswith(BYTES_MAGIC):
        return None
    return blob[len(BYTES_MAGIC) : len(BYTES_MAGIC) + KID_CHARS].decode("ascii", "replace")


def decrypt_bytes(blob: bytes, associated: bytes, ring: Keyring | None = None) -> bytes:
    """The plaintext of `blob`; bytes stored before encryption are returned as they are."""
    kid = kid_of_bytes(blob)
    if kid is None:
        return blob
    ring = ring or keyring()
    start = len(BYTES_MAGIC) + KID_CHARS
    if len(blob) < start + NONCE_BYTES + TAG_BYTES:
        raise CryptoError(f"encrypted file {associated.decode()} is truncated")
    try:
        return ring.cipher(kid).decrypt(
            blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :], associated
        )
    except InvalidTag as exc:
        raise CryptoError(
            f"encrypted file {associated.decode()} failed authentication (tampered with or "
            "copied from another attachment)"
        ) from exc


# ---------------------------------------------------------------------------------------
# The key file


def key_file_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def _new_key_entry() -> dict[str, str]:
    key = secrets.token_bytes(KEY_BYTES)
    return {"kid": kid_of_key(key), "key": encode_key(key), "created_at": _now()}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_key_file(path: Path, data: dict[str, Any]) -> None:
    """Replace the key file atomically; the new file is owner-only from its creation."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def read_key_file(data_dir: Path) -> dict[str, Any]:
    """The data dir's key file, created on first use (exclusively, so two processes
    starting together agree on one set of keys) with owner-only permissions."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = key_file_path(data_dir)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        text = path.read_text(encoding="utf-8")
        if text.strip():
            data: dict[str, Any] = json.loads(text)
            return data
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    entry = _new_key_entry()
    data = {
        "current": entry["kid"],
        "keys": [entry],
        "index_key": encode_key(secrets.token_bytes(KEY_BYTES)),
    }
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    return data


_file_lock = threading.Lock()


def add_current_key(data_dir: Path) -> str:
    """Generate a key, make it the current one in the key file, keep the others; its id."""
    with _file_lock:
        data = read_key_file(data_dir)
        entry = _new_key_entry()
        data["keys"].append(entry)
        data["current"] = entry["kid"]
        write_key_file(key_file_path(data_dir), data)
    _cache.clear()
    return entry["kid"]


def _from_file(data_dir: Path) -> Keyring:
    data = read_key_file(data_dir)
    keys = {item["kid"]: decode_key(item["key"]) for item in data["keys"]}
    if data["current"] not in keys:
        raise ValueError(f"{key_file_path(data_dir)} names a current key it does not hold")
    return Keyring(
        current=data["current"],
        keys=keys,
        index_key=decode_key(data["index_key"]),
        source=str(key_file_path(data_dir)),
    )


def load_keyring(settings: Settings) -> Keyring:
    if settings.encryption_keys is None:
        return _from_file(settings.data_dir)
    listed = [
        decode_key(k) for k in settings.encryption_keys.get_secret_value().split(",") if k.strip()
    ]
    if not listed:
        raise ValueError("RELAYDESK_ENCRYPTION_KEYS lists no key")
    if settings.encryption_index_key is None:
        raise ValueError(
            "RELAYDESK_ENCRYPTION_KEYS needs RELAYDESK_ENCRYPTION_INDEX_KEY (the search "
            "index key, which never rotates)"
        )
    return Keyring(
        current=kid_of_key(listed[0]),
        keys={kid_of_key(k): k for k in listed},
        index_key=decode_key(settings.encryption_index_key.get_secret_value()),
        source="settings",
    )


# (data dir, keys setting) -> (when checked, key file mtime, keyring)
_cache: dict[tuple[str, str], tuple[float, float, Keyring]] = {}


def keyring(settings: Settings | None = None) -> Keyring:
    """The keyring in use: cached, and re-read when the key file changes (a rotation run
    by another process), checked at most every RELOAD_SECONDS."""
    if settings is None:
        from relaydesk.core.config import get_settings

        settings = get_settings()
    given = settings.encryption_keys.get_secret_value() if settings.encryption_keys else ""
    cache_key = (str(settings.data_dir), given)
    now = time.monotonic()
    cached = _cache.get(cache_key)
    if cached is not None and (given or now - cached[0] < RELOAD_SECONDS):
        return cached[2]
    mtime = 0.0
    if not given:
        try:
            mtime = key_file_path(settings.data_dir).stat().st_mtime
        except FileNotFoundError:
            mtime = -1.0
    if cached is not None and cached[1] == mtime:
        _cache[cache_key] = (now, mtime, cached[2])
        return cached[2]
    ring = load_keyring(settings)
    if not given:
        mtime = key_file_path(settings.data_dir).stat().st_mtime
    _cache[cache_key] = (now, mtime, ring)
    return ring
