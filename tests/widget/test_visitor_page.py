"""`visitor:page`: the widget reports the host page; it is validated, stored on the
visitor and pushed to the staff who have the visitor's conversation open, and no one else."""

from __future__ import annotations

import re

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaydesk.core.db import Database
from relaydesk.core.errors import InvalidInput
from relaydesk.core.models import Visitor
from relaydesk.sites import service as sites
from relaydesk.widget import page
from tests import sockets
from tests.factories import bearer_for, make_site, make_staff
from tests.waiting import assert_quiet

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


async def stored(db: Database, visitor_id: str) -> Visitor:
    async with db.read() as session:
        visitor = await session.get(Visitor, visitor_id)
    assert visitor is not None
    return visitor


@pytest.mark.postgres
async def test_the_page_is_stored_and_reaches_staff_in_the_conversation_only(
    db: Database, live_server: str
) -> None:
    site = await make_site(db)
    watching = await make_staff(db, site=site)
    elsewhere = await make_staff(db, site=site)
    peer = await sockets.visitor(live_server, site.site_key)
    other_visitor = await sockets.visitor(live_server, site.site_key)
    staff = await sockets.staff(live_server, bearer_for(watching))
    bystander = await sockets.staff(live_server, bearer_for(elsewhere))
    try:
        visitor_id = peer.received["session"][0]["visitor_id"]
        conversation_id = (await peer.call("conversation:open", {}))["conversation"]["id"]
        assert (await staff.call("conversation:join", {"conversation_id": conversation_id}))["ok"]
        before = (await stored(db, visitor_id)).last_seen_at

        r = await peer.call(
            "visitor:page", {"url": "https://shop.example/p/42?ref=ad#top", "title": "Kettle"}
        )
        assert r == {"ok": True}, r
        v = await stored(db, visitor_id)
        assert (v.last_page_url, v.last_page_title) == (
            "https://shop.example/p/42?ref=ad#top",
            "Kettle",
        )
        assert v.last_seen_at >= before

        updated = await staff.wait_for("visitor:updated")
        assert updated[0]["conversation_id"] == conversation_id
        assert updated[0]["visitor"]["last_page_url"] == "https://shop.example/p/42?ref=ad#top"
        assert updated[0]["visitor"]["last_page_title"] == "Kettle"

        # A single-page app navigates: the new page replaces the old one.
        r = await peer.call("visitor:page", {"url": "http://shop.example/cart"})
        assert r["ok"], r
        second = await staff.wait_for("visitor:updated", count=2)
        assert second[1]["visitor"]["last_page_url"] == "http://shop.example/cart"
        assert second[1]["visitor"]["last_page_title"] is None
        # The same page again changes nothing and tells no one.
        assert (await peer.call("visitor:page", {"url": "http://shop.example/cart"}))["ok"]

        # The sentinel: a third page, sent to the same sockets after any update the repeat
        # could have caused.
        assert (await peer.call("visitor:page", {"url": "http://shop.example/paid"}))["ok"]
        await assert_quiet(
            staff,
            "visitor:updated",
            after=2,
            sentinel="visitor:updated",
            is_sentinel=lambda p: p["visitor"]["last_page_url"] == "http://shop.example/paid",
        )
        assert "visitor:updated" not in bystander.received
        assert "visitor:updated" not in other_visitor.received
        assert "visitor:updated" not in peer.received
        # The other visitor never used its session: it has no row at all (made on first
        # use), so certainly no page.
        other_id = other_visitor.received["session"][0]["visitor_id"]
        assert await sites.get_visitor(db, visitor_id=other_id, site_id=site.id) is None
    finally:
        for p in (peer, other_visitor, staff, bystander):
            await p.disconnect()


@pytest.mark.postgres
async def test_the_page_payload_is_validated(db: Database, live_server: str) -> None:
    site = await make_site(db)
    peer = await sockets.visitor(live_server, site.site_key)
    try:
        visitor_id = peer.received["session"][0]["visitor_id"]
        for bad in (
            {"url": 5},
            {"title": "no url"},
            {"url": "https://a.example/", "extra": 1},
            {"url": "https://a.example/" + "x" * 2000},
            {"url": "https://a.example/", "title": "t" * 301},
            {"url": ""},
            "https://a.example/",
        ):
            r = await peer.call("visitor:page", bad)
            assert not r["ok"] and r["error"]["code"] == "invalid_payload", (bad, r)
        for url in (
            "javascript:alert(1)",
            "data:text/html,<b>x</b>",
            "ftp://files.example/a",
            "/relative/path",
            "https://",
            "https://a.example/a b",
        ):
            r = await peer.call("visitor:page", {"url": url})
            assert not r["ok"] and r["error"]["code"] == "invalid_url", (url, r)
        assert (await stored(db, visitor_id)).last_page_url is None

        # Control characters never reach the console: stripped, and a title is one line.
        r = await peer.call(
            "visitor:page",
            {"url": "https://a.example/\x00p\x1b", "title": " Sale\x07 \n\t now\x9b "},
        )
        assert r["ok"], r
        v = await stored(db, visitor_id)
        assert (v.last_page_url, v.last_page_title) == ("https://a.example/p", "Sale now")
        # Half an emoji (a title cut badly) cannot be stored anywhere: refused.
        r = await peer.call("visitor:page", {"url": "https://a.example/", "title": "Tea \ud83c"})
        assert r["error"]["code"] == "invalid_payload", r
        r = await peer.call("visitor:page", {"url": "https://a.example/", "title": "\x01\n"})
        assert r["ok"] and (await stored(db, visitor_id)).last_page_title is None
    finally:
        await peer.disconnect()


async def test_the_details_row_shows_the_page(db: Database, live_server: str) -> None:
    site = await make_site(db)
    agent = await make_staff(db, site=site)
    peer = await sockets.visitor(live_server, site.site_key)
    try:
        conversation_id = (await peer.call("conversation:open", {}))["conversation"]["id"]
        assert (await peer.call("visitor:page", {"url": "https://a.example/faq", "title": "FAQ"}))[
            "ok"
        ]
        async with httpx.AsyncClient(base_url=live_server) as client:
            row = (
                await client.get(
                    f"/api/v1/conversations/{conversation_id}",
                    headers={"Authorization": f"Bearer {bearer_for(agent)}"},
                )
            ).json()
        assert row["visitor"]["last_page_url"] == "https://a.example/faq"
        assert row["visitor"]["last_page_title"] == "FAQ"
        assert row["earlier"] == []
    finally:
        await peer.disconnect()


@settings(max_examples=300, deadline=None)
@given(url=st.text(max_size=80), title=st.one_of(st.none(), st.text(max_size=60)))
def test_whatever_is_sent_is_refused_with_a_code_or_stored_clean(
    url: str, title: str | None
) -> None:
    candidates = [url, "https://a.example/" + url]
    for candidate in candidates:
        try:
            clean_url, clean_title = page.clean_page(
                page.VisitorPage(url=candidate or "x", title=title)
            )
        except InvalidInput as exc:
            assert exc.code == "invalid_url"
            continue
        assert re.match(r"^https?://[^/\s]", clean_url, re.IGNORECASE), clean_url
        for text in (clean_url, clean_title or ""):
            assert not CONTROL.search(text), repr(text)
        assert clean_title is None or clean_title == clean_title.strip() != ""
