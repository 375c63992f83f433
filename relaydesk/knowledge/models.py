"""Knowledge-base tables (articles with their version history, FAQ entries, the per-site
knowledge-base version) and the REST schemas for them."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from relaydesk.core.models import UTCDateTime, utcnow

MAX_TITLE_CHARS = 300
MAX_BODY_CHARS = 2_000_000
MAX_QUESTIONS = 50
MAX_QUESTION_CHARS = 1_000
MAX_ANSWER_CHARS = 20_000
MAX_TAGS = 30
MAX_TAG_CHARS = 64
MAX_EXTERNAL_ID_CHARS = 200
MAX_URL_CHARS = 2_000
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


class ContentStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


def _ts(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _text() -> Any:
    return Field(default="", sa_column=Column(Text, nullable=False))


class Article(SQLModel, table=True):
    """A help-center article; `body` is Markdown. Re-imports match on `external_id`, then
    on `source_url`."""

    __table_args__ = (
        UniqueConstraint("site_id", "external_id", name="uq_article_site_external"),
        Index("ix_article_site_source_url", "site_id", "source_url"),
        Index("ix_article_site_status", "site_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id")
    external_id: str | None = Field(default=None, max_length=MAX_EXTERNAL_ID_CHARS)
    source_url: str | None = Field(default=None, max_length=MAX_URL_CHARS)
    title: str = Field(max_length=MAX_TITLE_CHARS)
    body: str = _text()
    status: str = Field(default=ContentStatus.DRAFT, max_length=16)
    locale: str = Field(default="en", max_length=16)
    tags: list[str] = _json_list()
    # The newest ArticleVersion's number.
    version: int = Field(default=1)
    # Bumped on every change of the row; the index compares it to know what to re-read.
    revision: int = Field(default=1)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ArticleVersion(SQLModel, table=True):
    """One saved state of an article's content; never changed once written."""

    __tablename__ = "article_version"
    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_article_version"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    version: int
    title: str = Field(max_length=MAX_TITLE_CHARS)
    body: str = _text()
    locale: str = Field(default="en", max_length=16)
    tags: list[str] = _json_list()
    source_url: str | None = Field(default=None, max_length=MAX_URL_CHARS)
    author_kind: str = Field(max_length=16)
    author_id: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=200)
    created_at: datetime = _ts()


class FaqEntry(SQLModel, table=True):
    """A question with its phrasings and one answer."""

    __tablename__ = "faq_entry"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id", name="uq_faq_entry_site_external"),
        Index("ix_faq_entry_site_status", "site_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id")
    external_id: str | None = Field(default=None, max_length=MAX_EXTERNAL_ID_CHARS)
    title: str = Field(max_length=MAX_TITLE_CHARS)
    questions: list[str] = _json_list()
    answer: str = _text()
    tags: list[str] = _json_list()
    locale: str = Field(default="en", max_length=16)
    status: str = Field(default=ContentStatus.DRAFT, max_length=16)
    revision: int = Field(default=1)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class KnowledgeBaseState(SQLModel, table=True):
    """Per site, a counter bumped by every change that affects retrieval, so that every
    process serving searches notices (with one cheap read) that its index is stale."""

    __tablename__ = "knowledge_base_state"

    site_id: int = Field(foreign_key="site.id", primary_key=True)
    version: int = Field(default=0)
    updated_at: datetime = _ts()


# Schemas


def _clean_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise ValueError(f"a tag has at most {MAX_TAG_CHARS} characters")
        seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return list(seen)


def _clean_locale(locale: str) -> str:
    locale = locale.strip()
    if not _LOCALE.match(locale):
        raise ValueError("locale must look like en, zh or zh-CN")
    return locale.replace("_", "-")


def _clean_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    url = url.strip()
    if not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
        raise ValueError("source_url must be an http(s) URL")
    return url


def _clean_questions(questions: list[str]) -> list[str]:
    cleaned: dict[str, None] = {}
    for question in questions:
        question = " ".join(question.split())
        if not question:
            continue
        if len(question) > MAX_QUESTION_CHARS:
            raise ValueError(f"a question has at most {MAX_QUESTION_CHARS} characters")
        cleaned.setdefault(question, None)
    return list(cleaned)


