"""benchmarks/_conversation_cv.py's accounting (docs/retrieval.md, section 7): both metrics
on the same questions, and which answers the earlier turn caused."""

from __future__ import annotations

from typing import Any

from benchmarks._conversation_cv import summary


def _row(expected: str | None, alone: str | None, conv: str | None, conf: float) -> Any:
    return {
        "query": "q", "expected": expected, "earlier": "e", "earlier_entry": "x",
        "alone_cited": alone, "alone_confidence": conf, "conv_cited": conv,
        "conv_confidence": conf, "conv_query": "q",
    }  # fmt: skip


def test_summary_separates_the_mix_from_the_context() -> None:
    rows = [
        _row("a", "a", "a", 0.99),  # right either way
        _row("a", None, "a", 0.5),  # context found the right entry
        _row(None, "b", "b", 0.9),  # out of scope, wrong alone too: not the context's
        _row(None, None, "x", 0.4),  # out of scope, answered only with context
        _row("c", None, None, 0.3),
    ]
    found = summary(rows)
    assert found["in_conversation"]["answered"] == 4
    assert found["in_conversation"]["wrong"] == 2
    assert found["single_question"]["answered"] == 2
    assert found["single_question"]["wrong"] == 1
    assert found["wrong_caused_by_context"] == 1
    assert found["right_gained_from_context"] == 1
    assert len(found["differ"]) == 2
    # A higher bar only removes answers: at 0.96 only the 0.99 one is left.
    assert found["single_question_at_higher_bars"]["0.96"] == {
        "wrong_among_answered": 0.0,
        "in_scope_answered_correctly": round(1 / 3, 4),
    }
