"""DNS rebinding: a callback URL or URL input is checked by resolving its name, and the connection
goes to the address that was checked, not to what a second lookup says. The resolver is faked
(socket.getaddrinfo answers a name differently the second time) and every connection is recorded;
none leaves the machine (a connection to anything but loopback is refused on the spot)."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from mediaflow import aws
from mediaflow.exceptions import DeliveryError, DownloadError
from mediaflow.models import Execution
from mediaflow.notify import post_callback
from mediaflow.pipeline.url_import import import_input
from moto import mock_aws

pytestmark = pytest.mark.integration

PUBLIC = "93.184.215.14"  # what the name says when it is checked
BODY = b'{"JobId":"j-42","State":"Success"}'


@dataclass
class Net:
    """The fake network: answers per name, in turn (the last one repeats), and every connect made."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    connects: list[tuple[str, int]] = field(default_factory=list)


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> Net:
    state = Net()
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in state.answers:
            return real_getaddrinfo(host, port, *args, **kwargs)
        state.asked.append(name)
        queue = state.answers[name]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    def connect(sock, address):
        state.connects.append((address[0], address[1]))
        if address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"the test network does not reach {address[0]}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return state


@dataclass
class Receiver:
    port: int
    requests: list[dict[str, str]] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI, per handshake


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    state = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append({"path": self.path, "host": self.headers["Host"]})
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"video")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append({"path": self.path, "host": self.headers["Host"]})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        tls.sni_callback = lambda sock, name, context: state.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve()


def post(url: str, *, allow_loopback: bool) -> int:
    return post_callback(url, BODY, content_type="application/json", headers={}, allow_loopback=allow_loopback,
                         connect_timeout=1, read_timeout=5)


# ------------------------------------------------------------------ callbacks
def test_a_callback_name_that_turns_to_loopback_after_the_check_is_not_reached(net, receiver) -> None:
    net.answers["rebind.example"] = [PUBLIC, "127.0.0.1"]
    with pytest.raises(DeliveryError, match="connection failed"):
        post(f"http://rebind.example:{receiver.port}/cb", allow_loopback=False)
    assert receiver.requests == []
    assert net.asked == ["rebind.example"]  # looked up once, by the check
    assert net.connects == [(PUBLIC, receiver.port)]  # and connected to what the check approved


@pytest.mark.parametrize("later", ["10.0.0.7", "169.254.169.254"])
def test_a_callback_connects_to_the_checked_address_with_the_name_in_the_host_header(net, receiver, later) -> None:
    net.answers["hooks.example"] = ["127.0.0.1", later]
    assert post(f"http://hooks.example:{receiver.port}/cb", allow_loopback=True) == 200
    assert receiver.requests == [{"path": "/cb", "host": f"hooks.example:{receiver.port}"}]
    assert net.asked == ["hooks.example"] and net.connects == [("127.0.0.1", receiver.port)]


def test_the_next_checked_address_is_tried_when_the_first_does_not_answer(net, receiver, monkeypatch) -> None:
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port or 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 0))] if host == "two.example"
        else real(host, port, *a, **k))
    assert post(f"http://two.example:{receiver.port}/cb", allow_loopback=True) == 200
    assert net.connects == [(PUBLIC, receiver.port), ("127.0.0.1", receiver.port)]


def _certificates(tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for `name` it signed: (CA file, certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mediaflow test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return files


@pytest.fixture
def tls_receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    ca, cert, key = _certificates(tmp_path, "secure.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))  # the client trusts the test CA (and only it)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    yield from _serve(context)


def test_https_to_the_checked_address_still_sends_the_name_and_checks_the_certificate_for_it(net, tls_receiver) -> None:
    net.answers["secure.example"] = ["127.0.0.1", "10.0.0.7"]
    assert post(f"https://secure.example:{tls_receiver.port}/cb", allow_loopback=True) == 200
    assert tls_receiver.server_names == ["secure.example"]
    assert tls_receiver.requests == [{"path": "/cb", "host": f"secure.example:{tls_receiver.port}"}]
    assert net.connects == [("127.0.0.1", tls_receiver.port)]


def test_https_to_a_name_the_certificate_is_not_for_fails(net, tls_receiver) -> None:
    net.answers["other.example"] = ["127.0.0.1"]
    with pytest.raises(DeliveryError):
        post(f"https://other.example:{tls_receiver.port}/cb", allow_loopback=True)
    assert tls_receiver.requests == []


# ------------------------------------------------------------------ URL inputs
@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        aws.reset()
        boto3.client("s3").create_bucket(Bucket="imports")
        yield "imports"
    aws.reset()


def url_task(url: str, bucket: str) -> Execution:
    return Execution(id="t-rebind", queue_id="p0", bucket=bucket, job_ids=["j1"], object="in/url-input.mp4",
                     created=datetime.datetime.now(datetime.UTC), task={"import_url": url})


def test_a_url_input_whose_name_turns_to_loopback_after_the_check_is_not_fetched(net, receiver, bucket) -> None:
    net.answers["media.example"] = [PUBLIC, "127.0.0.1"]
    with pytest.raises(DownloadError, match="could not be fetched"):
        import_input(url_task(f"http://media.example:{receiver.port}/clip.mp4", bucket))
    assert receiver.requests == [] and net.asked == ["media.example"]
    assert net.connects == [(PUBLIC, receiver.port)]


def test_a_url_input_is_fetched_from_the_checked_address(net, receiver, bucket, monkeypatch) -> None:
    monkeypatch.setenv("ALLOW_LOOPBACK_CALLBACKS", "true")
    net.answers["media.example"] = ["127.0.0.1", "10.0.0.7"]
    import_input(url_task(f"http://media.example:{receiver.port}/clip.mp4", bucket))
    assert receiver.requests == [{"path": "/clip.mp4", "host": f"media.example:{receiver.port}"}]
    assert boto3.client("s3").get_object(Bucket=bucket, Key="in/url-input.mp4")["Body"].read() == b"video"
