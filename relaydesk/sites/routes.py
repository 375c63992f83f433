"""REST: sites (admins write; staff read the sites they work on)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from relaydesk.accounts import service as accounts
from relaydesk.audit import service as audit
from relaydesk.audit.models import AuditAction
from relaydesk.core.config import Settings
from relaydesk.core.deps import CurrentUser, DbDep, SettingsDep, require_roles
from relaydesk.core.errors import NotFound
from relaydesk.core.models import Role, Site, StaffUser
from relaydesk.sites import service as sites
from relaydesk.sites.schemas import SiteCreate, SitePublic, SiteUpdate

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])
AdminUser = Annotated[StaffUser, Depends(require_roles(Role.ADMIN))]


_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def public_base(request: Request, settings: Settings) -> str:
    """The URL visitors reach us at: RELAYDESK_PUBLIC_URL. Without it, the Host header is
    trusted only when it names this machine (a trial on localhost) or the configured
    host; anything else (a forged Host) gets the configured host and port instead of
    ending up in an embed snippet that an admin pastes into their website."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = (request.url.hostname or "").lower()
    if host in _LOOPBACK or host == settings.host.lower():
        return str(request.base_url).rstrip("/")
    configured = "localhost" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{configured}:{settings.port}"


def embed_snippet(base: str, site_key: str) -> str:
    return f'<script src="{base}/widget/loader.js" data-site-key="{site_key}" async></script>'


def site_public(site: Site, base: str) -> SitePublic:
    assert site.id is not None
    return SitePublic(
        id=site.id,
        site_key=site.site_key,
        name=site.name,
        allowed_origins=list(site.allowed_origins),
        allow_any_origin=site.allow_any_origin,
        default_locale=site.default_locale,
        theme=dict(site.theme),
        business_hours=dict(site.business_hours),
        embed_snippet=embed_snippet(base, site.site_key),
        created_at=site.created_at,
    )


async def readable_site_ids(db: DbDep, user: StaffUser) -> set[int] | None:
    """The sites `user` may read (those of their teams); None for admins: every site."""
    if user.has_role(Role.ADMIN):
        return None
    assert user.id is not None
    return set(await accounts.site_ids_of(db, user.id))


async def readable_site(db: DbDep, user: StaffUser, site_id: int) -> Site:
    readable = await readable_site_ids(db, user)
    if readable is not None and site_id not in readable:
        raise NotFound("no such site", code="site_not_found")
    return await sites.get_site(db, site_id)


@router.get("", response_model=list[SitePublic])
async def list_sites(
    request: Request, db: DbDep, settings: SettingsDep, user: CurrentUser
) -> list[SitePublic]:
    """Admins see every site; other staff the sites of their teams."""
    readable = await readable_site_ids(db, user)
    base = public_base(request, settings)
    return [
        site_public(s, base)
        for s in await sites.list_sites(db)
        if readable is None or s.id in readable
    ]


@router.post("", response_model=SitePublic, status_code=201)
async def create_site(
    body: SiteCreate,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    admin: AdminUser,
    ip: audit.ClientIp,
) -> SitePublic:
    """A new site with a fresh public key and a default "Support" team."""
    site = await sites.create_site(
        db,
        name=body.name,
        allowed_origins=body.allowed_origins,
        allow_any_origin=body.allow_any_origin,
        default_locale=body.default_locale,
        theme=body.theme.model_dump(exclude_none=True),
    )
    await audit.record(
        db,
        action=AuditAction.SITE_CREATE,
        actor=admin,
        ip=ip,
        site_id=site.id,
        target_kind="site",
        target_id=site.id,
        details={
            "name": site.name,
            "allowed_origins": list(site.allowed_origins),
            "allow_any_origin": site.allow_any_origin,
        },
    )
    return site_public(site, public_base(request, settings))


@router.get("/{site_id}", response_model=SitePublic)
async def get_site(
    site_id: int, request: Request, db: DbDep, settings: SettingsDep, user: CurrentUser
) -> SitePublic:
    return site_public(await readable_site(db, user, site_id), public_base(request, settings))


@router.patch("/{site_id}", response_model=SitePublic)
async def update_site(
    site_id: int,
    body: SiteUpdate,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    admin: AdminUser,
    ip: audit.ClientIp,
) -> SitePublic:
    """Handoff rules (keywords, low-confidence turns) live in the bot policy:
    `PUT /api/v1/bot/sites/{site_id}/policy`."""
    before = await sites.get_site(db, site_id)
    site = await sites.update_site(
        db,
        site_id=site_id,
        name=body.name,
        allowed_origins=body.allowed_origins,
        allow_any_origin=body.allow_any_origin,
        default_locale=body.default_locale,
        theme=body.theme.model_dump(exclude_none=True) if body.theme is not None else None,
        business_hours=body.business_hours,
    )
    await _audit_update(db, admin, ip, before, site)
    return site_public(site, public_base(request, settings))


_ORIGIN_FIELDS = ("allowed_origins", "allow_any_origin")
_OTHER_FIELDS = ("name", "default_locale", "theme", "business_hours")


async def _audit_update(
    db: DbDep, admin: StaffUser, ip: str | None, before: Site, after: Site
) -> None:
    """Origin changes get their own action: they decide who may embed the widget."""
    for action, fields in (
        (AuditAction.SITE_ORIGINS, _ORIGIN_FIELDS),
        (AuditAction.SITE_UPDATE, _OTHER_FIELDS),
    ):
        changed = {
            f: {"before": getattr(before, f), "after": getattr(after, f)}
            for f in fields
            if getattr(before, f) != getattr(after, f)
        }
        if changed:
            await audit.record(
                db,
                action=action,
                actor=admin,
                ip=ip,
                site_id=after.id,
                target_kind="site",
                target_id=after.id,
                details=changed,
            )
