"""Refusals of the knowledge base, each with a stable code."""

from __future__ import annotations

from relaydesk.core.errors import DomainError, InvalidInput, NotFound


class ImportRefused(InvalidInput):
    """A file or page that cannot be imported; nothing of the import is kept.

    Codes: empty_file, bad_encoding, unsupported_format, corrupt_file, encrypted_pdf,
    no_text, invalid_faq_file, fetch_failed, too_many_files.
    """

    code = "import_refused"


class FileTooLarge(DomainError):
    code = "file_too_large"
    http_status = 413


class ArticleNotFound(NotFound):
    code = "article_not_found"


class FaqEntryNotFound(NotFound):
    code = "faq_entry_not_found"


class SiteNotFound(NotFound):
    code = "site_not_found"


class VersionNotFound(NotFound):
    code = "version_not_found"
