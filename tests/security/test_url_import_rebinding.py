"""Finding 6: DNS rebinding beat the private-address block in URL import (the check
resolved the host, then httpx resolved it again to connect), and Python calls
`::127.0.0.1`, NAT64 and 6to4 addresses public. Now the connection dials the address it
vetted, and addresses embedding a private IPv4 address are refused."""

from __future__ import annotations

import asyncio
import http.server
import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.knowledge import service
from relaydesk.knowledge.importers import netguard
from tests.factories import make_site


@contextmanager
def recording_server() -> Iterator[tuple[int, list[str]]]:
    """A loopback server that answers a page and records each request's Host header."""
    hosts: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers.get("Host", ""))
            text = "Gift cards never expire and can be used in any of our stores. " * 5
            page = f"<html><head><title>Gift cards</title></head><body><p>{text}</p></body></html>"
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hosts
    finally:
        server.shutdown()
        server.server_close()


def rebinding_dns(monkeypatch: pytest.MonkeyPatch, first: str) -> list[str]:
    """The attacker's DNS: `first` on the first lookup, 127.0.0.1 on every later one."""
    answers: list[str] = []
    loop = asyncio.get_running_loop()

    async def getaddrinfo(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        address = first if not answers else "127.0.0.1"
        answers.append(address)
        return [(2, 1, 6, "", (address, port))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return answers


async def test_a_rebinding_host_never_reaches_the_loopback_server(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = await make_site(db)
    assert site.id is not None
    with recording_server() as (port, hosts):
        answers = rebinding_dns(monkeypatch, first="93.184.215.14")
        with pytest.raises(DomainError) as caught:
            await service.import_url(
                db,
                site_id=site.id,
                url=f"http://rebind.attacker.example:{port}/page",
                actor=service.SYSTEM,
            )
    assert caught.value.code == "url_not_allowed"
    assert hosts == []  # the internal server was never asked
    assert answers[0] == "93.184.215.14" and "127.0.0.1" in answers


async def test_the_connection_keeps_the_host_name(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dialling the vetted address does not change what the server is told (Host; for
    https, SNI and the certificate check use the name the same way)."""
    site = await make_site(db)
    assert site.id is not None
    with (
        recording_server() as (port, hosts),
        override_settings(url_import_allow_private_networks=True),
    ):
        rebinding_dns(monkeypatch, first="127.0.0.1")
        summary = await service.import_url(
            db, site_id=site.id, url=f"http://docs.example.test:{port}/faq", actor=service.SYSTEM
        )
    assert summary.articles_created == 1
    assert hosts == [f"docs.example.test:{port}"]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of the cloud metadata address
        ("64:ff9b:1::a00:1", False),  # local-use NAT64
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo, client 127.0.0.1
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("169.254.169.254", False),
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("2606:4700:4700::1111", True),
        ("93.184.215.14", True),
    ],
)
def test_addresses_embedding_private_ipv4_are_not_public(address: str, public: bool) -> None:
    assert netguard.is_public(ipaddress.ip_address(address)) is public
