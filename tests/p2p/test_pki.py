"""The consortium CA and node certificates."""

from __future__ import annotations

import datetime
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from chain.p2p.errors import InvalidCertificate
from chain.p2p.pki import (
    create_ca,
    is_issued_by,
    issue_node_certificate,
    node_id_from_certificate,
    node_id_from_certificate_pem,
    read_private_key_pem,
    write_certificate_pem,
    write_private_key_pem,
)

NODE_ID = bytes(range(32))
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def der(cert_pem: bytes) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(cert_pem).public_bytes(Encoding.DER)


def test_ca_is_a_p256_ca_with_path_length_zero() -> None:
    _, cert_pem = create_ca("Test City CA", valid_days=10, now=NOW)
    cert = x509.load_pem_x509_certificate(cert_pem)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    assert cert.issuer == cert.subject
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(days=10)
    assert is_issued_by(cert_pem, cert_pem)


def test_node_certificate_carries_the_node_id() -> None:
    ca_key, ca_cert = create_ca("Test City CA", now=NOW)
    key_pem, cert_pem = issue_node_certificate(
        ca_key, ca_cert, NODE_ID, "validator-1", valid_days=30, now=NOW
    )
    cert = x509.load_pem_x509_certificate(cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "citychain:node:0x" + NODE_ID.hex()
    ]
    assert node_id_from_certificate(der(cert_pem)) == NODE_ID
    assert node_id_from_certificate_pem(cert_pem) == NODE_ID
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(days=30)
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    assert b"PRIVATE KEY" in key_pem
    assert is_issued_by(cert_pem, ca_cert)
    assert not is_issued_by(cert_pem, create_ca("Other CA")[1])


def test_node_certificate_does_not_outlive_its_ca() -> None:
    ca_key, ca_cert = create_ca("Short CA", valid_days=5, now=NOW)
    _, cert_pem = issue_node_certificate(ca_key, ca_cert, NODE_ID, "n", valid_days=365, now=NOW)
    ca = x509.load_pem_x509_certificate(ca_cert)
    assert x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc == ca.not_valid_after_utc


def test_issuing_refuses_a_key_of_another_ca_and_a_bad_node_id() -> None:
    ca_key, ca_cert = create_ca("CA one")
    other_key, _ = create_ca("CA two")
    with pytest.raises(InvalidCertificate, match="does not belong"):
        issue_node_certificate(other_key, ca_cert, NODE_ID, "n")
    with pytest.raises(ValueError, match="32 bytes"):
        issue_node_certificate(ca_key, ca_cert, NODE_ID[:20], "n")


def test_a_certificate_without_a_node_id_is_refused() -> None:
    _, ca_cert = create_ca("CA")
    with pytest.raises(InvalidCertificate, match="no subjectAltName"):
        node_id_from_certificate(der(ca_cert))  # a CA has no SAN
    with pytest.raises(InvalidCertificate, match="DER"):
        node_id_from_certificate(b"not a certificate")


def test_pem_files_keys_are_owner_only(tmp_path: Path) -> None:
    ca_key, ca_cert = create_ca("CA")
    key_path, cert_path = tmp_path / "keys" / "ca.key", tmp_path / "ca.pem"
    write_private_key_pem(key_path, ca_key)
    write_certificate_pem(cert_path, ca_cert)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert read_private_key_pem(key_path) == ca_key
    assert cert_path.read_bytes() == ca_cert
    with pytest.raises(FileExistsError):
        write_private_key_pem(key_path, ca_key)
    with pytest.raises(FileExistsError):
        write_certificate_pem(cert_path, ca_cert)
    key_path.chmod(0o644)
    write_private_key_pem(key_path, ca_key, overwrite=True)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_reading_a_key_others_can_read_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "node.key"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\n")
    path.chmod(0o644)
    read_private_key_pem(path)
    assert "chmod 600" in caplog.text
