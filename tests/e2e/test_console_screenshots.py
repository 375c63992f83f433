"""Acceptance 5: screenshots of the console in English and Chinese (inbox queue and mine,
a conversation with bot turns, citations and the handoff summary, the knowledge-base
editor, every admin page and the profile page), saved under test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from sqlmodel import col, select, update

from relaydesk.accounts import manage
from relaydesk.bot import summary as bot_summary
from relaydesk.canned import service as canned
from relaydesk.canned.models import CannedResponseCreate
from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site, StaffUser, Visitor
from relaydesk.knowledge import search as knowledge_search
from relaydesk.knowledge.demo import seed_demo_knowledge
from relaydesk.knowledge.models import Article
from relaydesk.sites import service as sites
from tests import sockets
from tests.e2e.conftest import SCREENSHOTS, errors_of, eventually, shoot
from tests.factories import PASSWORD, default_team, make_staff

TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "admin": "Ada Admin",
        "staff": [
            ("Ava Agent", [Role.AGENT]),
            ("Sam Lead", [Role.SUPERVISOR, Role.AGENT]),
            ("Eli Editor", [Role.EDITOR]),
        ],
        "visitors": [
            ("Maria Garcia", "maria@example.com", "My parcel says delivered but it is not here."),
            ("Tom Becker", None, "Can I change the size of my order #4471?"),
            ("Priya Shah", "priya@example.com", "I was charged twice for one order."),
            ("Lucas Silva", None, "Do you have the linen shirt in XL?"),
        ],
        "mine": [
            ("Hannah Kim", "hannah@example.com", "The zipper on my jacket broke after a week."),
            ("Oliver Brown", None, "Where do I find my invoice?"),
        ],
        "question": "When will I get my refund?",
        "human": "Thanks, but I would like to talk to a person please.",
        "canned": [
            ("ship", "Shipping times", "Orders ship within 2 business days; tracking follows."),
            ("refund", "Refund timing", "Refunds reach your card within 5 business days."),
            ("hello", "Greeting", "Hi! I'm here to help. Could you share your order number?"),
        ],
        "team": "Billing",
        "bot_visitor": "Mia Rossi",
    },
    "zh": {
        "admin": "王管理",
        "staff": [
            ("李娜", [Role.AGENT]),
            ("陈主管", [Role.SUPERVISOR, Role.AGENT]),
            ("赵编辑", [Role.EDITOR]),
        ],
        "visitors": [
            ("张伟", "zhangwei@example.cn", "快递显示已签收，但我没有收到包裹。"),
            ("刘洋", None, "订单 4471 可以换尺码吗？"),
            ("陈静", "chenjing@example.cn", "同一个订单被扣了两次款。"),
            ("杨帆", None, "亚麻衬衫有 XL 码吗？"),
        ],
        "mine": [
            ("黄磊", "huanglei@example.cn", "外套拉链用了一周就坏了。"),
            ("周敏", None, "在哪里下载发票？"),
        ],
        "question": "退款多久到账？",
        "human": "谢谢，我想转人工客服。",
        "canned": [
            ("ship", "发货时间", "订单会在 2 个工作日内发货，并附物流单号。"),
            ("refund", "退款时间", "退款将在 5 个工作日内退回原支付账户。"),
            ("hello", "问候", "您好！请问您的订单号是多少？"),
        ],
        "team": "账单组",
        "bot_visitor": "林晓",
    },
}


async def _visitor_conversation(
    db: Database, site: Site, name: str, email: str | None, text: str
) -> str:
    assert site.id is not None
    visitor = await sites.create_visitor(db, site_id=site.id, locale="en")
    async with db.write() as session:
        await session.execute(
            update(Visitor).where(col(Visitor.id) == visitor.id).values(name=name, email=email)
        )
    conversation, _ = await conversations.open_conversation(
        db, site_id=site.id, visitor_id=visitor.id
    )
    await conversations.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(visitor.id),
        client_id="v-1",
        text=text,
    )
    await transitions.request_handoff(
        db, conversation_id=conversation.id, actor=Actor.visitor(visitor.id), reason="visitor_asked"
    )
    return conversation.id


async def _world(db: Database, site: Site, lang: str, live_server: str) -> dict[str, Any]:
    text = TEXT[lang]
    assert site.id is not None
    await seed_demo_knowledge(db, site_id=site.id)
    # The server started before the content existed: build the index (with the embedding
    # model) now, as start-up does, so the bot answers with its full confidence.
    await knowledge_search.warm_up(db)
    team = await default_team(db, site)
    assert team.id is not None
    await manage.update_team(db, team_id=team.id, routing_mode="manual")
    billing = await manage.create_team(
        db, site_id=site.id, name=text["team"], routing_mode="manual"
    )
    admin = await make_staff(db, roles=[Role.ADMIN, Role.AGENT], site=site, name=text["admin"])
    for name, roles in text["staff"]:
        await make_staff(db, roles=roles, site=site, name=name, teams=[team, billing][: len(roles)])
    for shortcut, title, body in text["canned"]:
        await canned.create_canned(
            db,
            data=CannedResponseCreate(site_id=site.id, shortcut=shortcut, title=title, text=body),
            created_by=admin.id,
        )
    for name, email, message in text["visitors"]:
        await _visitor_conversation(db, site, name, email, message)
    for name, email, message in text["mine"]:
        cid = await _visitor_conversation(db, site, name, email, message)
        await transitions.accept(db, conversation_id=cid, agent=admin)

    # A conversation the bot really answers (with citations) before the visitor asks for a
    # person: the bot writes its handoff summary.
    peer = await sockets.visitor(live_server, site.site_key)
    cid = (await peer.call("conversation:open", {}))["conversation"]["id"]
    async with db.write() as session:
        await session.execute(
            update(Visitor)
            .where(col(Visitor.id) == peer.received["session"][0]["visitor_id"])
            .values(name=text["bot_visitor"], locale=lang)
        )
    await peer.call(
        "message:send", {"conversation_id": cid, "client_id": "q-1", "text": text["question"]}
    )
    await peer.wait_for("message:new", timeout=60)  # the bot's answer
    await peer.call(
        "message:send", {"conversation_id": cid, "client_id": "q-2", "text": text["human"]}
    )
    await eventually(lambda: bot_summary.latest_summary(db, cid), timeout=60)
    await peer.disconnect()
    async with db.read() as session:
        article = (
            (
                await session.execute(
                    select(Article)
                    .where(Article.site_id == site.id)
                    .where(col(Article.locale) == lang)
                    .order_by(col(Article.id))
                )
            )
            .scalars()
            .first()
        )
    assert article is not None
    return {"admin": admin, "bot_conversation": cid, "article": article.id}


async def _sign_in(page: Page, base: str, user: StaffUser, lang: str) -> None:
    await page.goto(f"{base}/login?lang={lang}")
    await page.fill("#email", user.email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console")
    # Not wait_for_function: its polling evaluates a string, which the console's CSP
    # (no 'unsafe-eval') refuses, as it should.
    await eventually(
        lambda: page.evaluate(
            "() => Boolean(window.relaydeskConsole && window.relaydeskConsole.socket.connected)"
        ),
        timeout=30,
        message="the console's socket did not connect",
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_console_screenshots(
    db: Database, live_server: str, demo_site: Site, browser: Browser, lang: str
) -> None:
    world = await _world(db, demo_site, lang, live_server)
    context = await browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN" if lang == "zh" else "en-US"
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    errors = errors_of(page)
    await page.emulate_media(reduced_motion="reduce")
    await _sign_in(page, live_server, world["admin"], lang)

    await page.goto(f"{live_server}/console#/inbox/queue")
    await expect(page.locator(".rd-row")).to_have_count(5)
    await shoot(page, f"console-inbox-queue-{lang}")
    await page.click('.rd-tabs a[href="#/inbox/mine"]')
    await expect(page.locator(".rd-row")).to_have_count(2)
    await page.locator(".rd-row").first.click()
    await expect(page.locator(".rd-msg.k-visitor")).to_have_count(1)
    await shoot(page, f"console-inbox-mine-{lang}")

    await page.goto(f"{live_server}/console#/inbox/queue/{world['bot_conversation']}")
    await expect(page.locator(".rd-msg.k-bot").first).to_be_visible()
    await expect(page.locator(".rd-summary")).to_be_visible()
    await expect(page.locator(".rd-cites").first).to_be_visible()
    await page.locator(".rd-compose textarea").type("/")
    await expect(page.locator(".rd-canned li[role=option]")).to_have_count(3)
    await shoot(page, f"console-conversation-{lang}")
    await page.locator(".rd-compose textarea").press("Escape")

    await page.goto(f"{live_server}/console#/kb/a/{world['article']}")
    await expect(page.locator(".rd-preview")).to_be_visible()
    await expect(page.locator(".rd-kb-list .rd-row").first).to_be_visible()
    await shoot(page, f"console-kb-editor-{lang}")

    assert demo_site.id is not None
    for name, path, ready in (
        ("admin-users", "/console/admin/users", "#rd-users tbody tr"),
        ("admin-teams", "/console/admin/teams", "#rd-teams tbody tr"),
        ("admin-sites", "/console/admin/sites", "#rd-sites tbody tr"),
        ("admin-site-edit", f"/console/admin/sites/{demo_site.id}", "#rd-snippet"),
        ("admin-canned", "/console/admin/canned", "#rd-canned tbody tr"),
        ("profile", "/console/profile", "#rd-profile"),
    ):
        await page.goto(f"{live_server}{path}")
        await expect(page.locator(ready).first).to_be_visible()
        await shoot(page, f"{name}-{lang}")
        if name == "admin-site-edit":
            # The whole settings page, handoff rules included, below the fold.
            # The panes scroll inside the viewport, so grow the viewport instead.
            await page.set_viewport_size({"width": 1440, "height": 1400})
            await page.screenshot(path=str(SCREENSHOTS / f"{name}-full-{lang}.png"))
            await page.set_viewport_size({"width": 1440, "height": 900})
        # Every admin page speaks the reader's language.
        assert (await page.locator("html").get_attribute("lang")) == (
            "zh-CN" if lang == "zh" else "en"
        )
    await context.close()
    assert errors == []
