"""Documents to articles: Markdown, plain text, HTML, PDF and DOCX, all to Markdown."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import PurePosixPath
from typing import Any

from relaydesk.knowledge.errors import ImportRefused
from relaydesk.knowledge.importers.text import decode_text, detect_locale
from relaydesk.knowledge.importers.types import ParsedArticle

log = logging.getLogger(__name__)

_H1 = re.compile(r"^ {0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)
MIN_PAGE_CHARS = 20
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


def _stem_title(name: str) -> str:
    stem = PurePosixPath(name).stem
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or "Untitled"


def _title_cut(title: str) -> str:
    title = " ".join(title.split())
    return title[:300]


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    """A leading `---` block of `key: value` lines (title, tags, locale, url)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta: dict[str, Any] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip().strip("'\"")
    return meta, text[match.end() :]


def _tags(value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    return [t.strip() for t in re.split(r"[,;|]", value.strip("[]")) if t.strip()]


def parse_markdown(data: bytes, *, name: str) -> ParsedArticle:
    text = decode_text(data, name=name)
    meta, body = _front_matter(text)
    heading = _H1.search(body)
    title = meta.get("title") or (heading.group(1) if heading else _stem_title(name))
    if not body.strip():
        raise ImportRefused(f"{name} has no text", code="empty_file", file=name)
    return ParsedArticle(
        title=_title_cut(str(title)),
        body=body.strip() + "\n",
        locale=str(meta.get("locale") or detect_locale(body)),
        tags=_tags(meta.get("tags")),
        source_url=meta.get("url") or meta.get("source_url") or None,
    )


def parse_plain_text(data: bytes, *, name: str) -> ParsedArticle:
    text = decode_text(data, name=name).strip()
    lines = text.split("\n")
    first = lines[0].strip()
    # A short first line followed by a blank line reads as the title.
    if len(lines) > 2 and not lines[1].strip() and 0 < len(first) <= 120:
        title, body = first, "\n".join(lines[2:]).strip()
    else:
        title, body = _stem_title(name), text
    # Plain text has no Markdown: stop stray characters from being read as syntax.
    body = re.sub(r"^(\s*)([#>])", r"\1\\\2", body, flags=re.MULTILINE)
    return ParsedArticle(title=_title_cut(title), body=body + "\n", locale=detect_locale(text))


def parse_html(data: bytes, *, name: str, url: str | None = None) -> ParsedArticle:
    import trafilatura

    if not data.strip():
        raise ImportRefused(f"{name} is empty", code="empty_file", file=name)
    try:
        markdown = trafilatura.extract(
            data,
            url=url,
            output_format="markdown",
            include_formatting=True,
            include_tables=True,
            include_links=False,
            include_comments=False,
            favor_recall=True,
        )
        metadata = trafilatura.extract_metadata(data, default_url=url)
    except Exception as exc:  # lxml and trafilatura raise many kinds on broken markup
        raise ImportRefused(f"{name} is not readable HTML", code="corrupt_file", file=name) from exc
    # A page whose only "content" is a menu word or two has nothing to answer from.
    if not markdown or len("".join(markdown.split())) < MIN_PAGE_CHARS:
        raise ImportRefused(f"{name} has no readable text", code="no_text", file=name)
    title = (metadata.title if metadata is not None else None) or ""
    heading = _H1.search(markdown)
    if not title:
        title = heading.group(1) if heading else _stem_title(name)
    return ParsedArticle(
        title=_title_cut(title),
        body=markdown.strip() + "\n",
        locale=detect_locale(markdown),
        source_url=url,
    )


def parse_pdf(data: bytes, *, name: str) -> ParsedArticle:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.strip():
        raise ImportRefused(f"{name} is empty", code="empty_file", file=name)
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise ImportRefused(f"{name} is not a PDF file", code="corrupt_file", file=name)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty password only to set permissions.
            try:
                opened = bool(reader.decrypt(""))
            except Exception:
                opened = False
            if not opened:
                raise ImportRefused(
                    f"{name} is protected by a password; remove it and import again",
                    code="encrypted_pdf",
                    file=name,
                )
        pages = [(page.extract_text() or "") for page in reader.pages]
        meta_title = reader.metadata.title if reader.metadata is not None else None
    except ImportRefused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AssertionError) as exc:
        raise ImportRefused(f"{name} is a damaged PDF", code="corrupt_file", file=name) from exc
    except Exception as exc:  # pypdf raises assorted errors on hostile files
        log.info("PDF %s refused: %r", name, exc)
        raise ImportRefused(f"{name} is a damaged PDF", code="corrupt_file", file=name) from exc
    paragraphs = [_pdf_page_markdown(text) for text in pages]
    body = "\n\n".join(p for p in paragraphs if p)
    if not body.strip():
        raise ImportRefused(
            f"{name} has no text layer (a scan?); import a text version",
            code="no_text",
            file=name,
        )
    first_line = body.strip().split("\n", 1)[0].strip()
    title = str(meta_title or "").strip() or (
        first_line if len(first_line) <= 120 else _stem_title(name)
    )
    return ParsedArticle(title=_title_cut(title), body=body + "\n", locale=detect_locale(body))


