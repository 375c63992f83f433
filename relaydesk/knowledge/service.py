"""The knowledge base's only writer: articles (with version history), FAQ entries, imports.

Every change runs in one transaction that also bumps the site's knowledge-base version
(when retrieval is affected) and records its event; after the commit this process's index
re-reads just the changed entries, and other processes notice the version (search.py).

The code lives in `common` (actor, version, shared row access), `articles`, `faqs` and
`imports`; this module is the one name callers import them by.
"""

from __future__ import annotations

from relaydesk.knowledge.articles import (
    create_article,
    delete_article,
    get_article,
    get_version,
    list_articles,
    list_versions,
    publish_article,
    restore_version,
    set_article_status,
    unpublish_article,
    update_article,
)
from relaydesk.knowledge.common import (
    ARTICLE_CONTENT,
    CLI,
    FAQ_CONTENT,
    SYSTEM,
    Actor,
    require_site,
)
from relaydesk.knowledge.faqs import (
    create_faq_entry,
    delete_faq_entry,
    get_faq_entry,
    list_faq_entries,
    publish_faq_entry,
    set_faq_status,
    unpublish_faq_entry,
    update_faq_entry,
)
from relaydesk.knowledge.imports import (
    import_batch,
    import_files,
    import_url,
    parse_files,
    reindex,
)

__all__ = [
    "ARTICLE_CONTENT",
    "CLI",
    "FAQ_CONTENT",
    "SYSTEM",
    "Actor",
    "create_article",
    "create_faq_entry",
    "delete_article",
    "delete_faq_entry",
    "get_article",
    "get_faq_entry",
    "get_version",
    "import_batch",
    "import_files",
    "import_url",
    "list_articles",
    "list_faq_entries",
    "list_versions",
    "parse_files",
    "publish_article",
    "publish_faq_entry",
    "reindex",
    "require_site",
    "restore_version",
    "set_article_status",
    "set_faq_status",
    "unpublish_article",
    "unpublish_faq_entry",
    "update_article",
    "update_faq_entry",
]
