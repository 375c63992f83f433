"""REST: the knowledge base under /api/v1/knowledge (thin: checks, then the service).

Editors and admins write; editors, admins, supervisors and agents read and search. Staff
see the sites of their teams (admins every site); another site's ids answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel

from relaydesk.conversations.policy import load_scope
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.deps import (
    DbDep,
    SettingsDep,
    StateDep,
    current_user,
    oauth2_scheme,
    require_roles,
)
from relaydesk.core.errors import Forbidden
from relaydesk.core.models import Role, StaffUser
from relaydesk.knowledge import importers, search, server_link, service
from relaydesk.knowledge.errors import (
    ArticleNotFound,
    FaqEntryNotFound,
    FileTooLarge,
    ImportRefused,
    SiteNotFound,
)
from relaydesk.knowledge.models import (
    Article,
    ArticleCreate,
    ArticlePublic,
    ArticleSummaryPublic,
    ArticleUpdate,
    ArticleVersion,
    ArticleVersionPublic,
    ContentStatus,
    FaqEntry,
    FaqEntryCreate,
    FaqEntryPublic,
    FaqEntryUpdate,
    ImportSummary,
    UrlImportRequest,
)

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])

READERS = (Role.ADMIN, Role.EDITOR, Role.SUPERVISOR, Role.AGENT)
WRITERS = (Role.ADMIN, Role.EDITOR)
_READ_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class Access:
    actor: service.Actor
    is_admin: bool
    site_ids: frozenset[int]

    def check_site(self, site_id: int) -> None:
        if not self.is_admin and site_id not in self.site_ids:
            raise SiteNotFound(f"no site {site_id}")

    def visible(self, site_id: int) -> bool:
        return self.is_admin or site_id in self.site_ids

    def listing_sites(self, site_id: int | None) -> frozenset[int] | None:
        if site_id is not None:
            self.check_site(site_id)
            return frozenset({site_id})
        return None if self.is_admin else self.site_ids


async def _access(db: Database, user: StaffUser) -> Access:
    scope = await load_scope(db, user)
    return Access(service.Actor.staff(user), scope.is_admin, scope.site_ids)


async def reader(db: DbDep, user: Annotated[StaffUser, Depends(require_roles(*READERS))]) -> Access:
    return await _access(db, user)


async def writer(db: DbDep, user: Annotated[StaffUser, Depends(require_roles(*WRITERS))]) -> Access:
    return await _access(db, user)


async def importer(
    request: Request,
    app: StateDep,
    db: DbDep,
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> Access:
    """A writer, or the CLI holding this server's own token (see server_link)."""
    if bearer and server_link.accepts(app, bearer):
        return Access(service.CLI, True, frozenset())
    user = await current_user(request, db, settings, bearer)
    if not user.has_role(*WRITERS):
        raise Forbidden(f"this needs one of the roles: {', '.join(WRITERS)}")
    return await _access(db, user)


Reader = Annotated[Access, Depends(reader)]
Writer = Annotated[Access, Depends(writer)]
Importer = Annotated[Access, Depends(importer)]


def _article_public(article: Article) -> ArticlePublic:
    return ArticlePublic.model_validate(article, from_attributes=True)


def _faq_public(entry: FaqEntry) -> FaqEntryPublic:
    return FaqEntryPublic.model_validate(entry, from_attributes=True)


def _version_public(version: ArticleVersion) -> ArticleVersionPublic:
    return ArticleVersionPublic.model_validate(version, from_attributes=True)


async def _visible_article(db: Database, access: Access, article_id: int) -> Article:
    article = await service.get_article(db, article_id=article_id)
    if not access.visible(article.site_id):
        raise ArticleNotFound(f"no article {article_id}")
    return article


async def _visible_faq(db: Database, access: Access, faq_id: int) -> FaqEntry:
    entry = await service.get_faq_entry(db, faq_id=faq_id)
    if not access.visible(entry.site_id):
        raise FaqEntryNotFound(f"no FAQ entry {faq_id}")
    return entry


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
SearchText = Annotated[str | None, Query(max_length=200)]


# Articles


@router.get("/articles", response_model=Page[ArticleSummaryPublic])
async def list_articles(
    db: DbDep,
    access: Reader,
    site: int | None = None,
    status: ContentStatus | None = None,
    q: SearchText = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ArticleSummaryPublic]:
    rows, total = await service.list_articles(
        db, site_ids=access.listing_sites(site), status=status, query=q, limit=limit, offset=offset
    )
    return Page(
        items=[ArticleSummaryPublic.model_validate(r, from_attributes=True) for r in rows],
        total=total,
    )


