"""What a verifier trusts, as of one block: the on-chain trust anchors in one value.

Built from the chain (``trust_api.chain_client``) for online verification and shipped
in the signed trust bundle for offline verification, so both verify against the same
data with the same code. Times are unix seconds; USCIs are 18-character strings;
license types are catalogue codes (``license_registry.license_types``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# DepartmentRegistry role bits
ROLE_ISSUER = 1
ROLE_VERIFIER = 2
ROLE_REGULATOR = 4
ROLE_BANK = 8
ROLE_SERVICE_MODULE = 16

# TrustList algorithms and RFC 5280 revocation reasons
ALG_ED25519 = 1
REASON_UNSPECIFIED = 0
REASON_KEY_COMPROMISE = 1
REASON_SUPERSEDED = 4
REASON_CESSATION = 5


@dataclass(frozen=True)
class DepartmentInfo:
    usci: str
    name: str
    roles: int
    active: bool
    accounts: tuple[bytes, ...] = ()  # 20-byte addresses: admin first, then operators

    def has_roles(self, roles: int) -> bool:
        return self.active and self.roles & roles == roles


@dataclass(frozen=True)
class TrustedKey:
    """A TrustList entry: valid in [valid_from, valid_until) and before revoked_at."""

    department: str
    kid: bytes  # 8 bytes: first 8 bytes of SHA-256 of the raw public key
    algorithm: int
    public_key: bytes
    valid_from: int
    valid_until: int
    revoked_at: int | None = None
    revocation_reason: int | None = None

    def is_valid_at(self, time: int) -> bool:
        return (self.valid_from <= time < self.valid_until
                and (self.revoked_at is None or time < self.revoked_at))


@dataclass(frozen=True)
class Recognition:
    """Department ``verifier`` accepts ``license_type`` issued by ``issuer``."""

    verifier: str
    issuer: str
    license_type: str
    valid_from: int
    valid_until: int
    withdrawn_at: int | None = None

    def is_in_force(self, time: int) -> bool:
        return (self.valid_from <= time < self.valid_until
                and (self.withdrawn_at is None or time < self.withdrawn_at))


@dataclass(frozen=True)
class StatusListAnchor:
    """The latest StatusRegistry publication of a list (list_id = SHA-256 of its URL)."""

    list_id: bytes
    department: str
    digest: bytes  # SHA-256 of the status list credential's JCS form
    version: int
    published_at: int


@dataclass(frozen=True)
class AnchoredCheckpoint:
    """The latest AnchorRegistry anchor of a log (log_id = SHA-256 of its origin)."""

    log_id: bytes
    size: int
    root: bytes
    block_number: int
    anchored_at: int


@dataclass(frozen=True)
class TrustSnapshot:
    block_number: int
    block_hash: bytes
    block_time: int
    departments: Mapping[str, DepartmentInfo] = field(default_factory=dict)
    keys: tuple[TrustedKey, ...] = ()
    accreditations: frozenset[tuple[str, str]] = frozenset()  # (usci, license type)
    recognitions: tuple[Recognition, ...] = ()
    status_lists: Mapping[bytes, StatusListAnchor] = field(default_factory=dict)
    checkpoints: Mapping[bytes, AnchoredCheckpoint] = field(default_factory=dict)

    def keys_with_kid(self, kid: bytes) -> list[TrustedKey]:
        """Every listed key with this kid (kids can collide across departments)."""
        return [k for k in self.keys if k.kid == kid]

    def key(self, department: str, kid: bytes) -> TrustedKey | None:
        return next((k for k in self.keys if k.department == department and k.kid == kid), None)

    def department_of_account(self, address: bytes) -> DepartmentInfo | None:
        return next((d for d in self.departments.values() if address in d.accounts), None)

    def is_accredited(self, department: str, license_type: str) -> bool:
        info = self.departments.get(department)
        return (info is not None and info.has_roles(ROLE_ISSUER)
                and (department, license_type) in self.accreditations)

    def is_recognized(self, verifier: str, issuer: str, license_type: str, time: int) -> bool:
        if verifier == issuer:
            return True  # a department always accepts its own licenses
        return any(r.verifier == verifier and r.issuer == issuer and r.license_type == license_type
                   and r.is_in_force(time) for r in self.recognitions)
