"""What encryption at rest costs the message hot path, in CPU per message.

`store.plan_batch` is where a message is encrypted and its blind-index row made (before
the group-commit batch reaches the database). This times plan_batch over batches of
realistic messages (English and Chinese, 20-200 characters) as it is, and with the
encryption and the index replaced by no-ops, in the same process, interleaved, so the
machine's drift cancels out; and the pieces alone (seal, index, open).

Prints one JSON object.

    python -m benchmarks.encryption            # 20 rounds of 2,000 messages
    python -m benchmarks.encryption --quick    # 3 rounds of 500
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TEXTS = [
    "Hi, where is my order 4417? It was supposed to arrive yesterday.",
    "Can I change the delivery address for my subscription before Friday?",
    "请问退货政策是什么？我上周买的咖啡豆还没有拆封。",
    "ok thanks",
    "I was charged twice for invoice INV-2207, please refund one of them. My email is "
    "ann.lee@example.com and my phone is +44 7700 900123.",
    "订单号 A17 显示已发货，但是物流三天没有更新了，可以帮我查一下吗？",
]


def _requests(count: int) -> list[Any]:
    from relaydesk.conversations.models import SenderKind
    from relaydesk.conversations.store import StoreRequest

    return [
        StoreRequest(
            conversation_id=f"c{i % 50:031d}",
            sender_kind=SenderKind.VISITOR,
            sender_id=f"v{i % 50}",
            sender_name=None,
            client_id=f"m{i}",
            text=TEXTS[i % len(TEXTS)],
            payload={},
        )
        for i in range(count)
    ]


def _states() -> dict[str, Any]:
    from relaydesk.conversations.schemas import ConversationPublic

    now = datetime.now(UTC)
    return {
        f"c{i:031d}": ConversationPublic.model_validate(
            {
                "id": f"c{i:031d}",
                "site_id": 1,
                "visitor_id": f"v{i}",
                "status": "bot",
                "assignee_id": None,
                "team_id": None,
                "handoff_reason": None,
                "last_seq": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        for i in range(50)
    }


def _time_plan(requests: list[Any]) -> float:
    """Microseconds of plan_batch per message, batches of 50."""
    from relaydesk.conversations.store import plan_batch

    now = datetime.now(UTC)
    started = time.perf_counter()
    for at in range(0, len(requests), 50):
        plan_batch(requests[at : at + 50], _states(), {}, now)
    return (time.perf_counter() - started) / len(requests) * 1e6


def _time_each(fn: Callable[[str], object], texts: list[str], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        for text in texts:
            fn(text)
    return (time.perf_counter() - started) / (repeat * len(texts)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 rounds of 500 messages")
    args = parser.parse_args()
    rounds, count = (3, 500) if args.quick else (20, 2000)

    from relaydesk.conversations import store
    from relaydesk.conversations.models import MESSAGE
    from relaydesk.core import blind_index, crypto
    from relaydesk.core.config import override_settings

    with tempfile.TemporaryDirectory() as data_dir, override_settings(data_dir=Path(data_dir)):
        ring = crypto.keyring()
        requests = _requests(count)
        _time_plan(requests)  # warm: jieba-free, but caches and imports
        real_seal, real_index = MESSAGE.seal, blind_index.index_string
        encrypted: list[float] = []
        plain: list[float] = []
        for _ in range(rounds):
            encrypted.append(_time_plan(requests))
            object.__setattr__(MESSAGE, "seal", lambda _c, value, _r, _ring=None: value)
            store.blind_index.index_string = lambda *_t, ring=None: " "  # type: ignore[assignment]
            try:
                plain.append(_time_plan(requests))
            finally:
                object.__delattr__(MESSAGE, "seal")
                store.blind_index.index_string = real_index  # type: ignore[assignment]
        assert MESSAGE.seal == real_seal
        where = crypto.aad("message", "text", "0" * 32)
        sealed = [crypto.encrypt_text(t, where, ring) for t in TEXTS]
        repeat = 200 if args.quick else 2000
        figures = {
            "benchmark": "encryption",
            "config": {"rounds": rounds, "messages": count, "batch": 50},
            "plan_batch_us_per_message": {
                "encrypted": round(statistics.median(encrypted), 2),
                "without_encryption": round(statistics.median(plain), 2),
                "ratio": round(statistics.median(encrypted) / statistics.median(plain), 3),
            },
            "pieces_us": {
                "seal": round(
                    _time_each(lambda t: crypto.encrypt_text(t, where, ring), TEXTS, repeat), 2
                ),
                "index_row": round(
                    _time_each(lambda t: blind_index.index_string(t, ring=ring), TEXTS, repeat), 2
                ),
                "open": round(
                    _time_each(lambda s: crypto.decrypt_text(s, where, ring), sealed, repeat), 2
                ),
            },
            "index_tokens_per_message": round(
                statistics.mean(len(blind_index.index_tokens(t)) for t in TEXTS), 1
            ),
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
