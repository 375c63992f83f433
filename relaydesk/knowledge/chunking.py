"""Articles and FAQ entries as index chunks.

An article's Markdown body is cut along its structure: headings (each chunk keeps the path
of headings it sits under), paragraphs, list items, tables and code blocks. Neighbouring
blocks of one section are packed together up to `MAX_CHUNK_CHARS`, and a block longer than
that is cut at sentence ends. Each chunk's indexed text starts with the article title and
its heading path, so a short passage still matches the words of the section it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from relaydesk.knowledge.retrieval import Chunk, faq_entry_chunks
from relaydesk.knowledge.retrieval.chunks import KIND_PASSAGE

# all-MiniLM-L6-v2 reads 256 tokens; ~700 characters of English stay below that, and
# passages of that size are still specific enough to cite.
MAX_CHUNK_CHARS = 700
SNIPPET_CHARS = 240
HEADING_SEPARATOR = " › "

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_LIST_ITEM = re.compile(r"^\s{0,6}([-*+]|\d{1,3}[.)])\s+")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|(?<!\w)\*(?!\s)|(?<!\w)_(?!\s)|`)")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_QUESTION_END = re.compile(r"[?？]\s*$")


def entry_id_of_article(article_id: int) -> str:
    return f"article:{article_id}"


def entry_id_of_faq(faq_id: int) -> str:
    return f"faq:{faq_id}"


@dataclass(frozen=True)
class Passage:
    heading_path: tuple[str, ...]
    text: str


@dataclass
class _Block:
    heading_path: tuple[str, ...]
    text: str


def plain_inline(text: str) -> str:
    """Markdown inline syntax reduced to its words (links keep their text)."""
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _HTML_TAG.sub("", text)
    return _EMPHASIS.sub("", text)


def _blocks(body: str, title: str) -> list[_Block]:
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    headings: list[tuple[int, str]] = []
    blocks: list[_Block] = []
    current: list[str] = []
    current_kind = ""

    def path() -> tuple[str, ...]:
        return tuple(text for _, text in headings)

    def flush() -> None:
        nonlocal current, current_kind
        if current:
            joiner = "\n" if current_kind in ("code", "table", "list") else " "
            text = joiner.join(s.strip() if current_kind != "code" else s for s in current)
            text = text.strip()
            if current_kind not in ("code",):
                text = plain_inline(text)
            if text:
                blocks.append(_Block(path(), text))
        current, current_kind = [], ""

    def set_heading(level: int, text: str) -> None:
        flush()
        text = plain_inline(text).strip()
        while headings and headings[-1][0] >= level:
            headings.pop()
        # The document's own title as its first heading adds nothing to the path.
        if not (level == 1 and not blocks and not headings and text.casefold() == title.casefold()):
            headings.append((level, text))

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush()
            fence = _FENCE.match(line)
            assert fence is not None
            current_kind = "code"
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith(fence.group(1)):
                current.append(lines[i])
                i += 1
            flush()
            i += 1
            continue
        heading = _ATX.match(line)
        if heading:
            set_heading(len(heading.group(1)), heading.group(2))
            i += 1
            continue
        if (
            line.strip()
            and current_kind in ("", "para")
            and len(current) == 0
            and i + 1 < len(lines)
            and _SETEXT.match(lines[i + 1])
            and not _LIST_ITEM.match(line)
        ):
            set_heading(1 if lines[i + 1].strip().startswith("=") else 2, line.strip())
            i += 2
            continue
        if not line.strip():
            if current_kind != "list":
                flush()
            i += 1
            continue
        if _TABLE_ROW.match(line):
            if current_kind != "table":
                flush()
                current_kind = "table"
            if not _TABLE_RULE.match(line):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                current.append(" | ".join(c for c in cells if c))
            i += 1
            continue
        if _LIST_ITEM.match(line):
            # Each item is a block of its own; packing puts neighbours back together.
            flush()
            current_kind = "list"
            current.append(_LIST_ITEM.sub("- ", line, count=1).strip())
            i += 1
            while i < len(lines):
                follow = lines[i]
                if not follow.strip():
                    # A blank line ends the item unless an indented continuation follows.
                    if i + 1 < len(lines) and lines[i + 1].startswith(("  ", "\t")):
                        if _LIST_ITEM.match(lines[i + 1]):
                            break
                        i += 1
                        continue
                    break
                if _LIST_ITEM.match(follow) or _ATX.match(follow) or _FENCE.match(follow):
                    break
                current[-1] += " " + follow.strip()
                i += 1
            flush()
            continue
        if current_kind not in ("", "para"):
            flush()
        current_kind = "para"
        current.append(line)
        i += 1
    flush()
    return blocks


def _split_long(text: str, limit: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    buffer = ""
    for sentence in _SENTENCE_END.split(text):
        if not sentence:
            continue
        while len(sentence) > limit:
            # A "sentence" with no end in sight (e.g. CJK without punctuation): hard cut.
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            if buffer:
                pieces.append(buffer)
                buffer = ""
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        joiner = "" if not buffer or _is_cjk(buffer[-1]) else " "
        if len(buffer) + len(joiner) + len(sentence) > limit and buffer:
            pieces.append(buffer)
            buffer = sentence
        else:
            buffer = buffer + joiner + sentence
    if buffer:
        pieces.append(buffer)
    return [p for p in pieces if p.strip()]


def _is_cjk(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uff00" <= char <= "\uffef"


def split_article(body: str, *, title: str, max_chars: int = MAX_CHUNK_CHARS) -> list[Passage]:
    """The article's passages, in reading order; at least one (the title) for any article."""
    passages: list[Passage] = []
    buffer: list[str] = []
    buffer_path: tuple[str, ...] = ()

    def flush() -> None:
        nonlocal buffer
        if buffer:
            passages.append(Passage(buffer_path, "\n".join(buffer)))
        buffer = []

    for block in _blocks(body, title):
        for piece in _split_long(block.text, max_chars):
            size = sum(len(b) + 1 for b in buffer)
            if block.heading_path != buffer_path or size + len(piece) > max_chars:
                flush()
                buffer_path = block.heading_path
            buffer.append(piece)
    flush()
    if not passages:
        passages.append(Passage((), title))
    return passages


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    cut = cut if cut > limit * 2 // 3 else limit
    return text[:cut].rstrip(" ,;:") + "…"


