"""Acceptance 1 of the console issue, in two browsers (a visitor on /demo, agents in
/console): handoff live with a notification, accept, messages with typing and read ticks
on both sides, a private note the visitor never receives (checked in the widget's DOM, on
the widget page's own socket frames and on a raw visitor socket), a label, a live transfer
to a second agent, resolve, CSAT, reopen."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, Page, WebSocket, expect
from sqlmodel import col, select

from relaydesk.bot.models import BotCsat
from relaydesk.collab import service as collab
from relaydesk.conversations import transitions
from relaydesk.conversations.policy import load_scope
from relaydesk.conversations.service import SYSTEM
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site, Team
from tests import sockets
from tests.e2e.conftest import Widget, conversation_of, errors_of, eventually, shoot
from tests.e2e.test_console_conversation import FAKE_NOTIFICATION
from tests.e2e.test_console_inbox import sign_in
from tests.factories import make_staff, route_manually

NOTE = "Internal: refund approved by finance, ticket #4821"


def _record_frames(page: Page) -> list[str]:
    """Every Socket.IO frame the page's websockets receive, as text."""
    frames: list[str] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_socket)
    return frames


async def _console(browser: Browser, init: str | None = None) -> tuple[BrowserContext, Page]:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    ctx.set_default_timeout(10_000)
    await ctx.grant_permissions(["notifications"])
    if init:
        await ctx.add_init_script(init)
    return ctx, await ctx.new_page()


