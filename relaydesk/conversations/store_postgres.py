"""The message write on PostgreSQL: one compare-and-set statement, no transaction.

`store.store_batch` takes seven round trips on PostgreSQL (BEGIN, lock, resends, bump,
messages, events, COMMIT), and under load each one waits for a turn of a busy event loop,
so a batch's latency was mostly waiting: ack p99 several times the SQLite build's. Here the
common batch takes one round trip, straight on the asyncpg connection, or two when its
conversations are not in this process's memory:

1. The batch's conversations as this process last wrote them (`OptimisticStore`), or else
   as read now, without locking them.
2. Plan the batch against that state in memory (`store.plan_batch`, the same validation as
   the locked path), then write it in ONE statement, a call of the function that
   migration 0004_store_messages_function created (now its v3, of 0009), which PostgreSQL
   runs atomically: bump each conversation's `last_seq` only WHERE it still holds the
   expected `last_seq`, status and assignee and none of the batch's client ids is stored
   in it yet; insert the messages, their events and their blind-index rows for exactly the
   conversations whose bump matched.

Why that is enough: every stored message bumps `last_seq` in the statement (or
transaction) that stores it, so an unchanged `last_seq` means no message was added since
the state was taken, hence the seqs planned from it are the next ones and the resend check,
made after the state was taken, is current. Status and assignee are all the validation reads (see
`store.message_effects`). The UPDATE holds the row lock of a matched conversation until the
statement commits, and when it had to wait for another writer's lock, PostgreSQL re-checks
the condition against the row that writer committed.

A conversation whose bump does not match (another process wrote to it, a transition moved
it) writes nothing; its messages, refusals included, are tried once more from a fresh
read, then by the locked path. The locked path also takes the rare messages that change a
conversation's state (a reopen, a takeover), and any batch this path could not finish (a
lost connection: the locked path's resend check finds whatever did commit).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

import asyncpg
import orjson

from relaydesk.conversations.schemas import ConversationPublic
from relaydesk.conversations.store import (
    Outcome,
    Plan,
    Stored,
    StoreRequest,
    plan_batch,
    store_batch,
)
from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.models import utcnow

log = logging.getLogger(__name__)

_READ = "SELECT * FROM conversation WHERE id = ANY($1::varchar[])"

# The write, a function created by migration 0009_message_events_in_write (v2 of
# 0005_encryption, which added the messages' blind-index rows to v1 of
# 0004_store_messages_function, with each message's `message.stored` event made in the
# database from the message itself rather than sent beside it).
_WRITE = "SELECT * FROM relaydesk_store_messages_v3($1::json, $2::json, $3, $4)"


# Conversations whose state this process last saw, to skip step 1. More than a node's
# active conversations, a few MB.
KNOWN_CONVERSATIONS = 20_000


class OptimisticStore:
    """Stores message batches on one PostgreSQL database (see the module docstring).

    It remembers each conversation as its last successful write returned it, so a batch
    whose conversations are all remembered skips the read and takes one round trip. That
    memory may be stale (another process wrote, a transition ran): the compare-and-set
    then does not match, and the batch reads and tries once more before the locked path.
    A refusal, which no compare-and-set confirms, is never decided from memory.
    """

    def __init__(self, db: Database) -> None:
        # Weak: the writer holding this store is kept in a mapping keyed by `db`.
        self._db = weakref.ref(db)
        self._known: OrderedDict[str, ConversationPublic] = OrderedDict()
        self._connection: asyncpg.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        db.on_dispose(self.close)

    async def _connect(self, db: Database) -> asyncpg.Connection:
        """The store's own connection, beside the pool: batches run one at a time
        (`BatchWriter`), so one is enough, and it skips the pool's checkout."""
        loop = asyncio.get_running_loop()
        connection = self._connection
        if connection is not None and (self._loop is not loop or connection.is_closed()):
            connection.terminate()  # a loop of the past (tests) or a dead socket
            connection = self._connection = None
        if connection is None:
            args, options = db.engine.dialect.create_connect_args(db.engine.url)
            accepted = inspect.signature(asyncpg.connect).parameters
            connection = await asyncpg.connect(
                *args, **{k: v for k, v in options.items() if k in accepted}
            )
            self._connection, self._loop = connection, loop
        return connection

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._loop is asyncio.get_running_loop():
            await connection.close()
        else:
            connection.terminate()

    async def store_batch(self, requests: Sequence[StoreRequest]) -> list[Outcome]:
        """Store `requests`; one outcome per request, same order."""
        db = self._db()
        if db is None:
            raise RuntimeError("the database was disposed of")
        outcomes: list[Outcome | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        locked: list[int] = []  # for the locked path whatever happens
        for remembered in (True, False):
            try:
                pending, changing = await self._attempt(db, requests, pending, outcomes, remembered)
            except Exception as exc:
                # Nothing is known to have committed: the locked path does what is left,
                # and its resend check returns whatever did commit as stored.
                log.warning("optimistic write of %d messages failed: %r", len(pending), exc)
                for i in pending:
                    self._known.pop(requests[i].conversation_id, None)
                break
            locked += changing
            if not pending:
                break
        pending = sorted(locked + pending)
        if pending:
            again = await db.run_write(
                partial(store_batch, requests=[requests[i] for i in pending])
            )
            for i, outcome in zip(pending, again, strict=True):
                outcomes[i] = outcome
        assert all(outcome is not None for outcome in outcomes)
        return outcomes  # type: ignore[return-value]

    async def _attempt(
        self,
        db: Database,
        requests: Sequence[StoreRequest],
        pending: list[int],
        outcomes: list[Outcome | None],
        remembered: bool,
    ) -> tuple[list[int], list[int]]:
        """Try the `pending` requests and fill in the outcomes of those settled. Returns
        the indexes of the rest: those worth another try (their conversation's
        compare-and-set did not match, or a refusal came from memory), and those only the
        locked path can store (their messages change the conversation's state)."""
        now = utcnow()
        batch = [requests[i] for i in pending]
        ids = sorted({r.conversation_id for r in batch})
        state = {c: self._known[c] for c in ids if remembered and c in self._known}
        from_memory = set(state)
        pg = await self._connect(db)
        try:
            missing = [c for c in ids if c not in state]
            if missing:
                state.update(await _read(pg, missing))
            expected = dict(state)  # plan_batch moves `state` on
            # The function writes the messages' own events (migration 0009).
            plan = plan_batch(batch, state, {}, now, message_events=False)
            # A refusal decided from memory may be stale; state changes (rare) take the
            # locked path, which writes any column.
            doubtful = {
                r.conversation_id
                for r, outcome in zip(batch, plan.outcomes, strict=True)
                if isinstance(outcome, Exception) and r.conversation_id in from_memory
            }
            optimistic = {
                c: n for c, n in plan.counts.items() if c not in plan.changed and c not in doubtful
            }
            won = await _compare_and_set(pg, plan, optimistic, expected, now) if optimistic else {}
        except asyncpg.PostgresError:
            raise  # reported by the server: the connection itself is fine
        except BaseException:
            # Lost, or interrupted mid-statement: a fresh connection next time.
            self._connection = None
            pg.terminate()
            raise
        unsettled = (set(plan.counts) | doubtful) - won.keys()
        retry: list[int] = []
        changing: list[int] = []
        for i, request, outcome in zip(pending, batch, plan.outcomes, strict=True):
            conversation_id = request.conversation_id
            if conversation_id in plan.changed:
                changing.append(i)
                continue
            if conversation_id in unsettled:
                retry.append(i)
                continue
            if isinstance(outcome, Stored):
                # The conversation as committed: columns no validation depends on (its
                # team, say) may have been changed by someone else since it was read.
                outcome.conversation = won[conversation_id].model_copy(
                    update={"last_seq": outcome.message.seq}
                )
            outcomes[i] = outcome
        self._remember(won, forget=unsettled)
        return retry, changing

    def _remember(self, won: dict[str, ConversationPublic], forget: set[str]) -> None:
        for conversation_id in forget:
            self._known.pop(conversation_id, None)
        for conversation_id, conversation in won.items():
            self._known[conversation_id] = conversation
            self._known.move_to_end(conversation_id)
        while len(self._known) > KNOWN_CONVERSATIONS:
            self._known.popitem(last=False)


async def _read(pg: asyncpg.Connection, ids: list[str]) -> dict[str, ConversationPublic]:
    return {
        row["id"]: ConversationPublic.model_validate(dict(row))
        for row in await pg.fetch(_READ, ids)
    }


async def _compare_and_set(
    pg: asyncpg.Connection,
    plan: Plan,
    counts: dict[str, int],
    expected: dict[str, ConversationPublic],
    now: datetime,
) -> dict[str, ConversationPublic]:
    """Run the write statement for `counts`' conversations; those whose bump matched, as
    committed."""
    ids = sorted(counts)
    conversations = [
        {
            "id": c,
            "last_seq": expected[c].last_seq,
            "status": expected[c].status,
            "assignee_id": expected[c].assignee_id,
            "added": counts[c],
        }
        for c in ids
    ]
    # Each message carries its blind-index tokens and its character count, for its event
    # (plan.index_rows and plan.chars are in the same order).
    messages = [
        {**_pick(m, _MESSAGE_FIELDS), "tokens": i["tokens"], "chars": chars}
        for m, i, chars in zip(plan.message_rows, plan.index_rows, plan.chars, strict=True)
        if m["conversation_id"] in counts
    ]
    # The only events the function writes are the messages' own: a message that changes
    # its conversation's state (and so has an event of its own) takes the locked path.
    assert not any(e["conversation_id"] in counts for e in plan.event_rows)
    rows = await pg.fetch(_WRITE, _json(conversations), _json(messages), now, event_log.enabled())
    return {row["id"]: ConversationPublic.model_validate(dict(row)) for row in rows}


_MESSAGE_FIELDS = (
    "id",
    "conversation_id",
    "seq",
    "sender_kind",
    "sender_id",
    "sender_name",
    "client_id",
    "text",
    "payload",
)


def _pick(row: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {name: row[name] for name in names}


def _json(rows: list[dict[str, Any]]) -> str:
    # Integer keys become strings, as with the stdlib `json` the locked path stores with.
    return orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode()