def article_chunks(
    *,
    article_id: int,
    title: str,
    body: str,
    external_id: str | None,
    source_url: str | None,
    locale: str,
    tags: list[str] | None = None,
) -> list[Chunk]:
    entry_id = entry_id_of_article(article_id)
    chunks = []
    for n, passage in enumerate(split_article(body, title=title)):
        context = HEADING_SEPARATOR.join((title, *passage.heading_path))
        text = passage.text if passage.text == title else f"{context}\n{passage.text}"
        metadata: dict[str, Any] = {
            "kind": KIND_PASSAGE,
            "entry_kind": "article",
            "article_id": article_id,
            "title": title,
            "external_id": external_id,
            "url": source_url,
            "locale": locale,
            "heading_path": list(passage.heading_path),
            "passage": passage.text,
            "tags": list(tags or []),
        }
        heading = passage.heading_path[-1] if passage.heading_path else ""
        if not _QUESTION_END.search(heading):
            chunks.append(Chunk(f"{entry_id}:p{n}", entry_id, text, metadata))
            continue
        # A heading that asks a question ("Can I exchange an item?") is the question its
        # passage answers, as an FAQ entry's question is: it is indexed as the passage's
        # phrasing, in one group with it (retrieval/chunks.py), so a question worded like
        # it matches question to question, not only against a long passage. Headings that
        # name a topic ("退款", "Refunds") are no phrasing of a question and stay out.
        group = f"{entry_id}:p{n}"
        chunks.append(Chunk(f"{entry_id}:p{n}", entry_id, text, metadata, group))
        chunks.append(
            Chunk(f"{entry_id}:p{n}h", entry_id, heading, {**metadata, "role": "heading"}, group)
        )
    return chunks


def faq_chunks(
    *,
    faq_id: int,
    title: str,
    questions: list[str],
    answer: str,
    external_id: str | None,
    locale: str,
    tags: list[str] | None = None,
) -> list[Chunk]:
    metadata: dict[str, Any] = {
        "entry_kind": "faq",
        "faq_id": faq_id,
        "external_id": external_id,
        "url": None,
        "locale": locale,
        "heading_path": [],
        "answer": answer,
        "tags": list(tags or []),
    }
    return faq_entry_chunks(
        entry_id_of_faq(faq_id),
        title=title,
        questions=questions,
        answer=answer,
        metadata=metadata,
    )
