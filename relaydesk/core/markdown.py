"""Markdown for bot answers, agent replies and knowledge-base articles.

Configured like the browser's (`jslib/markdown.js`, markdown-it "default"); both render
`tests/fixtures/markdown_cases.json` alike. Sanitized by construction: raw HTML is off (it
shows as text), images show as links, and only http(s) and mailto links become links
(`javascript:` and the rest stay text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

_SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def _link_open(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    if not str(token.attrGet("href") or "").lower().startswith("mailto:"):
        token.attrSet("target", "_blank")
    token.attrSet("rel", "noopener noreferrer nofollow")
    return str(self.renderToken(tokens, idx, options, env))


def _image(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    # An image becomes a link to it: no tracking pixels or layout surprises in a chat.
    token = tokens[idx]
    alt = escapeHtml(self.renderInlineAsText(token.children or [], options, env))
    href = escapeHtml(str(token.attrGet("src") or ""))
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer nofollow">{alt}</a>'


def _build() -> MarkdownIt:
    md = MarkdownIt("js-default", {"html": False, "linkify": False, "typographer": False})
    md.options["breaks"] = True
    # Chat text is shown as typed: "&lt;" stays "&lt;" (no entity decoding).
    md.disable("entity")
    md.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    return md


_MD = _build()


def render(source: str) -> str:
    """Markdown to safe HTML (a fragment)."""
    return str(_MD.render(source))


def plain(source: str) -> str:
    """The text without its Markdown, on one line: for previews and notifications."""
    words: list[str] = []
    for block in _MD.parse(source):
        if block.type == "inline":
            line = ""
            for token in block.children or []:
                if token.type in ("text", "code_inline", "image"):
                    line += token.content
                elif token.type in ("softbreak", "hardbreak"):
                    line += " "
            words.append(line)
        elif block.type in ("fence", "code_block"):
            words.append(block.content)
    return _SPACE.sub(" ", " ".join(words)).strip()
