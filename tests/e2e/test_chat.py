"""A visitor on /demo and an agent on /console, talking through the real server."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image
from playwright.async_api import BrowserContext, Locator, expect
from reportlab.pdfgen import canvas

from relaydesk.conversations.models import Conversation
from relaydesk.core.db import Database
from relaydesk.core.models import Site, Visitor
from relaydesk.sites import identity
from tests import sockets
from tests.e2e.conftest import (
    Agent,
    conversation_of,
    errors_of,
    eventually,
    host_page,
    open_widget,
    shoot,
)
from tests.e2e.test_console_inbox import sign_in
from tests.factories import bearer_for, make_staff


async def test_visitor_and_agent_talk_with_read_ticks(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    widget = await open_widget(page, f"{live_server}/demo")
    await expect(widget.input).to_be_focused()
    await widget.send("Hi! Where is my order #1042?")

    mine = widget.log.locator(".msg.visitor", has_text="order #1042")
    # Shown at once, then acknowledged by the server (it gets a seq and a "sent" tick).
    await expect(mine).to_have_count(1)
    await expect(mine.locator(".tick.sent")).to_have_count(1)
    seq = int(await mine.get_attribute("data-seq") or 0)
    assert seq >= 1

    conversation = await conversation_of(db, demo_site)
    joined = await agent.peer.call("conversation:join", {"conversation_id": conversation.id})
    assert joined["ok"], joined
    assert any(m["text"] == "Hi! Where is my order #1042?" for m in joined["messages"])
    sent = await agent.peer.call(
        "message:send",
        {"conversation_id": conversation.id, "client_id": "a-1", "text": "It ships today!"},
    )
    assert sent["ok"], sent
    reply = widget.log.locator(".msg.agent", has_text="It ships today!")
    await expect(reply).to_have_count(1)
    await expect(reply.locator(".sender")).to_have_text("Ava Agent")
    # Once assigned, the header names the agent.
    await expect(page.locator("relaydesk-widget .title")).to_have_text("Ava Agent")

    read = await agent.peer.call(
        "read", {"conversation_id": conversation.id, "seq": sent["message"]["seq"]}
    )
    assert read["ok"], read
    await expect(mine.locator(".tick.read")).to_have_count(1)
    # The open widget reported the visitor's own read marker to the agent.
    await eventually(
        lambda: any(
            r["reader"]["kind"] == "visitor" and r["seq"] >= sent["message"]["seq"]
            for r in agent.peer.received["read"]
        )
    )
    assert errors == []


async def test_typing_indicator_and_unread_badge(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    widget = await open_widget(page, f"{live_server}/demo")
    await widget.send("Do you ship to Canada?")
    await expect(widget.confirmed()).not_to_have_count(0)
    conversation = await conversation_of(db, demo_site)
    cid = conversation.id
    assert (await agent.peer.call("conversation:accept", {"conversation_id": cid}))["ok"]
    assert (await agent.peer.call("conversation:join", {"conversation_id": cid}))["ok"]

    # Visitor → agent typing, throttled: a burst of keystrokes sends one `typing: true`.
    await widget.input.press_sequentially("Also to", delay=20)
    typing = await agent.peer.wait_for("typing")
    assert typing[0]["typing"] is True and typing[0]["sender"]["kind"] == "visitor"
    assert len(agent.peer.received["typing"]) == 1

    # Agent → visitor typing.
    await agent.peer.call("typing", {"conversation_id": cid, "typing": True})
    indicator = page.locator("relaydesk-widget .typing")
    await expect(indicator).to_be_visible()
    await expect(indicator).to_contain_text("Ava Agent")

    # Closed widget: a reply raises the launcher badge and flags the tab title.
    await page.locator("relaydesk-widget .close").click()
    await expect(widget.launcher).to_be_focused()
    title = await page.title()
    await agent.peer.call(
        "message:send", {"conversation_id": cid, "client_id": "a-2", "text": "Yes, we do."}
    )
    await expect(widget.launcher.locator("i")).to_have_text("1")
    await expect(page).to_have_title(f"(1) New message · {title}")
    await widget.launcher.click()
    await expect(widget.launcher.locator("i")).to_have_text("")
    await expect(page).to_have_title(title)
    await expect(indicator).to_be_hidden()


def _png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), color).save(out, "PNG")
    return out.getvalue()


def _pdf() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Order 1042")
    page.save()
    return out.getvalue()


async def loaded(img: Locator) -> bool:
    return bool(await img.evaluate("i => i.complete && i.naturalWidth == 120"))


async def test_attachments_both_ways(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    await page.emulate_media(reduced_motion="reduce")
    widget = await open_widget(page, f"{live_server}/demo")
    await widget.send("Here is the damaged box")
    await expect(widget.confirmed()).to_have_count(1)
    conversation = await conversation_of(db, demo_site)
    cid = conversation.id
    assert (await agent.peer.call("conversation:accept", {"conversation_id": cid}))["ok"]
    assert (await agent.peer.call("conversation:join", {"conversation_id": cid}))["ok"]

    picker = page.locator("relaydesk-widget .composer input[type=file]")
    await picker.set_input_files(
        [
            {"name": "box.png", "mimeType": "image/png", "buffer": _png((220, 90, 40))},
            {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": _pdf()},
        ]
    )
    sent = widget.log.locator(".msg.visitor[data-seq]").last
    thumb = sent.locator(".attachment.img img")
    await expect(thumb).to_have_attribute("src", re.compile(r"^blob:"))
    await eventually(lambda: loaded(thumb))
    await expect(sent.locator(".attachment.file .file-name")).to_have_text("receipt.pdf")
    # Files only: no text bubble with the file names.
    await expect(sent.locator(".bubble")).to_have_count(0)
    await expect(sent.locator(".tick.sent")).to_have_count(1)
    carrying = await eventually(
        lambda: [m for m in agent.peer.messages() if m["payload"].get("attachments")]
    )
    files = carrying[0]["payload"]["attachments"]
    assert [f["name"] for f in files] == ["box.png", "receipt.pdf"]

    # A page that is HTML named .png passes the browser's check but not the server's.
    await picker.set_input_files(
        {"name": "evil.png", "mimeType": "image/png", "buffer": b"<html><script>1</script>"}
    )
    failed = widget.log.locator(".msg.failed")
    await expect(failed.locator(".err")).to_have_text(
        "Only images (PNG, JPEG, GIF, WebP) and PDF files can be sent."
    )
    # Retrying cannot change what the file is: the visitor may only remove it.
    await expect(failed.locator("button.retry")).to_have_text("Remove")
    await expect(failed.locator(".attachment.file .file-name")).to_have_text("evil.png")
    # Too big is refused before any upload.
    await picker.set_input_files(
        {"name": "huge.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-" + b"0" * 11_000_000},
        timeout=40_000,  # 11 MB through the DevTools protocol is slow on a loaded machine
    )
    await expect(page.locator("relaydesk-widget .file-error")).to_have_text(
        "That file is too large (10 MB at most)."
    )

    # The agent sends an image; the visitor sees it, fetched with the visitor's token.
    token = bearer_for(agent.user)
    async with httpx.AsyncClient(base_url=live_server) as http:
        up = await http.post(
            f"/api/v1/conversations/{cid}/attachments",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("label.png", _png((30, 140, 90)), "image/png")},
        )
    assert up.status_code == 201, up.text
    reply = await agent.peer.call(
        "message:send",
        {
            "conversation_id": cid,
            "client_id": "a-label",
            "text": "Your return label",
            "attachment_ids": [up.json()["attachment"]["id"]],
        },
    )
    assert reply["ok"], reply
    theirs = widget.log.locator(".msg.agent", has_text="Your return label")
    await eventually(lambda: loaded(theirs.locator(".attachment.img img")))
    await shoot(page, "widget-attachments")
    await failed.locator("button.retry").click()
    await expect(failed).to_have_count(0)
    assert errors == []


async def test_console_shows_and_sends_attachments(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    agent = await make_staff(db, site=demo_site, name="Cas Console")
    visitor = await sockets.visitor(live_server, demo_site.site_key)
    token = visitor.received["session"][0]["visitor_token"]
    cid = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    async with httpx.AsyncClient(base_url=live_server) as http:
        up = await http.post(
            f"/api/v1/conversations/{cid}/attachments",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("scratch.png", _png((180, 30, 30)), "image/png")},
        )
    assert up.status_code == 201, up.text
    sent = await visitor.call(
        "message:send",
        {
            "conversation_id": cid,
            "client_id": "v-att",
            "text": "The mug arrived scratched",
            "attachment_ids": [up.json()["attachment"]["id"]],
        },
    )
    assert sent["ok"], sent

    page = await context.new_page()
    errors = errors_of(page)
    await sign_in(page, live_server, agent)
    await page.locator(f'.rd-row[data-id="{cid}"]').click()
    visitor_msg = page.locator(".rd-msg.k-visitor", has_text="The mug arrived scratched")
    await eventually(lambda: loaded(visitor_msg.locator(".rd-att-img img")))

    # The agent attaches a PDF from the reply box and sends it with a line of text.
    await page.locator(".rd-compose input[type=file]").set_input_files(
        {"name": "return-label.pdf", "mimeType": "application/pdf", "buffer": _pdf()}
    )
    await expect(page.locator(".rd-att-chip.done")).to_have_count(1)
    await page.locator(".rd-compose textarea").fill("Here is a return label")
    await page.locator(".rd-compose textarea").press("Enter")
    mine = page.locator(".rd-msg.k-agent[data-seq]", has_text="Here is a return label")
    await expect(mine.locator(".rd-att-file .rd-att-name")).to_have_text("return-label.pdf")
    await expect(page.locator(".rd-att-chip")).to_have_count(0)
    carrying = await eventually(
        lambda: [m for m in visitor.messages() if m["payload"].get("attachments")]
    )
    agent_file = carrying[-1]["payload"]["attachments"][0]
    assert (agent_file["name"], agent_file["type"]) == ("return-label.pdf", "application/pdf")
    # A wrong kind of file is refused in the tray, and nothing is sent with it.
    await page.locator(".rd-compose input[type=file]").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}
    )
    await expect(page.locator(".rd-att-chip.failed")).to_have_count(1)
    await shoot(page, "console-attachments")
    await visitor.disconnect()
    assert errors == []


async def test_identify_from_the_host_page_reaches_the_agent_live(
    live_server: str, db: Database, demo_site: Site, context: BrowserContext
) -> None:
    assert demo_site.id is not None
    secret = "juniper-and-oak-identity-secret"
    await identity.set_identity_secret(db, site_id=demo_site.id, secret=secret)
    agent = await make_staff(db, site=demo_site, name="Ida Ident")
    page = await context.new_page()
    errors = errors_of(page)
    widget = await open_widget(page, f"{live_server}/demo")
    await widget.send("Hello, it's me")
    await expect(widget.confirmed()).to_have_count(1)
    cid = (await conversation_of(db, demo_site)).id

    console = await context.new_page()
    await sign_in(console, live_server, agent)
    await console.locator(f'.rd-row[data-id="{cid}"]').click()
    await expect(console.locator(".rd-msg.k-visitor")).to_have_count(1)

    # A forged hash is refused and changes nothing; the signed one is shown to the agent.
    forged = identity.user_hash("not-the-secret-at-all", "u-42")
    await page.evaluate(
        "h => Relaydesk.identify({id: 'u-42', name: 'Mallory', user_hash: h})", forged
    )
    await page.wait_for_timeout(300)
    signed = identity.user_hash(secret, "u-42")
    await page.evaluate(
        "h => Relaydesk.identify({id: 'u-42', name: 'Mia Chen', email: 'mia@example.com',"
        " user_hash: h})",
        signed,
    )
    await expect(console.locator(".rd-conv-title strong")).to_have_text("Mia Chen")
    await expect(console.locator(".rd-details")).to_contain_text("mia@example.com")
    async with db.read() as session:
        conversation = await session.get(Conversation, cid)
        assert conversation is not None
        visitor = await session.get(Visitor, conversation.visitor_id)
    assert visitor is not None
    assert (visitor.external_id, visitor.name, visitor.identity_verified) == (
        "u-42",
        "Mia Chen",
        True,
    )
    assert errors == []


async def test_attachments_from_a_page_on_another_origin(
    live_server: str, db: Database, demo_site: Site, agent: Agent, context: BrowserContext
) -> None:
    """The widget on a shop's own site talks to Relaydesk cross-origin: the browser's CORS
    rules apply to the upload (with its preflight) and to the download."""
    html = (
        "<!doctype html><html><body><h1>Shop</h1>"
        f'<script src="{live_server}/widget/loader.js" data-site-key="demo-site" async>'
        "</script></body></html>"
    )
    async with host_page(html) as url:
        page = await context.new_page()
        errors = errors_of(page)
        widget = await open_widget(page, url)
        await widget.send("Photo coming")
        await expect(widget.confirmed()).to_have_count(1)
        cid = (await conversation_of(db, demo_site)).id
        assert (await agent.peer.call("conversation:accept", {"conversation_id": cid}))["ok"]
        await page.locator("relaydesk-widget .composer input[type=file]").set_input_files(
            {"name": "cross.png", "mimeType": "image/png", "buffer": _png((90, 90, 200))}
        )
        sent = widget.log.locator(".msg.visitor[data-seq]").last
        await eventually(lambda: loaded(sent.locator(".attachment.img img")))
        # A reload drops the local copy: the image is downloaded, cross-origin, with the token.
        await page.reload()
        await widget.open()
        again = widget.log.locator(".msg.visitor[data-seq] .attachment.img img")
        await expect(again).to_have_count(1)
        await eventually(lambda: loaded(again))
        assert errors == []
