"""The consortium PKI: one CA, and a TLS certificate per node naming its node id.

The CA key is EC P-256, self-signed, CA:true with pathlen 0 (it signs node
certificates only). A node certificate holds a separate P-256 TLS key, and its node
id (keccak256 of the 64-byte secp256k1 public key, the id the on-chain allowlist
holds) as the SAN URI ``citychain:node:0x<64 hex>``. The certificate alone does
not prove the secp256k1 key: the HELLO signature does (see ``handshake``).
"""

from __future__ import annotations

import datetime
import logging
import os
import re
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chain.p2p.errors import InvalidCertificate

logger = logging.getLogger("citychain.p2p")

NODE_ID_URI_PREFIX = "citychain:node:0x"
_NODE_ID_URI = re.compile(r"citychain:node:0x([0-9a-f]{64})")
DEFAULT_CA_DAYS = 3650
DEFAULT_NODE_DAYS = 365
# Allow for clocks of consortium members being a little apart.
_BACKDATE = datetime.timedelta(minutes=5)


def node_id_uri(node_id: bytes) -> str:
    if len(node_id) != 32:
        raise ValueError(f"a node id is 32 bytes, got {len(node_id)}")
    return NODE_ID_URI_PREFIX + node_id.hex()


def create_ca(
    name: str, *, valid_days: int = DEFAULT_CA_DAYS, now: datetime.datetime | None = None
) -> tuple[bytes, bytes]:
    """A new consortium CA: (private key PEM, certificate PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "citychain consortium"),
    ])
    not_before = _now(now) - _BACKDATE
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def issue_node_certificate(
    ca_key_pem: bytes,
    ca_cert_pem: bytes,
    node_id: bytes,
    name: str,
    *,
    valid_days: int = DEFAULT_NODE_DAYS,
    now: datetime.datetime | None = None,
) -> tuple[bytes, bytes]:
    """A fresh TLS key and its certificate for ``node_id``: (key PEM, certificate PEM)."""
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise InvalidCertificate("the CA key must be an EC private key")
    if ca_key.public_key() != ca_cert.public_key():
        raise InvalidCertificate("the CA key does not belong to the CA certificate")
    uri = node_id_uri(node_id)
    key = ec.generate_private_key(ec.SECP256R1())
    not_before = _now(now) - _BACKDATE
    not_after = min(
        not_before + datetime.timedelta(days=valid_days), ca_cert.not_valid_after_utc
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        # Every node both listens and dials, so it is a TLS server and a TLS client.
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def node_id_from_certificate(cert_der: bytes) -> bytes:
    """The node id in a node certificate's SAN; raises InvalidCertificate if not exactly one."""
    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except ValueError as exc:
        raise InvalidCertificate(f"not a DER X.509 certificate: {exc}") from exc
    return _node_id(cert)


def node_id_from_certificate_pem(cert_pem: bytes) -> bytes:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise InvalidCertificate(f"not a PEM X.509 certificate: {exc}") from exc
    return _node_id(cert)


def is_issued_by(cert_pem: bytes, ca_cert_pem: bytes) -> bool:
    """Whether ``cert_pem`` carries a valid signature of the CA in ``ca_cert_pem``."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _node_id(cert: x509.Certificate) -> bytes:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise InvalidCertificate("certificate has no subjectAltName with a node id") from None
    ids = [
        match.group(1)
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier)
        if (match := _NODE_ID_URI.fullmatch(uri))
    ]
    if len(ids) != 1:
        raise InvalidCertificate(
            f"certificate must carry exactly one {NODE_ID_URI_PREFIX}<64 hex> URI, "
            f"found {len(ids)}"
        )
    return bytes.fromhex(ids[0])


def write_private_key_pem(path: Path, key_pem: bytes, *, overwrite: bool = False) -> None:
    """Write a private key readable by its owner only (0600), created that way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is ignored when the file already exists
        os.write(fd, key_pem)
    finally:
        os.close(fd)


def write_certificate_pem(path: Path, cert_pem: bytes, *, overwrite: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb" if overwrite else "xb") as file:
        file.write(cert_pem)
    path.chmod(0o644)


def read_private_key_pem(path: Path) -> bytes:
    """Read a key PEM; warns when group or others can read it."""
    mode = path.stat().st_mode
    if mode & 0o077:
        logger.warning("private key %s is readable by others (mode %o): chmod 600 it",
                       path, mode & 0o777)
    return path.read_bytes()


def read_certificate_pem(path: Path) -> bytes:
    return path.read_bytes()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now if now is not None else datetime.datetime.now(datetime.UTC)