Title = Annotated[str, PydanticField(min_length=1, max_length=MAX_TITLE_CHARS)]
ExternalId = Annotated[str, PydanticField(min_length=1, max_length=MAX_EXTERNAL_ID_CHARS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _ArticleFields(_Strict):
    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_tags(value)

    @field_validator("locale", check_fields=False)
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return None if value is None else _clean_locale(value)

    @field_validator("source_url", check_fields=False)
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _clean_url(value)


class ArticleCreate(_ArticleFields):
    site_id: int
    title: Title
    body: str = PydanticField("", max_length=MAX_BODY_CHARS)
    # None: detected from the title and body (zh when mostly Chinese, else en).
    locale: str | None = None
    tags: list[str] = PydanticField(default_factory=list)
    external_id: ExternalId | None = None
    source_url: str | None = PydanticField(None, max_length=MAX_URL_CHARS)
    status: ContentStatus = ContentStatus.DRAFT


class ArticleUpdate(_ArticleFields):
    title: Title | None = None
    body: str | None = PydanticField(None, max_length=MAX_BODY_CHARS)
    locale: str | None = None
    tags: list[str] | None = None
    external_id: ExternalId | None = None
    source_url: str | None = PydanticField(None, max_length=MAX_URL_CHARS)
    note: str | None = PydanticField(None, max_length=200)


class ArticleSummaryPublic(BaseModel):
    id: int
    site_id: int
    external_id: str | None
    source_url: str | None
    title: str
    status: str
    locale: str
    tags: list[str]
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class ArticlePublic(ArticleSummaryPublic):
    body: str


class ArticleVersionPublic(BaseModel):
    article_id: int
    version: int
    title: str
    body: str
    locale: str
    tags: list[str]
    source_url: str | None
    author_kind: str
    author_id: str | None
    note: str | None
    created_at: datetime


class _FaqFields(_Strict):
    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_tags(value)

    @field_validator("locale", check_fields=False)
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return None if value is None else _clean_locale(value)

    @field_validator("questions", check_fields=False)
    @classmethod
    def _questions(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if len(value) > MAX_QUESTIONS:
            raise ValueError(f"at most {MAX_QUESTIONS} questions")
        return _clean_questions(value)


class FaqEntryCreate(_FaqFields):
    site_id: int
    title: Title
    questions: list[str] = PydanticField(default_factory=list)
    answer: str = PydanticField(min_length=1, max_length=MAX_ANSWER_CHARS)
    tags: list[str] = PydanticField(default_factory=list)
    # None: detected from the title, questions and answer (zh when mostly Chinese, else en).
    locale: str | None = None
    external_id: ExternalId | None = None
    status: ContentStatus = ContentStatus.DRAFT


class FaqEntryUpdate(_FaqFields):
    title: Title | None = None
    questions: list[str] | None = None
    answer: str | None = PydanticField(None, min_length=1, max_length=MAX_ANSWER_CHARS)
    tags: list[str] | None = None
    locale: str | None = None
    external_id: ExternalId | None = None


class FaqEntryPublic(BaseModel):
    id: int
    site_id: int
    external_id: str | None
    title: str
    questions: list[str]
    answer: str
    tags: list[str]
    locale: str
    status: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class ImportedItem(BaseModel):
    kind: str  # "article" or "faq"
    id: int
    external_id: str | None
    title: str
    action: str  # "created", "updated" or "unchanged"


class ImportSummary(BaseModel):
    site_id: int
    files: int = 0
    articles_created: int = 0
    articles_updated: int = 0
    articles_unchanged: int = 0
    faq_created: int = 0
    faq_updated: int = 0
    faq_unchanged: int = 0
    kb_version: int = 0
    items: list[ImportedItem] = PydanticField(default_factory=list)
    # Pages of a crawl that could not be fetched or parsed (a crawl imports the rest).
    skipped: list[dict[str, str]] = PydanticField(default_factory=list)


class UrlImportRequest(_Strict):
    site_id: int
    url: str = PydanticField(min_length=8, max_length=MAX_URL_CHARS)
    sitemap: bool = False
    max_pages: int = PydanticField(50, ge=1, le=500)
    publish: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        cleaned = _clean_url(value)
        if cleaned is None:
            raise ValueError("url is empty")
        return cleaned
