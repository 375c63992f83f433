"""The server's Markdown renders the shared fixture cases exactly as the browser's does
(widget/test/markdown.test.js reads the same file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from relaydesk.core.markdown import plain, render

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "fixtures" / "markdown_cases.json").read_text("utf-8")
)["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_renders_like_the_browser(case: dict[str, Any]) -> None:
    assert render(case["input"]) == case["html"]
    assert plain(case["input"]) == case["plain"]


def test_no_unsafe_output() -> None:
    # Raw HTML, script links and images never become markup.
    for case in CASES:
        html = render(case["input"]).lower()
        assert "<script" not in html
        assert 'href="javascript' not in html and 'href="data' not in html
        assert "<img" not in html


def test_inbox_snippets_are_plain_text() -> None:
    from relaydesk.agents_console.inbox_details import SNIPPET_CHARS, snippet
    from relaydesk.conversations.models import Message

    message = Message(text="Try the **Colombia Huila Decaf** from [our shop](https://x.example).")
    assert snippet(message) == "Try the Colombia Huila Decaf from our shop."
    long = snippet(Message(text="**" + "咖啡" * 200 + "**"))
    assert long is not None and "**" not in long and len(long) == SNIPPET_CHARS