@router.post("/articles", response_model=ArticlePublic, status_code=201)
async def create_article(db: DbDep, access: Writer, data: ArticleCreate) -> ArticlePublic:
    access.check_site(data.site_id)
    return _article_public(await service.create_article(db, data=data, actor=access.actor))


@router.get("/articles/{article_id}", response_model=ArticlePublic)
async def get_article(db: DbDep, access: Reader, article_id: int) -> ArticlePublic:
    return _article_public(await _visible_article(db, access, article_id))


@router.patch("/articles/{article_id}", response_model=ArticlePublic)
async def update_article(
    db: DbDep, access: Writer, article_id: int, changes: ArticleUpdate
) -> ArticlePublic:
    await _visible_article(db, access, article_id)
    article = await service.update_article(
        db, article_id=article_id, changes=changes, actor=access.actor
    )
    return _article_public(article)


@router.delete("/articles/{article_id}", status_code=204)
async def delete_article(db: DbDep, access: Writer, article_id: int) -> Response:
    await _visible_article(db, access, article_id)
    await service.delete_article(db, article_id=article_id, actor=access.actor)
    return Response(status_code=204)


@router.post("/articles/{article_id}/publish", response_model=ArticlePublic)
async def publish_article(db: DbDep, access: Writer, article_id: int) -> ArticlePublic:
    await _visible_article(db, access, article_id)
    return _article_public(
        await service.publish_article(db, article_id=article_id, actor=access.actor)
    )


@router.post("/articles/{article_id}/unpublish", response_model=ArticlePublic)
async def unpublish_article(db: DbDep, access: Writer, article_id: int) -> ArticlePublic:
    await _visible_article(db, access, article_id)
    return _article_public(
        await service.unpublish_article(db, article_id=article_id, actor=access.actor)
    )


@router.get("/articles/{article_id}/versions", response_model=list[ArticleVersionPublic])
async def list_versions(db: DbDep, access: Reader, article_id: int) -> list[ArticleVersionPublic]:
    await _visible_article(db, access, article_id)
    return [_version_public(v) for v in await service.list_versions(db, article_id=article_id)]


@router.get("/articles/{article_id}/versions/{version}", response_model=ArticleVersionPublic)
async def get_version(
    db: DbDep, access: Reader, article_id: int, version: int
) -> ArticleVersionPublic:
    await _visible_article(db, access, article_id)
    return _version_public(await service.get_version(db, article_id=article_id, version=version))


@router.post("/articles/{article_id}/versions/{version}/restore", response_model=ArticlePublic)
async def restore_version(
    db: DbDep, access: Writer, article_id: int, version: int
) -> ArticlePublic:
    await _visible_article(db, access, article_id)
    article = await service.restore_version(
        db, article_id=article_id, version=version, actor=access.actor
    )
    return _article_public(article)


# FAQ entries


