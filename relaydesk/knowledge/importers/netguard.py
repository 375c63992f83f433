"""Where URL imports may connect: public addresses only, checked on the address that is
actually dialled.

Resolving a name to check it and letting the HTTP client resolve it again to connect is
beaten by DNS rebinding (the second answer is 127.0.0.1). So the connection itself does
the resolving: each connection (the first request and every redirect to a new host)
resolves once, refuses non-public answers, and dials the vetted address. TLS still names
the host (SNI and certificate checks use it) and so does the Host header, because only
the socket layer sees the address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing

import httpcore
import httpx
from httpcore._backends.auto import AutoBackend

from relaydesk.core.config import get_settings
from relaydesk.knowledge.errors import ImportRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address routes to: mapped, IPv4-compatible (`::127.0.0.1`),
    NAT64 (`64:ff9b::/96`), 6to4 (`2002::/16`) and Teredo. Python's `is_global` judges the
    IPv6 address alone, and calls several of these public."""
    value = int(ip)
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _IPV4_COMPATIBLE or ip in _NAT64:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if ip in _SIX_TO_FOUR:
        found.append(ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF))
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def is_public(ip: IPAddress) -> bool:
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        return all(is_public(inner) for inner in embedded_ipv4(ip))
    return True


async def resolve(host: str, port: int) -> list[str]:
    """Addresses for host, in the resolver's order (a function so tests can stand in a
    rebinding DNS server)."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(address[0]).split("%", 1)[0] for *_, address in found]


async def vetted_addresses(host: str, port: int, url: str) -> list[str]:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addresses = [str(literal)]
    except ValueError:
        try:
            addresses = await resolve(host, port)
        except OSError:
            raise ImportRefused(
                f"{host} could not be resolved", code="fetch_failed", url=url
            ) from None
    if get_settings().url_import_allow_private_networks:
        return addresses
    if not addresses or not all(is_public(ipaddress.ip_address(a)) for a in addresses):
        raise ImportRefused(
            f"{host} is not a public address; imports only fetch from the internet",
            code="url_not_allowed",
            url=url,
        )
    return addresses


class VettingBackend(AutoBackend):
    """httpcore's network backend, dialling only the addresses it vetted itself."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await vetted_addresses(host, port, f"//{host}:{port}")
        last: Exception | None = None
        for address in addresses:
            try:
                stream: httpcore.AsyncNetworkStream = await super().connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return stream
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


def transport() -> httpx.AsyncHTTPTransport:
    built = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx builds its pool without a way to pass a backend: swap in ours, configured alike.
    pool = built._pool
    pool._network_backend = VettingBackend()
    return built
