"""`Relaydesk.identify({id, name, email, user_hash})`: who the host site says the visitor is.

A site with an identity secret proves it: `user_hash` is HMAC-SHA256(secret, id) in hex,
computed on the site's server, so a visitor cannot claim someone else's account. Without
a secret the name and email are stored, marked unverified, as if typed into a form.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from relaydesk.core.db import Database
from relaydesk.core.errors import Forbidden, InvalidInput, NotFound
from relaydesk.core.models import Site, Visitor
from relaydesk.core.text import clean_text

Email = Annotated[
    str,
    StringConstraints(max_length=320, pattern=r"^[^\s@]{1,64}@[^\s@]{1,250}\.[^\s@]{2,}$"),
]


class VisitorIdentify(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    email: Email | None = None
    user_hash: Annotated[str, StringConstraints(max_length=128)] | None = None


class VisitorPublic(BaseModel):
    id: str
    name: str | None
    email: str | None
    external_id: str | None
    identity_verified: bool
    last_page_url: str | None = None
    last_page_title: str | None = None

    @classmethod
    def of(cls, visitor: Visitor) -> VisitorPublic:
        return cls.model_validate(visitor, from_attributes=True)


def user_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


async def set_identity_secret(db: Database, *, site_id: int, secret: str | None) -> Site:
    """Turn identity verification on (a secret) or off (None) for a site."""
    if secret is not None and len(secret) < 16:
        raise InvalidInput("the identity secret must be at least 16 characters")
    async with db.write() as session:
        site = await session.get(Site, site_id)
        if site is None:
            raise NotFound("no such site", code="site_not_found")
        site.identity_secret = secret
    return site


async def identify(
    db: Database, *, site_id: int, visitor_id: str, payload: VisitorIdentify
) -> Visitor:
    """Store what the host site says about the visitor; refuse a wrong or missing hash
    when the site has a secret. Telling the staff who view the visitor's conversations
    is `conversations/visitors.py`'s part (`identify` there)."""
    name = clean_text(payload.name, max_chars=200, field="name") if payload.name else None
    async with db.write() as session:
        site = await session.get(Site, site_id)
        visitor = await session.get(Visitor, visitor_id)
        if site is None or visitor is None or visitor.site_id != site_id:
            raise NotFound("no such visitor", code="visitor_not_found")
        verified = False
        if site.identity_secret:
            if not payload.id or not payload.user_hash:
                raise Forbidden(
                    "this site verifies identities: send id and user_hash",
                    code="identity_unverified",
                )
            expected = user_hash(site.identity_secret, payload.id)
            if not hmac.compare_digest(expected, payload.user_hash.lower()):
                raise Forbidden("user_hash does not match id", code="identity_unverified")
            verified = True
            if visitor.identity_verified and visitor.external_id not in (None, payload.id):
                # A verified visitor stays who they were proven to be; a new person on
                # this browser gets a new visitor (a fresh token) from the host page.
                raise Forbidden(
                    "this visitor is already identified as someone else",
                    code="identity_conflict",
                )
        elif visitor.identity_verified:
            raise Forbidden("this visitor is verified; it cannot be changed unverified")
        if payload.id is not None:
            visitor.external_id = payload.id
        if name is not None:
            visitor.name = name
        if payload.email is not None:
            visitor.email = payload.email
        visitor.identity_verified = verified
    return visitor
