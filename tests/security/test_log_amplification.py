"""Finding 8: log amplification. Each malformed packet was decoded and logged with a
3.6 KB traceback before any rate limit ran: 3.6 KB sent grew the log by 1 MB. Now bad
packets cost one sampled line each, and repeat offenders and floods are disconnected."""

from __future__ import annotations

import asyncio
import logging

import pytest

from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from tests import sockets
from tests.factories import make_site

BAD_PACKETS = ['42/widget,["message:send",{', "9nonsense", '43/widget,x["', "2/nowhere,{{{"]


async def _wait_disconnected(peer: sockets.Peer) -> None:
    async with asyncio.timeout(10):
        while peer.client.connected:
            await asyncio.sleep(0.02)


async def test_malformed_packets_cost_a_line_each_and_then_the_connection(
    db: Database, live_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    site = await make_site(db)
    peer = await sockets.visitor(live_server, site.site_key)
    caplog.set_level(logging.DEBUG)
    sent = 0
    for text in BAD_PACKETS * 2:
        if not peer.client.connected:
            break
        await peer.client.eio.send(text)
        sent += len(text)
    await _wait_disconnected(peer)
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    logged = sum(len(r.getMessage()) for r in lines)
    assert all(r.exc_info is None for r in caplog.records), "no tracebacks"
    assert len(lines) <= 5 and logged < 600, (len(lines), logged)
    assert all("bad socket packet" in r.getMessage() for r in lines)


async def test_a_packet_flood_is_cut_before_decoding(db: Database, live_server: str) -> None:
    site = await make_site(db)
    with override_settings(socket_packets_per_second=5):
        peer = await sockets.visitor(live_server, site.site_key)
        for _ in range(200):
            if not peer.client.connected:
                break
            await peer.client.eio.send('42/widget,["typing",{}]')
        await _wait_disconnected(peer)


async def test_a_call_over_the_packet_rate_is_answered_rate_limited(
    db: Database, live_server: str
) -> None:
    """A refused call still gets its ack (undecoded), so the client backs off and retries
    instead of waiting out its timeout; the connection stays up."""
    site = await make_site(db)
    with override_settings(socket_packets_per_second=1):
        peer = await sockets.visitor(live_server, site.site_key)
        codes = []
        for _ in range(5):  # the burst is 3 packets; the handshake spent some of it
            ack = await peer.call("typing", {"typing": True})
            assert ack["ok"] or ack["error"]["code"], ack
            codes.append(None if ack["ok"] else ack["error"]["code"])
            if codes[-1] == "rate_limited":
                break
        assert codes[-1] == "rate_limited", codes
        assert peer.client.connected
