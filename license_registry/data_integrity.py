"""W3C Data Integrity proofs, cryptosuite ``eddsa-jcs-2022`` (W3C vc-di-eddsa, JCS variant).

Signing a document (a credential without ``proof``):

1. proofConfig = the proof's options without ``proofValue`` — ``type``, ``cryptosuite``,
   ``created``, ``verificationMethod``, ``proofPurpose`` — plus the document's ``@context``;
2. hashData = SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(document)), proof config FIRST;
3. ``proofValue`` = ``z`` + base58btc of the Ed25519 signature over hashData.

Several proofs may sit side by side in a ``proof`` array (a later SM2 proof can be added
without breaking Ed25519 verifiers); each signs the document without any ``proof``.

Errors: a proof that cannot be read raises :class:`FormatError`; a well-formed proof whose
signature does not match makes :func:`verify_proof` return False.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import nacl.exceptions
import nacl.signing

from license_registry.errors import FormatError, InvalidInput
from license_registry.jcs import canonicalize
from license_registry.keys import signer_of, validate_public_key, validate_seed
from license_registry.multibase import decode_base58btc, encode_base58btc

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
SIGNATURE_BYTES = 64

_REQUIRED_FIELDS = ("type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue")
# XML Schema dateTimeStamp, as VC Data Model 2.0 requires for ``created``.
_DATETIME_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def create_proof(
    document: Mapping[str, Any],
    signing_key: bytes,
    verification_method: str,
    created: str,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """A new document: ``document`` with an eddsa-jcs-2022 proof added.

    ``signing_key`` is the 32-byte Ed25519 seed; ``created`` an XML dateTimeStamp such as
    ``2025-01-31T08:00:00Z`` (passed in: this module has no clock). An existing ``proof``
    is kept and the new proof appended to the proof set. The copy is shallow.
    """
    validate_seed(signing_key)
    if not isinstance(document, Mapping):
        raise InvalidInput("the document to sign must be a JSON object", field="document")
    for name, value in (("verification_method", verification_method),
                        ("proof_purpose", proof_purpose)):
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"{name} must be a non-empty string", field=name)
    if not isinstance(created, str) or not _DATETIME_STAMP.fullmatch(created):
        raise InvalidInput(
            f"created must be an XML dateTimeStamp like 2025-01-31T08:00:00Z; got {created!r}",
            field="created",
        )
    unsecured = _without_proof(document)
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if "@context" in unsecured:
        context = unsecured["@context"]
        proof["@context"] = list(context) if isinstance(context, list) else context
    signed = signer_of(signing_key).sign(hash_data(unsecured, proof))
    proof["proofValue"] = encode_base58btc(signed.signature)

    existing = document.get("proof")
    secured = dict(unsecured)
    if existing is None:
        secured["proof"] = proof
    elif isinstance(existing, list):
        secured["proof"] = [*existing, proof]
    else:
        secured["proof"] = [existing, proof]
    return secured


def verify_proof(
    document: Mapping[str, Any], public_key: bytes, verification_method: str | None = None
) -> bool:
    """True when the document's eddsa-jcs-2022 proof is a valid signature by ``public_key``.

    ``verification_method`` picks one proof out of a proof set; without it the document
    must carry exactly one eddsa-jcs-2022 proof. Malformed proofs raise FormatError.
    """
    validate_public_key(public_key)
    proof = _select_proof(document, verification_method)
    signature = _read_signature(proof)
    proof_config = {key: value for key, value in proof.items() if key != "proofValue"}
    unsecured = _without_proof(document)
    if "@context" in proof_config:
        # The spec lets the document's @context extend the proof's after signing; we ask
        # for equality, which every conforming issuer produces and leaves nothing unsigned.
        if proof_config["@context"] != unsecured.get("@context"):
            return False
    elif "@context" in unsecured:
        proof_config["@context"] = unsecured["@context"]
    try:
        nacl.signing.VerifyKey(public_key).verify(hash_data(unsecured, proof_config), signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def proof_of(document: Mapping[str, Any], verification_method: str | None = None) -> dict[str, Any]:
    """The document's one well-formed eddsa-jcs-2022 proof (FormatError if none or several)."""
    proof = _select_proof(document, verification_method)
    validate_proof_fields(proof)
    return proof


