"""Which columns are encrypted at rest, and the ORM hooks that encrypt and decrypt them.

Each domain registers its own tables (`protect(...)` in its models.py). From then on a row
loaded through the ORM (`session.get`, `select(Model)`, a model in a joined select) holds
plaintext, and a row the ORM writes is encrypted in the flush and holds plaintext again
after it: service code reads and writes plaintext as before. Core statements bypass these
hooks; the only ones touching encrypted columns are the message write
(`conversations/store.py`, which encrypts before the batch) and the rotation job.

The associated data of each value names its table, column and row (`binding`: the row's
own id where it is chosen before the insert; the conversation id for tables whose ids the
database assigns), so a value moved to another row or column does not decrypt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, event, insert, inspect
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import set_committed_value

from relaydesk.core import blind_index, crypto
from relaydesk.core.crypto_models import SearchIndex
from relaydesk.core.models import Visitor

_index = SearchIndex.__table__  # type: ignore[attr-defined]
_STASH = "relaydesk_plaintext"


@dataclass(frozen=True)
class Protected:
    table: str
    primary_key: str
    fields: tuple[str, ...]
    json_fields: frozenset[str]
    # The attribute naming the row in the associated data.
    binding: str
    # Set: the fields in `search_fields` are searchable through the blind index.
    search_kind: str | None = None
    search_fields: tuple[str, ...] = ()
    conversation_attr: str | None = None

    def associated(self, column: str, row: object) -> bytes:
        return crypto.aad(self.table, column, str(row))

    def seal(self, column: str, value: Any, row: object, ring: crypto.Keyring | None = None) -> Any:
        if value is None:
            return None
        text = json.dumps(value, ensure_ascii=False) if column in self.json_fields else value
        return crypto.encrypt_text(text, self.associated(column, row), ring)

    def open(self, column: str, value: Any, row: object, ring: crypto.Keyring | None = None) -> Any:
        if not isinstance(value, str):
            return value  # None, or a JSON value stored before encryption
        plain = crypto.decrypt_text(value, self.associated(column, row), ring)
        if column in self.json_fields and crypto.is_envelope(value):
            return json.loads(plain)
        return plain


REGISTRY: dict[str, Protected] = {}


def protect(
    model: type[Any],
    *,
    fields: Iterable[str],
    json_fields: Iterable[str] = (),
    binding: str = "id",
    search_kind: str | None = None,
    search_fields: Iterable[str] = (),
    conversation_attr: str | None = None,
) -> Protected:
    table = model.__table__
    spec = Protected(
        table=table.name,
        primary_key=next(iter(table.primary_key.columns)).name,
        fields=tuple(fields),
        json_fields=frozenset(json_fields),
        binding=binding,
        search_kind=search_kind,
        search_fields=tuple(search_fields),
        conversation_attr=conversation_attr,
    )
    REGISTRY[spec.table] = spec

    def decrypt_loaded(target: Any, attrs: Iterable[str] | None = None) -> None:
        loaded = target.__dict__
        row = loaded.get(spec.binding)
        for name in spec.fields if attrs is None else [a for a in attrs if a in spec.fields]:
            if name in loaded:
                set_committed_value(target, name, spec.open(name, loaded[name], row))

    def on_load(target: Any, _context: Any) -> None:
        decrypt_loaded(target)

    def on_refresh(target: Any, _context: Any, attrs: Iterable[str] | None) -> None:
        decrypt_loaded(target, attrs)

    def before_write(_mapper: Mapper[Any], _connection: Connection, target: Any) -> None:
        state = inspect(target)
        inserting = state.key is None
        row = getattr(target, spec.binding)
        plain: dict[str, Any] = {}
        for name in spec.fields:
            if not inserting and not state.attrs[name].history.has_changes():
                continue
            value = getattr(target, name)
            plain[name] = value
            setattr(target, name, spec.seal(name, value, row))
        state.info[_STASH] = plain

    def after_write(_mapper: Mapper[Any], connection: Connection, target: Any) -> None:
        plain: dict[str, Any] = inspect(target).info.pop(_STASH, {})
        for name, value in plain.items():
            set_committed_value(target, name, value)
        if spec.search_kind and any(name in plain for name in spec.search_fields):
            write_index(connection, spec, target)

    def after_delete(_mapper: Mapper[Any], connection: Connection, target: Any) -> None:
        # The index row would outlive the value it was made of (a deleted note, a forgotten
        # visitor): hashes only, but of someone's words.
        connection.execute(
            delete(_index).where(
                _index.c.kind == spec.search_kind,
                _index.c.owner_id == str(getattr(target, spec.primary_key)),
            )
        )

    event.listen(model, "load", on_load)
    event.listen(model, "refresh", on_refresh)
    for name in ("before_insert", "before_update"):
        event.listen(model, name, before_write)
    for name in ("after_insert", "after_update"):
        event.listen(model, name, after_write)
    if spec.search_kind:
        event.listen(model, "after_delete", after_delete)
    return spec


def write_index(connection: Connection, spec: Protected, target: Any) -> None:
    """Replace the blind-index row of `target` (plaintext attributes) in this transaction."""
    assert spec.search_kind is not None
    owner = str(getattr(target, spec.primary_key))
    connection.execute(
        delete(_index).where(_index.c.kind == spec.search_kind, _index.c.owner_id == owner)
    )
    texts = [getattr(target, name) for name in spec.search_fields]
    if not any(texts):
        return
    connection.execute(
        insert(_index).values(
            kind=spec.search_kind,
            owner_id=owner,
            conversation_id=getattr(target, spec.conversation_attr)
            if spec.conversation_attr
            else None,
            tokens=blind_index.index_string(*texts),
        )
    )


# The core tables (messages register in conversations/models.py).
VISITOR = protect(
    Visitor,
    fields=["name", "email", "external_id", "last_page_url", "last_page_title"],
    search_kind="visitor",
    search_fields=["name", "email"],
)