async def test_handoff_note_transfer_resolve_csat(
    db: Database, live_server: str, demo_site: Site, browser: Browser, context: BrowserContext
) -> None:
    assert demo_site.id is not None
    await route_manually(db, demo_site)
    ava = await make_staff(db, site=demo_site, name="Ava Agent")
    ben = await make_staff(db, site=demo_site, name="Ben Backup")
    lead = await make_staff(db, site=demo_site, roles=[Role.SUPERVISOR], name="Sam Lead")
    vip = await collab.create_label(
        db, scope=await load_scope(db, lead), site_id=demo_site.id, name="VIP", color="#d92d20"
    )

    # The visitor, on the demo shop page, with every frame its socket receives recorded.
    visitor_page = await context.new_page()
    visitor_errors = errors_of(visitor_page)
    frames = _record_frames(visitor_page)
    await visitor_page.goto(f"{live_server}/demo")
    widget = Widget(visitor_page)

    ava_ctx, ava_page = await _console(browser, FAKE_NOTIFICATION)
    ben_ctx, ben_page = await _console(browser)
    ava_errors, ben_errors = errors_of(ava_page), errors_of(ben_page)
    await sign_in(ava_page, live_server, ava)
    await sign_in(ben_page, live_server, ben)
    await ben_page.click('.rd-tabs a[href="#/inbox/mine"]')
    await expect(ben_page.locator(".rd-empty-row")).to_be_visible()

    await widget.open()
    await widget.send("Hi, my parcel arrived damaged.")
    await expect(widget.confirmed().first).to_be_visible()
    cid = (await conversation_of(db, demo_site)).id

    # 1. The visitor asks for a person: the handoff shows up in Ava's queue, live.
    await visitor_page.locator("relaydesk-widget .ask-human").click()
    row = ava_page.locator(f'.rd-row[data-id="{cid}"]')
    await expect(row).to_have_attribute("data-status", "queued", timeout=5_000)
    await eventually(lambda: ava_page.evaluate("window.__notes"))
    assert await ava_page.evaluate("window.__notes") == ["New conversation waiting"]
    await expect(ava_page).to_have_title("(1) Console · Relaydesk")
    await shoot(ava_page, "handoff-1-queue-en")

    # 2. Ava accepts; the visitor sees her name.
    await row.click()
    await ava_page.click('[data-action="accept"]')
    await expect(ava_page.locator(".rd-conv-title .rd-status")).to_have_text("Assigned")
    await expect(visitor_page.locator("relaydesk-widget .title")).to_have_text("Ava Agent")

    # 3. Messages both ways, with typing indicators and read ticks on both sides.
    reply_box = ava_page.locator(".rd-compose textarea")
    await reply_box.press_sequentially("Sorry to hear")
    await expect(visitor_page.locator("relaydesk-widget .typing")).to_contain_text("Ava")
    await reply_box.fill("Sorry to hear that! Could you send me a photo of the box?")
    await reply_box.press("Enter")
    await expect(widget.message("Could you send me a photo")).to_be_visible()
    await expect(ava_page.locator(".rd-msg.k-agent .rd-tick.read")).to_have_count(1)
    await widget.input.press_sequentially("Sure")
    await expect(ava_page.locator(".rd-typing")).to_contain_text("typing")
    await widget.input.fill("Sure, here it is. The corner is crushed.")
    await widget.input.press("Enter")
    await expect(
        ava_page.locator(".rd-msg.k-visitor", has_text="corner is crushed")
    ).to_be_visible()
    mine = visitor_page.locator("relaydesk-widget .msg.visitor[data-seq]").last
    await expect(mine.locator(".tick.read")).to_be_visible()

    # 4. A private note and a label: staff only.
    await ava_page.click(".rd-note-toggle")
    await expect(ava_page.locator(".rd-compose")).to_have_class("rd-compose noting")
    await reply_box.fill(NOTE)
    await reply_box.press("Control+Enter")
    note = ava_page.locator(".rd-note:not(.pending)", has_text=NOTE)
    await expect(note).to_be_visible()
    await ava_page.click(".rd-label-add")
    await ava_page.locator(f'.rd-picker input[data-label-id="{vip.id}"]').check()
    await expect(ava_page.locator(".rd-labels-bar > .rd-chip")).to_have_text("VIP×")
    # Her Mine view lists it with the label (the queue no longer holds it).
    await ava_page.evaluate("cid => (location.hash = `#/inbox/mine/${cid}`)", cid)
    await expect(row.locator(".rd-chip")).to_have_text("VIP")
    await expect(ava_page.locator('.rd-count[data-view="mine"]')).to_have_text("1")
    await ava_page.keyboard.press("Escape")
    await ava_page.click(".rd-log")
    await shoot(ava_page, "handoff-2-conversation-note-en")

    # The visitor never receives the note: not on screen, not on the widget's socket, not
    # on a second visitor socket with the same token, not in sync or conversation:open.
    token = await visitor_page.evaluate("localStorage.getItem('relaydesk:demo-site:token')")
    raw = await sockets.visitor(live_server, demo_site.site_key, token)
    opened = await raw.call("conversation:open", {})
    assert opened["conversation"]["id"] == cid
    await ava_page.click(".rd-note-toggle")  # still in note mode: switch it off, then on
    await ava_page.click(".rd-note-toggle")
    await reply_box.fill(NOTE + " (second)")
    await reply_box.press("Enter")
    await expect(ava_page.locator(".rd-note:not(.pending)")).to_have_count(2)
    await ava_page.click(".rd-note-toggle")
    await reply_box.fill("Thanks, I'm arranging a replacement.")
    await reply_box.press("Enter")
    await expect(widget.message("arranging a replacement")).to_be_visible()
    await eventually(lambda: any("arranging" in m["text"] for m in raw.messages()))
    synced = await raw.call("sync", {"conversation_id": cid, "after_seq": 0})
    for seen in (repr(dict(raw.received)), repr(synced), repr(opened), "\n".join(frames)):
        assert "Internal: refund" not in seen and "note:" not in seen
    seqs = [m["seq"] for m in synced["messages"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert "Internal" not in await widget.log.inner_text()
    assert len(frames) > 10  # the recorder did see the conversation

    # 5. Ava transfers the conversation to Ben, whose Mine view shows it live.
    transferred = await ava_page.evaluate(
        """([cid, agent]) => window.relaydeskConsole.socket.timeout(8000).emitWithAck(
             "conversation:transfer", {conversation_id: cid, agent_id: agent, team_id: null})""",
        [cid, ben.id],
    )
    assert transferred["ok"], transferred
    ben_row = ben_page.locator(f'.rd-row[data-id="{cid}"]')
    await expect(ben_row).to_be_visible(timeout=5_000)
    await expect(ben_row.locator(".rd-chip")).to_have_text("VIP")
    await expect(visitor_page.locator("relaydesk-widget .title")).to_have_text("Ben Backup")
    await ben_row.click()
    await expect(ben_page.locator(".rd-note", has_text=NOTE)).to_have_count(2)
    await expect(ben_page.locator(".rd-labels-bar > .rd-chip")).to_have_text("VIP×")
    await expect(ben_page.locator(".rd-details dl")).to_be_visible()
    await expect(ben_page.locator(".rd-summary")).to_be_visible()
    await shoot(ben_page, "handoff-3-transferred-en")

    # 6. Ben resolves; the visitor rates the conversation.
    await ben_page.click('[data-action="resolve"]')
    await expect(ben_page.locator(".rd-conv-title .rd-status")).to_have_text("Resolved")
    csat = visitor_page.locator("relaydesk-widget form.csat")
    await expect(csat).to_be_visible()
    await csat.locator(".star").nth(4).click()
    await shoot(visitor_page, "handoff-4-csat-en")
    await csat.locator("button[type=submit]").click()
    await expect(visitor_page.locator("relaydesk-widget .card.done")).to_be_visible()
    async with db.read() as session:
        ratings = list(
            (await session.execute(select(BotCsat).where(col(BotCsat.conversation_id) == cid)))
            .scalars()
            .all()
        )
    assert [r.score for r in ratings] == [5]

    # 7. Reopen from the console: the conversation goes back to the bot.
    await ben_page.click('[data-action="reopen"]')
    await expect(ben_page.locator(".rd-conv-title .rd-status")).to_have_text("Bot")
    assert "Internal: refund" not in "\n".join(frames)
    assert "note:new" not in raw.received
    await raw.disconnect()
    for ctx in (ava_ctx, ben_ctx):
        await ctx.close()
    assert visitor_errors == ava_errors == ben_errors == []


async def test_label_filter_team_view_and_chinese_ui(
    db: Database, live_server: str, demo_site: Site, browser: Browser
) -> None:
    """A supervisor in Chinese: the label filter narrows the inbox (and follows live label
    changes), the Team view lists conversations routed to their team, notes and the reopen
    button read in Chinese."""
    assert demo_site.id is not None
    await route_manually(db, demo_site)
    lead = await make_staff(db, site=demo_site, roles=[Role.SUPERVISOR], name="王主管")
    scope = await load_scope(db, lead)
    vip = await collab.create_label(
        db, scope=scope, site_id=demo_site.id, name="重要客户", color="#d92d20"
    )
    await collab.create_label(db, scope=scope, site_id=demo_site.id, name="退款", color="#079455")
    async with db.read() as session:
        team = (await session.execute(select(Team).where(Team.site_id == demo_site.id))).scalars()
        team_id = next(iter(team)).id
    peers, ids = [], []
    for n in range(3):
        peer = await sockets.visitor(live_server, demo_site.site_key)
        cid = (await peer.call("conversation:open", {}))["conversation"]["id"]
        await peer.call(
            "message:send", {"conversation_id": cid, "client_id": "v1", "text": f"你好 {n}"}
        )
        peers.append(peer)
        ids.append(cid)
    await transitions.request_handoff(
        db, conversation_id=ids[0], actor=SYSTEM, reason="visitor_request", team_id=team_id
    )
    await collab.set_labels(db, scope=scope, conversation_id=ids[0], label_ids=[vip.id or 0])

    ctx, page = await _console(browser)
    errors = errors_of(page)
    await sign_in(page, live_server, lead, lang="zh")
    await expect(page.locator(".rd-tabs a")).to_have_text(
        ["排队中3", "我的0", "团队1", "全部3", "已解决0"]
    )
    rows = page.locator(".rd-row")
    await expect(rows).to_have_count(3)
    await page.select_option(".rd-label-filter", str(vip.id))
    await expect(rows).to_have_count(1)
    await expect(page.locator(f'.rd-row[data-id="{ids[0]}"] .rd-chip')).to_have_text("重要客户")
    await expect(page.locator('.rd-count[data-view="queue"]')).to_have_text("1")
    # Live: labelling another conversation brings it into the filtered list.
    await collab.set_labels(db, scope=scope, conversation_id=ids[1], label_ids=[vip.id or 0])
    await expect(rows).to_have_count(2)
    await page.click('.rd-tabs a[href="#/inbox/team"]')
    await expect(rows).to_have_count(1)
    await page.select_option(".rd-label-filter", "")

    await page.locator(f'.rd-row[data-id="{ids[0]}"]').click()
    await page.click('[data-action="accept"]')
    await page.click(".rd-note-toggle")
    await expect(page.locator(".rd-compose textarea")).to_have_attribute(
        "placeholder", "内部备注，仅客服可见（回车保存）"
    )
    await page.fill(".rd-compose textarea", "客户是老顾客，可以优先处理退款。")
    await page.press(".rd-compose textarea", "Enter")
    await expect(page.locator(".rd-note:not(.pending)")).to_contain_text("内部备注")
    await page.click('[data-action="resolve"]')
    await expect(page.locator('[data-action="reopen"]')).to_have_text("重新打开")
    await page.evaluate("cid => (location.hash = `#/inbox/resolved/${cid}`)", ids[0])
    await expect(page.locator(f'.rd-row[data-id="{ids[0]}"] .rd-chip')).to_have_text("重要客户")
    await expect(page.locator(".rd-details dl")).to_be_visible()
    await expect(page.locator('.rd-count[data-view="resolved"]')).to_have_text("1")
    await expect(page.locator('.rd-count[data-view="team"]')).to_have_text("0")
    await shoot(page, "console-notes-labels-zh")
    await page.click('[data-action="reopen"]')
    await expect(page.locator(".rd-conv-title .rd-status")).to_have_text("机器人")
    for peer in peers:
        assert "客户是老顾客" not in repr(dict(peer.received))
        await peer.disconnect()
    await ctx.close()
    assert errors == []