def validate_proof_fields(proof: Mapping[str, Any]) -> None:
    """Raise FormatError unless ``proof`` has every field eddsa-jcs-2022 needs, well typed."""
    _read_signature(proof)


def _select_proof(document: Mapping[str, Any], verification_method: str | None) -> dict[str, Any]:
    if not isinstance(document, Mapping):
        raise FormatError("a secured document must be a JSON object", code="bad_proof")
    if "proof" not in document:
        raise FormatError("the document has no proof; sign it first", field="proof",
                          code="missing_proof")
    proofs = document["proof"]
    candidates = proofs if isinstance(proofs, list) else [proofs]
    for proof in candidates:
        if not isinstance(proof, Mapping):
            raise FormatError("every proof must be a JSON object", field="proof",
                              code="bad_proof")
    ours = [p for p in candidates
            if p.get("type") == PROOF_TYPE and p.get("cryptosuite") == CRYPTOSUITE
            and (verification_method is None or p.get("verificationMethod") == verification_method)]
    if not ours:
        found = ", ".join(f"{p.get('type')!r}/{p.get('cryptosuite')!r}" for p in candidates)
        raise FormatError(
            f"no {PROOF_TYPE} proof with cryptosuite {CRYPTOSUITE}"
            + ("" if verification_method is None else f" for {verification_method}")
            + f" (found: {found or 'none'})",
            field="proof",
            code="unsupported_proof",
        )
    if len(ours) > 1:
        raise FormatError(
            f"{len(ours)} {CRYPTOSUITE} proofs; name the verification method to check",
            field="proof",
            code="ambiguous_proof",
        )
    return dict(ours[0])


def _read_signature(proof: Mapping[str, Any]) -> bytes:
    """The 64-byte signature of a proof whose fields are all checked; FormatError if not."""
    for name in _REQUIRED_FIELDS:
        value = proof.get(name)
        if not isinstance(value, str) or not value:
            raise FormatError(f"proof.{name} is missing or not a non-empty string",
                              field=f"proof.{name}", code="bad_proof")
    if proof["type"] != PROOF_TYPE or proof["cryptosuite"] != CRYPTOSUITE:
        raise FormatError(
            f"proof must be type {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}; got "
            f"{proof['type']!r}/{proof['cryptosuite']!r}",
            field="proof.cryptosuite",
            code="unsupported_proof",
        )
    created = proof.get("created")
    if created is not None and (not isinstance(created, str)
                                or not _DATETIME_STAMP.fullmatch(created)):
        raise FormatError(f"proof.created {created!r} is not an XML dateTimeStamp",
                          field="proof.created", code="bad_proof")
    signature = decode_base58btc(proof["proofValue"])
    if len(signature) != SIGNATURE_BYTES:
        raise FormatError(
            f"proof.proofValue holds {len(signature)} bytes; an Ed25519 signature has 64",
            field="proof.proofValue",
            code="bad_proof",
        )
    return signature


def hash_data(document: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
    """SHA-256(JCS(proof_config)) ‖ SHA-256(JCS(document)): the 64 bytes that are signed.

    ``document`` is the unsecured document (no ``proof``) and ``proof_config`` the proof
    options without ``proofValue``, already carrying the document's ``@context``.
    """
    if "proof" in document:
        raise InvalidInput("hash_data takes the document without its proof", field="document")
    if "proofValue" in proof_config:
        raise InvalidInput("hash_data takes the proof options without proofValue",
                           field="proof_config")
    return (hashlib.sha256(canonicalize(proof_config)).digest()
            + hashlib.sha256(canonicalize(document)).digest())


def _without_proof(document: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "proof"}
