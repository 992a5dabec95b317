"""The SSRF guard for callback URLs. No DNS: names go through an injected resolver."""

import pytest

from mediaflow.exceptions import DeliveryError, UnsafeUrlError
from mediaflow.notify.urls import check_callback_url

pytestmark = pytest.mark.unit

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:4700:4700::1111"


def resolver(*addresses: str):
    """A resolver answering every name with ``addresses`` and recording what it was asked."""

    def resolve(host: str) -> list[str]:
        resolve.asked.append(host)
        return list(addresses)

    resolve.asked = []
    return resolve


def no_dns(host: str) -> list[str]:
    raise AssertionError(f"an IP literal must not be resolved (asked for {host!r})")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/cb", "loopback"),
        ("http://127.255.0.9:8080/cb", "loopback"),
        ("http://[::1]/cb", "loopback"),
        ("http://2130706433/", "loopback"),  # decimal 127.0.0.1
        ("http://0x7f000001/", "loopback"),  # hex
        ("http://0x7F.0.0.1/", "loopback"),  # hex octet
        ("http://0177.0.0.1/", "loopback"),  # octal octet
        ("http://127.1/", "loopback"),  # short form
        ("http://[::ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://172.31.255.254/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[::ffff:192.168.1.1]/", "private"),
        ("http://[fc00::1]/", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://2852039166/", "link-local"),  # decimal 169.254.169.254
        ("http://[fe80::1]/", "link-local"),
        ("http://[fe80::1%25eth0]/", "link-local"),  # with a zone id
        ("http://0.0.0.0/", "unspecified"),
        ("http://0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://255.255.255.255/", "reserved"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://100.127.255.254/", "carrier-grade NAT"),
        ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("http://192.0.2.10/", "not globally routable"),  # TEST-NET-1 documentation range
        ("https://198.18.0.1/", "not globally routable"),  # benchmarking
    ],
)
def test_unsafe_ip_literals_are_refused_without_dns(url, reason):
    with pytest.raises(UnsafeUrlError, match=reason) as info:
        check_callback_url(url, resolve=no_dns)
    assert info.value.code == "InvalidArgument"


@pytest.mark.parametrize(
    "url",
    [
        f"http://{PUBLIC_V4}/cb",
        f"https://{PUBLIC_V4}:8443/cb?x=1",
        f"https://[{PUBLIC_V6}]/cb",
        "http://8.8.8.8/",
        "http://134744072/",  # decimal 8.8.8.8: the form is fine, the address decides
    ],
)
def test_public_ip_literals_are_allowed_without_dns(url):
    check_callback_url(url, resolve=no_dns)


def test_public_name_is_resolved_and_allowed():
    resolve = resolver(PUBLIC_V4, PUBLIC_V6)
    check_callback_url("https://hooks.example.com/mediaflow", resolve=resolve)
    assert resolve.asked == ["hooks.example.com"]


def test_letters_only_name_is_resolved_not_read_as_hex():
    resolve = resolver(PUBLIC_V4)
    check_callback_url("https://cafe.be/cb", resolve=resolve)
    assert resolve.asked == ["cafe.be"]


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["127.0.0.1"], "loopback"),
        (["169.254.169.254"], "link-local"),  # e.g. metadata.google.internal
        (["10.0.0.5"], "private"),
        ([PUBLIC_V4, "10.0.0.5"], "private"),  # one bad address among good ones is enough
        ([PUBLIC_V6, "::1"], "loopback"),
        (["::ffff:10.0.0.5"], "private"),
        (["100.100.100.200"], "carrier-grade NAT"),
    ],
)
def test_name_resolving_to_any_unsafe_address_is_refused(addresses, reason):
    with pytest.raises(UnsafeUrlError, match=reason) as info:
        check_callback_url("https://metadata.google.internal/x", resolve=resolver(*addresses))
    assert "metadata.google.internal" in info.value.message


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://2130706433/", "http://[::ffff:127.0.0.1]/"]
)
def test_loopback_is_allowed_only_with_allow_loopback(url):
    with pytest.raises(UnsafeUrlError, match="loopback"):
        check_callback_url(url, resolve=no_dns)
    check_callback_url(url, allow_loopback=True, resolve=no_dns)


def test_localhost_name_is_allowed_only_with_allow_loopback():
    resolve = resolver("127.0.0.1", "::1")
    with pytest.raises(UnsafeUrlError, match="loopback"):
        check_callback_url("http://localhost:9000/cb", resolve=resolve)
    check_callback_url("http://localhost:9000/cb", allow_loopback=True, resolve=resolve)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:4766/moto-api/reset",  # the emulator's admin API: wipes the local stack
    "http://127.0.0.1:4767/jobs",  # the stack's own API
    "http://2130706433:4766/moto-api/reset",
    "http://127.0.0.2:4766/",
    "http://[::1]:4767/",
    "http://[::ffff:127.0.0.1]:4766/",
    "http://127.0.0.1/",  # the default port of the scheme
])
def test_the_local_stacks_own_ports_are_refused_even_where_loopback_is_allowed(url):
    with pytest.raises(UnsafeUrlError, match="local stack's own"):
        check_callback_url(url, allow_loopback=True, resolve=no_dns, reserved_ports={4766, 4767, 80})