@router.get("/faqs", response_model=Page[FaqEntryPublic])
async def list_faq_entries(
    db: DbDep,
    access: Reader,
    site: int | None = None,
    status: ContentStatus | None = None,
    q: SearchText = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[FaqEntryPublic]:
    rows, total = await service.list_faq_entries(
        db, site_ids=access.listing_sites(site), status=status, query=q, limit=limit, offset=offset
    )
    return Page(items=[_faq_public(r) for r in rows], total=total)


@router.post("/faqs", response_model=FaqEntryPublic, status_code=201)
async def create_faq_entry(db: DbDep, access: Writer, data: FaqEntryCreate) -> FaqEntryPublic:
    access.check_site(data.site_id)
    return _faq_public(await service.create_faq_entry(db, data=data, actor=access.actor))


@router.get("/faqs/{faq_id}", response_model=FaqEntryPublic)
async def get_faq_entry(db: DbDep, access: Reader, faq_id: int) -> FaqEntryPublic:
    return _faq_public(await _visible_faq(db, access, faq_id))


@router.patch("/faqs/{faq_id}", response_model=FaqEntryPublic)
async def update_faq_entry(
    db: DbDep, access: Writer, faq_id: int, changes: FaqEntryUpdate
) -> FaqEntryPublic:
    await _visible_faq(db, access, faq_id)
    entry = await service.update_faq_entry(db, faq_id=faq_id, changes=changes, actor=access.actor)
    return _faq_public(entry)


@router.delete("/faqs/{faq_id}", status_code=204)
async def delete_faq_entry(db: DbDep, access: Writer, faq_id: int) -> Response:
    await _visible_faq(db, access, faq_id)
    await service.delete_faq_entry(db, faq_id=faq_id, actor=access.actor)
    return Response(status_code=204)


@router.post("/faqs/{faq_id}/publish", response_model=FaqEntryPublic)
async def publish_faq_entry(db: DbDep, access: Writer, faq_id: int) -> FaqEntryPublic:
    await _visible_faq(db, access, faq_id)
    return _faq_public(await service.publish_faq_entry(db, faq_id=faq_id, actor=access.actor))


@router.post("/faqs/{faq_id}/unpublish", response_model=FaqEntryPublic)
async def unpublish_faq_entry(db: DbDep, access: Writer, faq_id: int) -> FaqEntryPublic:
    await _visible_faq(db, access, faq_id)
    return _faq_public(await service.unpublish_faq_entry(db, faq_id=faq_id, actor=access.actor))


# Import and index


async def _read_upload(upload: UploadFile) -> tuple[str, bytes]:
    name = (upload.filename or "upload").replace("\\", "/").lstrip("/") or "upload"
    data = bytearray()
    while block := await upload.read(_READ_BLOCK):
        data.extend(block)
        importers.check_size(name, len(data))
    return name, bytes(data)


@router.post("/import", response_model=ImportSummary)
async def import_upload(
    request: Request,
    db: DbDep,
    access: Importer,
    site: Annotated[int, Form()],
    files: Annotated[
        list[UploadFile], File(description="Markdown, text, HTML, PDF, DOCX, FAQ JSONL or CSV")
    ],
    publish: Annotated[bool, Form()] = True,
) -> ImportSummary:
    """Import files into one site in one transaction; re-imports update in place."""
    limit = get_settings().kb_import_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FileTooLarge("the upload is too large", limit=limit)
    access.check_site(site)
    if len(files) > importers.MAX_FILES_PER_IMPORT:
        raise ImportRefused(
            f"at most {importers.MAX_FILES_PER_IMPORT} files in one import", code="too_many_files"
        )
    contents = [await _read_upload(f) for f in files]
    source = "cli" if access.actor.id == "cli" else "upload"
    return await service.import_files(
        db,
        site_id=site,
        files=contents,
        publish=publish,
        actor=access.actor,
        source=source,
        index_now=True,
    )


@router.post("/import/url", response_model=ImportSummary)
async def import_url(db: DbDep, access: Importer, data: UrlImportRequest) -> ImportSummary:
    """Import one page or document by URL, or (sitemap=true) a bounded same-host crawl."""
    access.check_site(data.site_id)
    return await service.import_url(
        db,
        site_id=data.site_id,
        url=data.url,
        sitemap=data.sitemap,
        max_pages=data.max_pages,
        publish=data.publish,
        actor=access.actor,
        index_now=True,
    )


@router.post("/reindex")
async def reindex(db: DbDep, access: Importer, site: int | None = None) -> dict[str, Any]:
    """Rebuild this server's index of one site (or, for admins, every site)."""
    if site is not None:
        access.check_site(site)
    elif not access.is_admin:
        raise Forbidden("only admins may reindex every site; pass site=")
    return await service.reindex(db, site_id=site)


class SearchHitPublic(BaseModel):
    entry_id: str
    external_id: str | None
    title: str
    snippet: str
    score: float
    confidence: float
    url: str | None
    kind: str
    heading_path: list[str]


class SearchResultPublic(BaseModel):
    hits: list[SearchHitPublic]
    took_ms: float
    lexical_only: bool


@router.get("/search", response_model=SearchResultPublic)
async def search_knowledge(
    db: DbDep,
    access: Reader,
    q: Annotated[str, Query(min_length=1, max_length=search.MAX_QUERY_CHARS)],
    site: int,
    k: Annotated[int, Query(ge=1, le=search.MAX_K)] = 5,
) -> SearchResultPublic:
    """The published articles and FAQ entries that best answer `q`, best first."""
    access.check_site(site)
    await service.require_site(db, site)
    result = await search.search(db, site_id=site, query=q, k=k)
    return SearchResultPublic(
        hits=[SearchHitPublic.model_validate(h.to_dict()) for h in result.hits],
        took_ms=result.took_ms,
        lexical_only=result.lexical_only,
    )


@router.get("/suggestions", response_model=list[str])
async def get_suggestions(
    db: DbDep,
    access: Reader,
    site: int,
    locale: Annotated[str, Query(min_length=2, max_length=16)] = "en",
    limit: Annotated[int, Query(ge=1, le=20)] = 4,
) -> list[str]:
    """FAQ questions to offer as quick replies."""
    access.check_site(site)
    return await search.suggestions(db, site_id=site, locale=locale, limit=limit)