def _pdf_page_markdown(text: str) -> str:
    """A page's lines as paragraphs: a line ending a sentence, or a blank line, ends one."""
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if re.match(r"^([•●▪\-*]|\d{1,3}[.)])\s+", line):
            if current:
                paragraphs.append(" ".join(current))
                current = []
            paragraphs.append("- " + re.sub(r"^([•●▪\-*]|\d{1,3}[.)])\s+", "", line))
            continue
        current.append(line)
        if line.endswith((".", "!", "?", "。", "！", "？", ":", "：")):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs).strip()


# A DOCX is a zip: 211 KB of it unpacked into 61 million characters. Refused before
# parsing when its parts unpack past this (markup included; ~30x an article's limit).
MAX_DOCX_UNPACKED_BYTES = 64 * 1024 * 1024


def _check_unpacked_size(data: bytes, name: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise ImportRefused(
            f"{name} is not a readable DOCX file", code="corrupt_file", file=name
        ) from exc
    if unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise ImportRefused(
            f"{name} unpacks to more than {MAX_DOCX_UNPACKED_BYTES} bytes",
            code="file_too_large",
            file=name,
        )


def parse_docx(data: bytes, *, name: str) -> ParsedArticle:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not data.strip():
        raise ImportRefused(f"{name} is empty", code="empty_file", file=name)
    _check_unpacked_size(data, name)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ImportRefused(
            f"{name} is not a readable DOCX file", code="corrupt_file", file=name
        ) from exc
    except Exception as exc:
        log.info("DOCX %s refused: %r", name, exc)
        raise ImportRefused(
            f"{name} is not a readable DOCX file", code="corrupt_file", file=name
        ) from exc
    lines: list[str] = []
    title = (document.core_properties.title or "").strip()
    for block in _docx_blocks(document):
        if isinstance(block, list):  # a table: one line per row
            lines.extend(" | ".join(cell for cell in row if cell) for row in block if any(row))
            lines.append("")
            continue
        style, text = block
        text = text.strip()
        if not text:
            continue
        level = _heading_level(style)
        if style == "title":
            title = title or text
            continue
        if level:
            lines.extend([f"{'#' * level} {text}", ""])
        elif "list" in style:
            lines.append(f"- {text}")
        else:
            lines.extend([text, ""])
    body = "\n".join(lines).strip()
    if not body:
        raise ImportRefused(f"{name} has no text", code="no_text", file=name)
    if not title:
        heading = re.search(r"^#{1,2} (.+)$", body, re.MULTILINE)
        title = heading.group(1) if heading else _stem_title(name)
    return ParsedArticle(title=_title_cut(title), body=body + "\n", locale=detect_locale(body))


def _heading_level(style: str) -> int:
    match = re.match(r"heading\s*(\d)", style)
    return min(int(match.group(1)), 6) if match else 0


def _docx_blocks(document: Any) -> list[Any]:
    """Paragraphs as (style, text) and tables as rows of cell texts, in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[Any] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            blocks.append((style.strip().lower(), paragraph.text))
        elif tag == "tbl":
            table = Table(child, document)
            blocks.append([[cell.text.strip() for cell in row.cells] for row in table.rows])
    return blocks