def test_a_name_for_loopback_on_a_reserved_port_is_refused():
    with pytest.raises(UnsafeUrlError, match="port 4766 of 127.0.0.1"):
        check_callback_url("http://localhost:4766/moto-api/reset", allow_loopback=True,
                           resolve=resolver("127.0.0.1"), reserved_ports={4766})


def test_the_reserved_ports_come_from_the_local_runtimes_environment(monkeypatch):
    monkeypatch.setenv("LOCAL_RESERVED_PORTS", "4766,4767")
    for port in (4766, 4767):
        with pytest.raises(UnsafeUrlError, match="local stack's own"):
            check_callback_url(f"http://127.0.0.1:{port}/moto-api/reset", allow_loopback=True, resolve=no_dns)
    check_callback_url("http://127.0.0.1:4799/cb", allow_loopback=True, resolve=no_dns)  # a receiver of the developer's
    monkeypatch.delenv("LOCAL_RESERVED_PORTS")
    check_callback_url("http://127.0.0.1:4766/cb", allow_loopback=True, resolve=no_dns)  # not a local runtime


def test_reserved_ports_are_only_refused_on_loopback():
    check_callback_url(f"https://{PUBLIC_V4}:4766/cb", resolve=no_dns, reserved_ports={4766})


@pytest.mark.parametrize("url", ["http://10.0.0.1/", "http://169.254.169.254/", "http://[fe80::1]/"])
def test_allow_loopback_admits_nothing_else(url):
    with pytest.raises(UnsafeUrlError):
        check_callback_url(url, allow_loopback=True, resolve=no_dns)


@pytest.mark.parametrize(
    "url",
    [
        f"ftp://{PUBLIC_V4}/cb",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "hooks.example.com/cb",  # no scheme at all
    ],
)
def test_other_schemes_are_refused(url):
    with pytest.raises(UnsafeUrlError, match="scheme"):
        check_callback_url(url, resolve=resolver(PUBLIC_V4))


@pytest.mark.parametrize(
    "url",
    [
        f"http://user:pw@{PUBLIC_V4}/cb",
        f"http://user@{PUBLIC_V4}/cb",
        f"http://@{PUBLIC_V4}/cb",
        "http://hooks.example.com@127.0.0.1/cb",  # the real host hides after the "@"
    ],
)
def test_userinfo_is_refused(url):
    with pytest.raises(UnsafeUrlError, match="user info"):
        check_callback_url(url, resolve=resolver(PUBLIC_V4))


@pytest.mark.parametrize("url", ["http:///cb", "https://:443/cb", "http://"])
def test_missing_host_is_refused(url):
    with pytest.raises(UnsafeUrlError, match="no host"):
        check_callback_url(url, resolve=resolver(PUBLIC_V4))


@pytest.mark.parametrize("url", [f"http://{PUBLIC_V4}:99999/", f"http://{PUBLIC_V4}:http/", "http://[::1/"])
def test_malformed_url_is_refused(url):
    with pytest.raises(UnsafeUrlError, match="malformed"):
        check_callback_url(url, resolve=resolver(PUBLIC_V4))


def test_error_names_host_and_reason():
    with pytest.raises(UnsafeUrlError) as info:
        check_callback_url("http://hooks.internal:8080/cb", resolve=resolver("192.168.0.7"))
    assert info.value.message == "callback host 'hooks.internal' is refused: 192.168.0.7 is private"


def test_unresolvable_name_is_a_retryable_delivery_error():
    def failing(host: str) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(DeliveryError, match="could not be resolved"):
        check_callback_url("https://nowhere.example/cb", resolve=failing)
    with pytest.raises(DeliveryError, match="no addresses"):
        check_callback_url("https://nowhere.example/cb", resolve=resolver())


def test_the_checked_addresses_are_returned_to_connect_to():
    """The caller connects to these and never looks the name up again (DNS rebinding)."""
    resolve = resolver(PUBLIC_V4, PUBLIC_V6, PUBLIC_V4)
    assert check_callback_url("https://hooks.example.com/cb", resolve=resolve) == (PUBLIC_V4, PUBLIC_V6)
    assert check_callback_url("http://0x7f000001:8080/", allow_loopback=True, resolve=no_dns) == ("127.0.0.1",)
