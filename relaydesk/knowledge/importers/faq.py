"""FAQ files: JSON Lines (one entry a line) and CSV (one phrasing a row)."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from relaydesk.knowledge.errors import ImportRefused
from relaydesk.knowledge.importers.text import decode_text, detect_locale
from relaydesk.knowledge.importers.types import ParsedFaq
from relaydesk.knowledge.models import (
    MAX_ANSWER_CHARS,
    MAX_EXTERNAL_ID_CHARS,
    MAX_QUESTIONS,
    MAX_TITLE_CHARS,
    _clean_locale,
    _clean_questions,
    _clean_tags,
)

MAX_FAQ_ENTRIES = 20_000
CSV_COLUMNS = ("id", "title", "question", "answer", "tags")


class FaqRecord(BaseModel):
    """One line of an FAQ JSONL file."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=MAX_EXTERNAL_ID_CHARS)
    title: str = Field("", max_length=MAX_TITLE_CHARS)
    questions: list[str] = Field(default_factory=list, max_length=MAX_QUESTIONS)
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)
    tags: list[str] = Field(default_factory=list)
    locale: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: list[str]) -> list[str]:
        return _clean_questions(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return _clean_tags(value)

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return _clean_locale(value) if value else None

    def parsed(self) -> ParsedFaq:
        questions = self.questions
        title = self.title or (questions[0] if questions else "")
        if not title:
            raise ValueError("an entry needs a title or at least one question")
        return ParsedFaq(
            external_id=self.id,
            title=title[:MAX_TITLE_CHARS],
            questions=questions,
            answer=self.answer,
            tags=self.tags,
            locale=self.locale or detect_locale(f"{title} {' '.join(questions)} {self.answer}"),
        )


def _refuse(name: str, line: int, problem: str) -> ImportRefused:
    return ImportRefused(
        f"{name}, line {line}: {problem}", code="invalid_faq_file", file=name, line=line
    )


def _problem(exc: ValidationError | ValueError) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(exc)


def parse_faq_jsonl(data: bytes, *, name: str) -> list[ParsedFaq]:
    text = decode_text(data, name=name)
    entries: dict[str, ParsedFaq] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _refuse(name, number, f"not JSON ({exc.msg})") from None
        if not isinstance(raw, dict):
            raise _refuse(name, number, "each line must be a JSON object")
        try:
            entry = FaqRecord.model_validate(raw).parsed()
        except (ValidationError, ValueError) as exc:
            raise _refuse(name, number, _problem(exc)) from None
        if entry.external_id in entries:
            raise _refuse(name, number, f"id {entry.external_id!r} appears twice")
        entries[entry.external_id] = entry
        if len(entries) > MAX_FAQ_ENTRIES:
            raise _refuse(name, number, f"more than {MAX_FAQ_ENTRIES} entries in one file")
    if not entries:
        raise ImportRefused(f"{name} has no FAQ entries", code="empty_file", file=name)
    return list(entries.values())


def parse_faq_csv(data: bytes, *, name: str) -> list[ParsedFaq]:
    """Columns id,title,question,answer,tags; rows sharing an id add phrasings."""
    text = decode_text(data, name=name)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("id", "question", "answer") if c not in header]
    if missing:
        raise ImportRefused(
            f"{name}: the header must have the columns {', '.join(CSV_COLUMNS)} "
            f"(missing: {', '.join(missing)})",
            code="invalid_faq_file",
            file=name,
            line=1,
        )
    reader.fieldnames = header
    records: dict[str, dict[str, Any]] = {}
    try:
        for row in reader:
            number = reader.line_num
            if None in row:
                raise _refuse(name, number, "more cells than columns")
            cells = {k: (v or "").strip() for k, v in row.items()}
            if not any(cells.values()):
                continue
            if not cells.get("id"):
                raise _refuse(name, number, "the id is empty")
            record = records.setdefault(
                cells["id"],
                {
                    "id": cells["id"],
                    "title": "",
                    "questions": [],
                    "answer": "",
                    "tags": [],
                    "line": number,
                },
            )
            if cells.get("question"):
                record["questions"].append(cells["question"])
            for key in ("title", "answer"):
                if cells.get(key) and not record[key]:
                    record[key] = cells[key]
                elif cells.get(key) and record[key] != cells[key]:
                    raise _refuse(name, number, f"id {cells['id']!r} has two different {key}s")
            record["tags"].extend(t for t in re.split(r"[;,|]", cells.get("tags", "")) if t.strip())
            if len(records) > MAX_FAQ_ENTRIES:
                raise _refuse(name, number, f"more than {MAX_FAQ_ENTRIES} entries in one file")
    except csv.Error as exc:
        raise _refuse(name, reader.line_num, f"not valid CSV ({exc})") from None
    entries = []
    for record in records.values():
        line = record.pop("line")
        try:
            entries.append(FaqRecord.model_validate(record).parsed())
        except (ValidationError, ValueError) as exc:
            raise _refuse(name, line, _problem(exc)) from None
    if not entries:
        raise ImportRefused(f"{name} has no FAQ entries", code="empty_file", file=name)
    return entries
