"""What importers produce: parsed articles and FAQ entries, not yet stored."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ParsedArticle:
    title: str
    body: str
    locale: str = "en"
    tags: list[str] = field(default_factory=list)
    external_id: str | None = None
    source_url: str | None = None


@dataclass
class ParsedFaq:
    external_id: str
    title: str
    questions: list[str]
    answer: str
    tags: list[str] = field(default_factory=list)
    locale: str = "en"


@dataclass
class ParsedBatch:
    articles: list[ParsedArticle] = field(default_factory=list)
    faqs: list[ParsedFaq] = field(default_factory=list)
    files: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)

    def extend(self, other: ParsedBatch) -> None:
        self.articles.extend(other.articles)
        self.faqs.extend(other.faqs)
        self.files += other.files
        self.skipped.extend(other.skipped)
