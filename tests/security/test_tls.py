"""Finding 4: HTTPS speaks TLS 1.2 with AEAD suites only, or TLS 1.3.

Before: the server took OpenSSL's defaults, which still negotiate TLS 1.2 CBC suites
(ECDHE-ECDSA-AES128-SHA256 with this test's ECDSA certificate).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.support import Live, address, served
from tests.support.service import self_signed_certificate

pytestmark = pytest.mark.security

CBC_SUITES = ":".join(
    ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA256", "AES128-SHA256")
)
GCM_SUITES = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"


@pytest.fixture(scope="module")
def tls(
    model_package: Path, scores_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Live, Path]]:
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = self_signed_certificate(tmp)
    trust = ssl.create_default_context(cafile=str(cert))
    args = ("--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    with served(tmp, model_package, scores_csv, extra_args=args, scheme="https", verify=trust) as live:
        yield live, cert


def _client(cert: Path, version: ssl.TLSVersion, ciphers: str | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(cert))
    context.minimum_version = context.maximum_version = version
    if ciphers:
        context.set_ciphers(ciphers)
    return context


def _handshake(live: Live, context: ssl.SSLContext) -> tuple[str, str]:
    """(protocol version, cipher) the server agreed to; ssl.SSLError when it refuses."""
    with (
        socket.create_connection(address(live.url), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
    ):
        cipher = sock.cipher()
        assert cipher is not None
        return str(sock.version()), cipher[0]


def test_tls_1_2_cbc_suites_are_refused(tls: tuple[Live, Path]) -> None:
    live, cert = tls
    with pytest.raises(ssl.SSLError):
        _handshake(live, _client(cert, ssl.TLSVersion.TLSv1_2, CBC_SUITES))


def test_tls_1_2_aead_and_tls_1_3_are_accepted(tls: tuple[Live, Path]) -> None:
    live, cert = tls
    version, cipher = _handshake(live, _client(cert, ssl.TLSVersion.TLSv1_2, GCM_SUITES))
    assert version == "TLSv1.2" and "GCM" in cipher
    version, cipher = _handshake(live, _client(cert, ssl.TLSVersion.TLSv1_3))
    assert version == "TLSv1.3"
