"""Importers: files, pages and FAQ lists to parsed articles and FAQ entries.

Parsing never touches the database; `service.import_batch` stores a whole batch in one
transaction, so a refused file leaves nothing behind.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from relaydesk.knowledge.errors import FileTooLarge, ImportRefused
from relaydesk.knowledge.importers.documents import (
    parse_docx,
    parse_html,
    parse_markdown,
    parse_pdf,
    parse_plain_text,
)
from relaydesk.knowledge.importers.faq import parse_faq_csv, parse_faq_jsonl
from relaydesk.knowledge.importers.types import ParsedArticle, ParsedBatch, ParsedFaq

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_FILES_PER_IMPORT = 1_000

ARTICLE_SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
FAQ_SUFFIXES = {".jsonl": "faq_jsonl", ".ndjson": "faq_jsonl", ".csv": "faq_csv"}
SUPPORTED_SUFFIXES = frozenset(ARTICLE_SUFFIXES) | frozenset(FAQ_SUFFIXES)

__all__ = [
    "MAX_UPLOAD_BYTES",
    "SUPPORTED_SUFFIXES",
    "ParsedArticle",
    "ParsedBatch",
    "ParsedFaq",
    "file_external_id",
    "parse_file",
]


def file_external_id(name: str) -> str:
    """The id that makes re-importing the same file update its article in place."""
    return "file:" + PurePosixPath(name.replace("\\", "/")).as_posix().lstrip("/")[:190]


def detect_format(name: str, data: bytes) -> str:
    suffix = PurePosixPath(name.lower()).suffix
    kind = ARTICLE_SUFFIXES.get(suffix) or FAQ_SUFFIXES.get(suffix)
    if kind is not None:
        return kind
    head = data.lstrip()[:512].lower()
    if head.startswith(b"%pdf"):
        return "pdf"
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    raise ImportRefused(
        f"{name}: unsupported file type; use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        code="unsupported_format",
        file=name,
    )


def check_size(name: str, size: int, limit: int = MAX_UPLOAD_BYTES) -> None:
    if size > limit:
        raise FileTooLarge(
            f"{name} is larger than {limit // (1024 * 1024)} MiB", file=name, limit=limit
        )


def parse_file(name: str, data: bytes, *, limit: int = MAX_UPLOAD_BYTES) -> ParsedBatch:
    """One file as a batch: one article, or the FAQ entries of an FAQ file."""
    check_size(name, len(data), limit)
    kind = detect_format(name, data)
    batch = ParsedBatch(files=1)
    if kind == "faq_jsonl":
        batch.faqs = parse_faq_jsonl(data, name=name)
        return batch
    if kind == "faq_csv":
        batch.faqs = parse_faq_csv(data, name=name)
        return batch
    parsers = {
        "markdown": parse_markdown,
        "text": parse_plain_text,
        "html": parse_html,
        "pdf": parse_pdf,
        "docx": parse_docx,
    }
    article = parsers[kind](data, name=name)
    article.external_id = file_external_id(name)
    batch.articles.append(article)
    return batch
