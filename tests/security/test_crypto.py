"""Encryption at rest, unit by unit: envelopes, associated data, keys, the blind index, and
rows stored before encryption (core/crypto.py, core/encrypted.py, core/blind_index.py)."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text as sql

from relaydesk.conversations.models import Message
from relaydesk.core import blind_index, crypto, rotation
from relaydesk.core.config import Settings
from relaydesk.core.db import Database
from relaydesk.core.models import Visitor
from tests.factories import make_conversation, make_site


def ring_of(*keys: bytes, index: bytes = b"i" * 32) -> crypto.Keyring:
    return crypto.Keyring(
        current=crypto.kid_of_key(keys[0]),
        keys={crypto.kid_of_key(k): k for k in keys},
        index_key=index,
        source="test",
    )


def test_text_round_trip_names_its_key_and_binds_its_row() -> None:
    ring = ring_of(secrets.token_bytes(32))
    where = crypto.aad("message", "text", "row-1")
    sealed = crypto.encrypt_text("退货 please", where, ring)
    assert sealed.startswith(f"v1:{ring.current}:") and "please" not in sealed
    assert crypto.kid_of(sealed) == ring.current
    assert crypto.decrypt_text(sealed, where, ring) == "退货 please"
    # Same plaintext, fresh nonce: equal values do not show as equal ciphertexts.
    assert crypto.encrypt_text("退货 please", where, ring) != sealed
    # Moved to another row, or another column of the same row: refused.
    for elsewhere in (
        crypto.aad("message", "text", "row-2"),
        crypto.aad("visitor", "email", "row-1"),
    ):
        with pytest.raises(crypto.CryptoError, match="failed authentication"):
            crypto.decrypt_text(sealed, elsewhere, ring)


def test_tampered_values_and_unknown_keys_fail_clearly() -> None:
    ring = ring_of(secrets.token_bytes(32))
    where = crypto.aad("visitor", "email", "v1")
    sealed = crypto.encrypt_text("ann@example.com", where, ring)
    prefix, body = sealed.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    tampered = f"{prefix}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(crypto.CryptoError, match=r"visitor\.email:v1 failed authentication"):
        crypto.decrypt_text(tampered, where, ring)
    with pytest.raises(crypto.CryptoError, match="malformed"):
        crypto.decrypt_text(prefix + ":***", where, ring)
    other = ring_of(secrets.token_bytes(32))
    with pytest.raises(crypto.UnknownKey, match=ring.current):
        crypto.decrypt_text(sealed, where, other)
    # After a rotation both keys are held: old values still decrypt.
    both = ring_of(other.keys[other.current], ring.keys[ring.current])
    assert crypto.decrypt_text(sealed, where, both) == "ann@example.com"


def test_bytes_round_trip_and_tampering() -> None:
    ring = ring_of(secrets.token_bytes(32))
    where = crypto.aad("attachment", "file", "a1")
    data = os.urandom(1000)
    sealed = crypto.encrypt_bytes(data, where, ring)
    assert crypto.kid_of_bytes(sealed) == ring.current and data not in sealed
    assert crypto.decrypt_bytes(sealed, where, ring) == data
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt_bytes(sealed, crypto.aad("attachment", "file", "a2"), ring)
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt_bytes(flipped, where, ring)
    # Files stored before encryption are served as they are.
    assert crypto.decrypt_bytes(b"%PDF-1.4 plain", where, ring) == b"%PDF-1.4 plain"


def test_key_file_is_owner_only_and_rotation_keeps_old_keys(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = crypto.keyring(settings)
    path = tmp_path / "data" / crypto.KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    crypto._cache.clear()
    assert crypto.keyring(settings).current == first.current  # the same keys, re-read
    assert path.stat().st_mode & 0o777 == 0o600  # and tightened again
    new = crypto.add_current_key(settings.data_dir)
    ring = crypto.keyring(settings)
    assert ring.current == new != first.current
    assert set(ring.keys) == {first.current, new}
    assert ring.index_key == first.index_key  # the search index survives rotation
    assert path.stat().st_mode & 0o777 == 0o600


def test_keys_from_settings() -> None:
    key, old, index = (base64.b64encode(secrets.token_bytes(32)).decode() for _ in range(3))
    settings = Settings(
        encryption_keys=SecretStr(f"{key},{old}"), encryption_index_key=SecretStr(index)
    )
    ring = crypto.load_keyring(settings)
    assert ring.current == crypto.kid_of_key(base64.b64decode(key)) and len(ring.keys) == 2
    with pytest.raises(ValueError, match="INDEX_KEY"):
        crypto.load_keyring(Settings(encryption_keys=SecretStr(key)))
    with pytest.raises(ValueError, match="32 random bytes"):
        crypto.load_keyring(
            Settings(encryption_keys=SecretStr("short"), encryption_index_key=SecretStr(index))
        )


def test_blind_index_tokens_english_and_chinese() -> None:
    ring = ring_of(secrets.token_bytes(32))

    def matches(text: str, query: str) -> bool:
        stored = blind_index.index_string(text, ring=ring)
        patterns = blind_index.query_patterns(query, ring)
        return bool(patterns) and all(p.strip("%") in stored for p in patterns)

    assert matches("Where is my ORDER 42?", "order 4")
    assert matches("Where is my ORDER 42?", "where ord")
    assert not matches("Where is my ORDER 42?", "rder")  # words are matched from their start
    assert not matches("Where is my ORDER 42?", "order nobody")
    assert matches("ann.lee@example.com", "ann.lee@example.com")
    assert matches("请问退货政策是什么？", "退货")
    assert matches("请问退货政策是什么？", "退货政策")
    assert matches("请问退货政策是什么？", "政")
    assert not matches("请问退货政策是什么？", "退款")
    assert matches("订单 A17 还没到", "a17 没到")
    # Hashes, not tokens, and keyed: another index key gives other hashes.
    stored = blind_index.index_string("refund", ring=ring)
    assert "refund" not in stored
    other = ring_of(secrets.token_bytes(32), index=b"j" * 32)
    assert blind_index.index_string("refund", ring=other) != stored


async def test_a_value_swapped_into_another_row_does_not_decrypt(db: Database) -> None:
    site = await make_site(db)
    a = await make_conversation(db, site, text="first secret")
    b = await make_conversation(db, site, text="second secret")
    async with db.write() as session:
        await session.execute(
            sql(
                "UPDATE message SET text = (SELECT text FROM message WHERE conversation_id = :a) "
                "WHERE conversation_id = :b"
            ),
            {"a": a.id, "b": b.id},
        )
    with pytest.raises(crypto.CryptoError, match=r"message\.text:.*failed authentication"):
        async with db.read() as session:
            await session.get(Message, await _message_id(db, b.id))


async def _message_id(db: Database, conversation_id: str) -> str:
    async with db.read() as session:
        found = (
            await session.execute(
                sql("SELECT id FROM message WHERE conversation_id = :c"), {"c": conversation_id}
            )
        ).scalar_one()
    return str(found)


async def test_rows_stored_before_encryption_read_as_they_are_until_rotate_encrypts_them(
    db: Database,
) -> None:
    site = await make_site(db)
    conversation = await make_conversation(db, site, text="placeholder")
    message_id = await _message_id(db, conversation.id)
    async with db.write() as session:
        # As an older release stored them: plaintext, and no search index rows.
        await session.execute(
            sql("UPDATE message SET text = 'legacy words here' WHERE id = :m"), {"m": message_id}
        )
        await session.execute(
            sql("UPDATE visitor SET email = 'old@example.com' WHERE id = :v"),
            {"v": conversation.visitor_id},
        )
        await session.execute(sql("DELETE FROM search_index"))
    async with db.read() as session:
        message = await session.get(Message, message_id)
        visitor = await session.get(Visitor, conversation.visitor_id)
    assert message is not None and message.text == "legacy words here"
    assert visitor is not None and visitor.email == "old@example.com"

    status = await rotation.rotate(db, await rotation.start(db))
    assert status.progress["message"]["done"] == 1 and status.progress["visitor"]["done"] == 1
    async with db.read() as session:
        raw = (
            await session.execute(sql("SELECT text FROM message WHERE id = :m"), {"m": message_id})
        ).scalar_one()
        tokens = (
            await session.execute(
                sql("SELECT tokens FROM search_index WHERE owner_id = :m"), {"m": message_id}
            )
        ).scalar_one()
        message = await session.get(Message, message_id)
    assert crypto.kid_of(raw) == crypto.keyring().current
    assert message is not None and message.text == "legacy words here"
    ring = crypto.keyring()
    assert all(p.strip("%") in tokens for p in blind_index.query_patterns("legacy words", ring))


async def test_visitors_are_found_by_name_and_email_through_the_blind_index(
    db: Database,
) -> None:
    from relaydesk.sites import service as sites

    site = await make_site(db)
    other = await make_site(db)
    assert site.id is not None and other.id is not None
    ann = await sites.create_visitor(db, site_id=site.id, locale="en")
    bob = await sites.create_visitor(db, site_id=site.id, locale="zh")
    elsewhere = await sites.create_visitor(db, site_id=other.id, locale="en")
    async with db.write() as session:
        for visitor, name, email in (
            (ann, "Ann Lee", "ann.lee@example.com"),
            (bob, "王小明", "bob@example.org"),
            (elsewhere, "Ann Lee", "ann.lee@example.com"),
        ):
            row = await session.get(Visitor, visitor.id)
            assert row is not None
            row.name, row.email = name, email
    found = await sites.find_visitors(db, site_id=site.id, query="ann.lee@example.com")
    assert [v.id for v in found] == [ann.id] and found[0].email == "ann.lee@example.com"
    assert [v.id for v in await sites.find_visitors(db, site_id=site.id, query="lee")] == [ann.id]
    assert [v.id for v in await sites.find_visitors(db, site_id=site.id, query="小明")] == [bob.id]
    assert await sites.find_visitors(db, site_id=site.id, query="carol") == []
    # A changed email is searchable at once, and the old one no longer is.
    async with db.write() as session:
        row = await session.get(Visitor, ann.id)
        assert row is not None
        row.email = "ann@new.example"
    assert await sites.find_visitors(db, site_id=site.id, query="ann.lee@example.com") == []
    assert [v.id for v in await sites.find_visitors(db, site_id=site.id, query="ann@new")] == [
        ann.id
    ]
    async with db.read() as session:
        raw = (
            await session.execute(sql("SELECT email FROM visitor WHERE id = :v"), {"v": ann.id})
        ).scalar_one()
    assert raw.startswith("v1:") and "ann" not in raw


async def test_keys_rotate_killed_midway_and_rerun_finishes(db: Database) -> None:
    """The real command in its own process, killed (SIGKILL) after some committed chunks,
    then run again: it resumes the same rotation and finishes; every message reads back."""
    import asyncio
    import json
    import os
    import signal
    import sys

    from relaydesk.core.config import get_settings

    site = await make_site(db)
    texts = [f"message number {i} about refunds" for i in range(40)]
    for text in texts:
        await make_conversation(db, site, text=text)
    settings = get_settings()
    env = {
        **os.environ,
        "RELAYDESK_DATA_DIR": str(settings.data_dir),
        "RELAYDESK_DATABASE_URL": str(settings.database_url),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    command = [sys.executable, "-m", "relaydesk", "keys", "rotate", "--json", "--chunk", "1"]
    first = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    assert first.stdout is not None
    while True:
        line = await asyncio.wait_for(first.stdout.readline(), timeout=60)
        assert line, "the rotation ended before it could be killed"
        status = json.loads(line)
        if status["progress"].get("message", {}).get("done", 0) >= 5:
            break
    first.send_signal(signal.SIGKILL)
    await first.wait()
    crypto._cache.clear()
    ring = crypto.keyring()
    assert ring.current == status["target_kid"]
    async with db.read() as session:
        stored = list((await session.execute(sql("SELECT text FROM message"))).scalars())
    kids = {crypto.kid_of(t) for t in stored}
    assert status["target_kid"] in kids and len(kids) == 2  # killed half way
    async with db.read() as session:
        loaded = list((await session.execute(select_messages())).scalars())
    assert sorted(m.text for m in loaded) == sorted(texts)  # readable half way

    second = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(second.communicate(), timeout=120)
    assert second.returncode == 0, err.decode()
    statuses = [json.loads(line) for line in out.decode().splitlines()]
    assert statuses[0]["id"] == status["id"]  # resumed, not a new rotation
    assert statuses[-1]["finished"] and statuses[-1]["target_kid"] == status["target_kid"]
    async with db.read() as session:
        stored = list((await session.execute(sql("SELECT text FROM message"))).scalars())
        loaded = list((await session.execute(select_messages())).scalars())
    assert {crypto.kid_of(t) for t in stored} == {status["target_kid"]}
    assert sorted(m.text for m in loaded) == sorted(texts)
    # The audit log has each run's start (the rerun resumes: it starts again) and the finish.
    async with db.read() as session:
        audited = (
            await session.execute(
                sql("SELECT actor_kind, target_id, details FROM audit_log WHERE action = :a"),
                {"a": "keys.rotate"},
            )
        ).all()
    phases = [json.loads(d)["phase"] if isinstance(d, str) else d["phase"] for _, _, d in audited]
    assert phases == ["started", "started", "finished"]
    assert {(kind, target) for kind, target, _ in audited} == {("cli", status["target_kid"])}


def select_messages() -> Any:
    from sqlmodel import select

    return select(Message)
