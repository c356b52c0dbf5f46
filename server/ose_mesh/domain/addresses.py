"""Where an IP address really leads, and the addresses no probe may ever reach.

An IPv6 address can carry an IPv4 one: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
(::a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::) and Teredo (2001::/32, the
client's address obfuscated inside). A rule about an IPv4 network must hold for every such
spelling, so each rule is checked against every address an address carries.

Never probed, whatever an operator allows: link-local networks (169.254.0.0/16, where clouds
serve instance credentials, and fe80::/10) and unspecified addresses (0.0.0.0/8, ::), which a
connection takes to mean the local host.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


def parse_address(text: str) -> IPAddress | None:
    """The address `text` spells (brackets and an IPv6 zone allowed), or None for a name."""
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def carried(address: IPAddress) -> tuple[IPAddress, ...]:
    """The address and every IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv4Address):
        return (address,)
    if address.ipv4_mapped is not None:
        return (address, address.ipv4_mapped)
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):
        return (address, ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        return (address, address.sixtofour)
    if address.teredo is not None:
        server, client = address.teredo
        return (address, server, client)
    return (address,)


def never_probed(address: IPAddress) -> str | None:
    """Why no probe may go to `address` (or to what it carries), or None."""
    for each in carried(address):
        where = str(address) if each == address else f"{address} (carrying {each})"
        if each.is_link_local:
            return f"{where} is link-local, where clouds serve instance credentials"
        if each.is_unspecified or each in THIS_NETWORK:
            return f"{where} is an unspecified address, which reaches this host"
    return None
