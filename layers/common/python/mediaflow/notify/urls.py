"""Refusing callback URLs that would make the service reach into its own network (SSRF).

Owners choose callback URLs, so a URL is checked before every delivery: the scheme must be
http(s), it must carry no credentials, and every address its host resolves to must be
publicly routable. IP literals, including the decimal/hex/octal IPv4 spellings that
``inet_aton`` (and therefore the HTTP client's resolver) accepts, are judged without DNS. The
addresses that passed are returned: the caller connects to them and to nothing else (``pinning``),
so a name that answers differently when looked up again (DNS rebinding) cannot lead elsewhere.

Where loopback is allowed (a local stack), the local runtime's own ports (the emulator's, whose
unauthenticated admin API can wipe the stack, and the API's) are still refused on loopback: the
runtime names them in LOCAL_RESERVED_PORTS, which nothing else sets.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Collection
from urllib.parse import SplitResult, urlsplit

from mediaflow.exceptions import DeliveryError, UnsafeUrlError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Named explicitly: ipaddress.is_private also covers many special-purpose ranges (and changes
# between Python versions); those are still refused, by the catch-all in _refusal_reason.
_PRIVATE = tuple(map(ipaddress.ip_network, ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Hosts made only of numbers/dots in any base: candidates for inet_aton's legacy forms
# (2130706433, 0x7f000001, 0177.0.0.1, 127.1). Letters-only names like "cafe.be" fail inet_aton.
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
RESERVED_PORTS_ENV = "LOCAL_RESERVED_PORTS"


def check_callback_url(url: str, *, allow_loopback: bool = False, resolve: Resolver | None = None,
                       reserved_ports: Collection[int] | None = None) -> tuple[str, ...]:
    """Raise ``UnsafeUrlError`` if ``url`` must not be called back; if it may, return the addresses
    its host stands for, all of them checked, in the resolver's order: connect to those.

    ``allow_loopback`` admits 127/8 and ::1 (local runs and tests only), except on the
    ``reserved_ports`` (default: LOCAL_RESERVED_PORTS, the local runtime's own). ``resolve`` maps a
    host name to its addresses; it defaults to ``socket.getaddrinfo`` and is injectable so
    tests need no DNS. A name that cannot be resolved raises ``DeliveryError`` (retryable):
    it is not proven unsafe, but it cannot be checked, so it is not called either.
    """
    parts = _parts_of(url)
    host = parts.hostname or ""
    addresses = _literal_address(host)
    if addresses is None:
        addresses = _resolved_addresses(host, resolve or _getaddrinfo)
    port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
    reserved = local_reserved_ports() if reserved_ports is None else reserved_ports
    for address in addresses:
        reason = _refusal_reason(address, allow_loopback=allow_loopback)
        if reason:
            raise UnsafeUrlError(f"callback host {host!r} is refused: {address} is {reason}")
        if port in reserved and (_embedded_ipv4(address) or address).is_loopback:
            raise UnsafeUrlError(f"callback host {host!r} is refused: port {port} of {address} is the local "
                                 "stack's own (its AWS emulator or its API)")
    return tuple(dict.fromkeys(str(address) for address in addresses))


def _parts_of(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # validates the port; raises ValueError when malformed or out of range
    except ValueError as exc:
        raise UnsafeUrlError(f"callback URL is malformed: {exc}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeUrlError(f"callback URL scheme {parts.scheme!r} is refused: only http and https are allowed")
    # Credentials in a URL leak into logs, and "@" is the classic way to disguise the real host.
    if "@" in parts.netloc:
        raise UnsafeUrlError(f"callback host {parts.hostname!r} is refused: URLs with user info are not allowed")
    if not parts.hostname:
        raise UnsafeUrlError(f"callback URL {url!r} is refused: it has no host")
    return parts  # hostname: lower-cased, IPv6 brackets removed


def _literal_address(host: str) -> list[IPAddress] | None:
    """The address an IP-literal host denotes, or ``None`` if the host is a name."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return [ipaddress.IPv4Address(socket.inet_aton(host))]
        except OSError:
            pass
    return None


def _getaddrinfo(host: str) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, None)]


def _resolved_addresses(host: str, resolve: Resolver) -> list[IPAddress]:
    try:
        resolved = resolve(host)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError; bad IDNA a UnicodeError
        raise DeliveryError(f"callback host {host!r} could not be resolved: {exc}") from None
    if not resolved:
        raise DeliveryError(f"callback host {host!r} resolved to no addresses")
    addresses = []
    for text in resolved:
        try:
            addresses.append(ipaddress.ip_address(text))
        except ValueError:
            raise UnsafeUrlError(f"callback host {host!r} resolved to an unparsable address {text!r}") from None
    return addresses


def _refusal_reason(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why ``address`` must not be contacted, or ``None`` if it is publicly routable."""
    address = _embedded_ipv4(address) or address
    if address.is_loopback:
        return None if allow_loopback else "loopback"
    if address.is_unspecified:
        return "unspecified"
    if address.is_link_local:  # includes the cloud metadata address 169.254.169.254
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.version == 4 and address in _CGNAT:
        return "carrier-grade NAT"
    if any(address in network for network in _PRIVATE):
        return "private"
    if address.is_reserved:
        return "reserved"
    # Catch-all for special-purpose ranges not named above (documentation, benchmarking...).
    if address.is_private or not address.is_global:
        return "not globally routable"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (::ffff:a.b.c.d, 6to4 2002:a.b.c.d::/16)."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour
    return None


def local_reserved_ports() -> frozenset[int]:
    """The ports of the local runtime's own servers (LOCAL_RESERVED_PORTS, set by it alone): never called back."""
    ports = set()
    for text in os.environ.get(RESERVED_PORTS_ENV, "").split(","):
        if text.strip().isdigit():
            ports.add(int(text))
    return frozenset(ports)


def loopback_allowed() -> bool:
    """Whether this deployment may call loopback addresses (AllowLoopbackCallbacks, local stacks only)."""
    return os.environ.get("ALLOW_LOOPBACK_CALLBACKS", "false").lower() == "true"
