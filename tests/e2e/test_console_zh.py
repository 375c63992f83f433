"""The console's conversation view in Chinese over a conversation with everything in it (bot
answers with citations, a handoff and its summary, a private note, a label, an agent's
attachment, a transfer): no handoff reason shows as its code, and no English word for the
bot, a sender or a status is left."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image
from playwright.async_api import Browser, expect
from sqlmodel import col, update

from relaydesk.bot import summary as bot_summary
from relaydesk.bot.summary import REASON_CODES
from relaydesk.conversations import transitions
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site, StaffUser, Visitor
from relaydesk.knowledge import search as knowledge_search
from relaydesk.knowledge.demo import seed_demo_knowledge
from tests import sockets
from tests.e2e.conftest import errors_of, eventually, shoot
from tests.e2e.test_console_inbox import sign_in
from tests.factories import bearer_for, default_team, make_staff, route_manually

QUESTION = "退款多久到账？"
# English words the Chinese view must not show, as whole words (names, file names and the
# site's own name may still be English).
ENGLISH = re.compile(
    r"\b(Bot|Visitor|Agent|System|Waiting|Queued|Assigned|Resolved|Sources|Related|"
    r"Handed off|asked|answered|sources|Reason|English|Chinese)\b"
)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (30, 140, 90)).save(out, "PNG")
    return out.getvalue()


async def _conversation(db: Database, site: Site, live_server: str) -> tuple[str, StaffUser]:
    assert site.id is not None
    async with db.write() as session:
        await session.execute(
            update(Site).where(col(Site.id) == site.id).values(default_locale="zh")
        )
    await seed_demo_knowledge(db, site_id=site.id)
    await knowledge_search.warm_up(db)
    await route_manually(db, site)
    team = await default_team(db, site)
    lead = await make_staff(
        db, site=site, roles=[Role.SUPERVISOR, Role.AGENT], name="陈主管", teams=[team]
    )
    other = await make_staff(db, site=site, name="李娜", teams=[team])

    visitor = await sockets.visitor(live_server, site.site_key)
    cid = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    async with db.write() as session:
        await session.execute(
            update(Visitor)
            .where(col(Visitor.id) == visitor.received["session"][0]["visitor_id"])
            .values(name="林晓", locale="zh-CN")
        )
    await visitor.call(
        "message:send", {"conversation_id": cid, "client_id": "q-1", "text": QUESTION}
    )
    await visitor.wait_for("message:new", timeout=60)  # the bot's answer
    await visitor.call(
        "message:send", {"conversation_id": cid, "client_id": "q-2", "text": "我想转人工客服。"}
    )
    await eventually(lambda: bot_summary.latest_summary(db, cid), timeout=60)

    await transitions.accept(db, conversation_id=cid, agent=lead)
    auth = {"Authorization": f"Bearer {bearer_for(lead)}"}
    staff = await sockets.staff(live_server, bearer_for(lead))
    async with httpx.AsyncClient(base_url=live_server, headers=auth) as http:
        up = await http.post(
            f"/api/v1/conversations/{cid}/attachments",
            files={"file": ("退货单.png", _png(), "image/png")},
        )
        assert up.status_code == 201, up.text
        sent = await staff.call(
            "message:send",
            {
                "conversation_id": cid,
                "client_id": "a-1",
                "text": "您好，这是退货单，请打印后贴在包裹上。",
                "attachment_ids": [up.json()["attachment"]["id"]],
            },
        )
        assert sent["ok"], sent
        note = await http.post(
            f"/api/v1/conversations/{cid}/notes",
            json={"client_id": "n-1", "text": "老顾客，优先处理退款。"},
        )
        assert note.status_code == 201, note.text
        label = await http.post(
            "/api/v1/labels", json={"site_id": site.id, "name": "退款", "color": "#c92a2a"}
        )
        assert label.status_code == 201, label.text
        labelled = await http.put(
            f"/api/v1/conversations/{cid}/labels", json={"label_ids": [label.json()["id"]]}
        )
        assert labelled.status_code == 200, labelled.text
        moved = await http.post(
            f"/api/v1/conversations/{cid}/transfer", json={"agent_id": other.id}
        )
        assert moved.status_code == 200, moved.text
    await staff.disconnect()
    await visitor.disconnect()
    return cid, lead


async def test_chinese_conversation_view_speaks_chinese(
    db: Database, live_server: str, demo_site: Site, browser: Browser
) -> None:
    cid, lead = await _conversation(db, demo_site, live_server)
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = await context.new_page()
    errors = errors_of(page)
    await page.emulate_media(reduced_motion="reduce")
    await sign_in(page, live_server, lead, "zh")
    await page.goto(f"{live_server}/console#/inbox/all/{cid}")

    summary = page.locator(".rd-summary")
    await expect(summary).to_be_visible()
    await expect(page.locator(".rd-msg.k-bot .rd-cites").first).to_contain_text("来源")
    await expect(page.locator(".rd-note")).to_have_count(1)
    await expect(page.locator(".rd-labels-bar .rd-chip")).to_contain_text("退款")
    await expect(page.locator(".rd-msg.k-agent .rd-atts")).to_have_count(1)
    await expect(page.locator(".rd-conv-title")).to_contain_text("李娜")
    await expect(page.locator(".rd-details")).to_contain_text("访客要求转人工")

    # The summary is rendered in the reader's language; the visitor's words stay as written.
    await expect(summary).to_contain_text(f"访客提问：“{QUESTION}”")
    await expect(summary).to_contain_text("机器人回答：")
    await expect(summary).to_contain_text("转人工原因：访客要求转人工")
    await expect(page.locator(".rd-msg.k-bot .rd-msg-who").first).to_contain_text("机器人")
    await expect(page.locator(".rd-details")).to_contain_text("中文")
    await page.locator(".rd-log").evaluate("(log) => (log.scrollTop = log.scrollHeight)")
    await expect(page.locator(".rd-note")).to_be_in_viewport()
    await shoot(page, "console-conversation-full-zh")

    shown = await page.locator("#rd-main").inner_text()
    for code in [*REASON_CODES, "keyword:"]:
        assert code not in shown, code
    assert not ENGLISH.search(shown), ENGLISH.search(shown)
    # Relative times in the inbox are Chinese too ("3秒", not "3s").
    rows = await page.locator(".rd-row").all_inner_texts()
    assert rows and not any(re.search(r"\d+[smhd]\b", r) for r in rows), rows
    await context.close()
    assert errors == []
