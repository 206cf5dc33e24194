"""eddsa-jcs-2022 Data Integrity proofs against the W3C vc-di-eddsa vectors, read in place."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from license_registry.data_integrity import (
    CRYPTOSUITE,
    create_proof,
    hash_data,
    proof_of,
    verify_proof,
)
from license_registry.errors import FormatError, InvalidInput
from license_registry.jcs import canonicalize
from license_registry.keys import (
    decode_public_multikey,
    decode_secret_multikey,
    encode_public_multikey,
    public_key_of,
)
from license_registry.multibase import encode_base58btc

# Repository root is tests/license_registry/../..; the shared vectors sit beside it.
VECTOR_DIR = (Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors"
              / "eddsa-jcs-2022").resolve()


def read_vector(name: str) -> str:
    path = VECTOR_DIR / name
    if not path.is_file():
        pytest.skip(f"W3C eddsa-jcs-2022 vector {name} not found in {VECTOR_DIR}; the shared "
                    "vectors directory must sit next to the repository")
    return path.read_text(encoding="utf-8").strip()


def vector_keys() -> tuple[bytes, bytes]:
    pair = json.loads(read_vector("keyPair.json"))
    return (decode_secret_multikey(pair["privateKeyMultibase"]),
            decode_public_multikey(pair["publicKeyMultibase"]))


def signed_vector() -> dict[str, Any]:
    return json.loads(read_vector("signedJCS.json"))  # type: ignore[no-any-return]


def unsigned_vector() -> dict[str, Any]:
    return {k: v for k, v in signed_vector().items() if k != "proof"}


def vector_proof_config() -> dict[str, Any]:
    return json.loads(read_vector("proofConfigJCS.json"))  # type: ignore[no-any-return]


# A second, unrelated key for proof sets and wrong-key checks.
OTHER_SEED = bytes(range(32))
OTHER_PUBLIC = public_key_of(OTHER_SEED)


# --- the W3C vectors, step by step -------------------------------------------------------

def test_key_pair_vector_is_a_multikey_ed25519_pair() -> None:
    seed, public = vector_keys()
    assert len(seed) == len(public) == 32
    assert public_key_of(seed) == public
    pair = json.loads(read_vector("keyPair.json"))
    assert encode_public_multikey(public) == pair["publicKeyMultibase"]


def test_canonical_document_vector() -> None:
    assert canonicalize(unsigned_vector()) == read_vector("canonDocJCS.txt").encode()
    assert (hashlib.sha256(canonicalize(unsigned_vector())).hexdigest()
            == read_vector("docHashJCS.txt"))


def test_canonical_proof_config_vector() -> None:
    assert canonicalize(vector_proof_config()) == read_vector("proofCanonJCS.txt").encode()
    assert (hashlib.sha256(canonicalize(vector_proof_config())).hexdigest()
            == read_vector("proofHashJCS.txt"))


def test_hash_data_vector_puts_the_proof_config_first() -> None:
    combined = hash_data(unsigned_vector(), vector_proof_config())
    assert combined.hex() == read_vector("combinedHashJCS.txt")
    assert combined[:32].hex() == read_vector("proofHashJCS.txt")


def test_signature_vector() -> None:
    seed, _ = vector_keys()
    combined = hash_data(unsigned_vector(), vector_proof_config())
    signature = nacl.signing.SigningKey(seed).sign(combined).signature
    assert signature.hex() == read_vector("sigHexJCS.txt")
    assert encode_base58btc(signature) == read_vector("sigBTC58JCS.txt")


def test_create_proof_reproduces_the_signed_vector() -> None:
    seed, _ = vector_keys()
    proof = signed_vector()["proof"]
    signed = create_proof(unsigned_vector(), seed, proof["verificationMethod"],
                          proof["created"])
    assert signed == signed_vector()
    assert list(signed["proof"]) == list(proof)  # same member order as the W3C example


def test_verify_proof_accepts_the_signed_vector() -> None:
    _, public = vector_keys()
    assert verify_proof(signed_vector(), public) is True
    assert proof_of(signed_vector())["cryptosuite"] == CRYPTOSUITE


# --- tampering: well-formed but wrong -> False ------------------------------------------

def _tamper(path: tuple[Any, ...], value: object) -> dict[str, Any]:
    document = signed_vector()
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(("path", "value"), [
    (("credentialSubject", "alumniOf"), "The School of Forgeries"),
    (("validFrom", ), "2023-01-02T00:00:00Z"),
    (("issuer", ), "https://vc.example/issuers/9999"),
    (("type", 1), "OtherCredential"),
    (("extra", ), "added after signing"),
    (("proof", "created"), "2023-02-24T23:36:39Z"),
    (("proof", "proofPurpose"), "authentication"),
    (("proof", "verificationMethod"), "did:example:other#key-1"),
    (("proof", "@context"), ["https://www.w3.org/ns/credentials/v2"]),
    (("@context", ), ["https://www.w3.org/ns/credentials/v2"]),
    (("proof", "proofValue"), encode_base58btc(bytes(64))),
])
def test_tampered_documents_fail(path: tuple[Any, ...], value: object) -> None:
    _, public = vector_keys()
    assert verify_proof(_tamper(path, value), public) is False


def test_wrong_key_fails() -> None:
    assert verify_proof(signed_vector(), OTHER_PUBLIC) is False


def test_extended_document_context_is_refused() -> None:
    # The spec would accept a document @context that extends the proof's; we do not.
    _, public = vector_keys()
    document = signed_vector()
    document["@context"] = [*document["@context"], "https://example.org/extra/v1"]
    assert verify_proof(document, public) is False


def test_proof_without_context_takes_the_documents() -> None:
    seed, public = vector_keys()
    signed = create_proof(unsigned_vector(), seed, "did:example:1#k", "2025-01-31T08:00:00Z")
    del signed["proof"]["@context"]
    assert verify_proof(signed, public) is True
    no_context = {k: v for k, v in unsigned_vector().items() if k != "@context"}
    signed = create_proof(no_context, seed, "did:example:1#k", "2025-01-31T08:00:00Z")
    assert "@context" not in signed["proof"]
    assert verify_proof(signed, public) is True


# --- malformed proofs -> FormatError -----------------------------------------------------

def _with_proof(proof: object) -> dict[str, Any]:
    return {**unsigned_vector(), "proof": proof}


def _proof_without(name: str) -> dict[str, Any]:
    return {k: v for k, v in signed_vector()["proof"].items() if k != name}


def _proof_with(name: str, value: object) -> dict[str, Any]:
    return {**signed_vector()["proof"], name: value}


@pytest.mark.parametrize(("document", "code"), [
    (unsigned_vector, "missing_proof"),
    (lambda: _with_proof("z2Hn..."), "bad_proof"),
    (lambda: _with_proof([signed_vector()["proof"], 7]), "bad_proof"),
    (lambda: _with_proof([]), "unsupported_proof"),
    (lambda: _with_proof(_proof_with("type", "Ed25519Signature2020")), "unsupported_proof"),
    (lambda: _with_proof(_proof_with("cryptosuite", "eddsa-rdfc-2022")), "unsupported_proof"),
    (lambda: _with_proof(_proof_without("type")), "unsupported_proof"),
    (lambda: _with_proof(_proof_without("cryptosuite")), "unsupported_proof"),
    (lambda: _with_proof(_proof_without("proofValue")), "bad_proof"),
    (lambda: _with_proof(_proof_without("verificationMethod")), "bad_proof"),
    (lambda: _with_proof(_proof_without("proofPurpose")), "bad_proof"),
    (lambda: _with_proof(_proof_with("proofPurpose", 1)), "bad_proof"),
    (lambda: _with_proof(_proof_with("verificationMethod", "")), "bad_proof"),
    (lambda: _with_proof(_proof_with("created", "24 Feb 2023")), "bad_proof"),
    (lambda: _with_proof(_proof_with("created", 1677281798)), "bad_proof"),
    (lambda: _with_proof(_proof_with("proofValue", "u" + "A" * 86)), "bad_multibase"),
    (lambda: _with_proof(_proof_with("proofValue", "z0OIl")), "bad_multibase"),
    (lambda: _with_proof(_proof_with("proofValue", encode_base58btc(bytes(63)))), "bad_proof"),
    (lambda: _with_proof(_proof_with("proofValue", encode_base58btc(bytes(65)))), "bad_proof"),
    (lambda: [signed_vector()], "bad_proof"),
    (lambda: {**signed_vector(), "score": 0.5}, "non_canonical_json"),
])
def test_malformed_documents_raise(document: Any, code: str) -> None:
    _, public = vector_keys()
    with pytest.raises(FormatError) as info:
        verify_proof(document(), public)
    assert info.value.code == code


def test_malformed_proof_errors_name_the_field() -> None:
    with pytest.raises(FormatError) as info:
        proof_of(_with_proof(_proof_without("proofPurpose")))
    assert info.value.field == "proof.proofPurpose"


# --- proof sets --------------------------------------------------------------------------

def test_a_second_proof_sits_beside_the_first() -> None:
    seed, public = vector_keys()
    first = signed_vector()
    both = create_proof(first, OTHER_SEED, "did:example:other#k2", "2025-01-31T08:00:00Z")
    assert isinstance(both["proof"], list) and both["proof"][0] == first["proof"]
    with pytest.raises(FormatError) as info:
        verify_proof(both, public)
    assert info.value.code == "ambiguous_proof"
    assert verify_proof(both, public, first["proof"]["verificationMethod"]) is True
    assert verify_proof(both, OTHER_PUBLIC, "did:example:other#k2") is True
    assert verify_proof(both, OTHER_PUBLIC, first["proof"]["verificationMethod"]) is False
    third = create_proof(both, seed, "did:example:third#k3", "2025-01-31T08:00:00Z")
    assert len(third["proof"]) == 3
    assert verify_proof(third, public, "did:example:third#k3") is True


def test_a_foreign_cryptosuite_beside_ours_is_ignored() -> None:
    _, public = vector_keys()
    document = signed_vector()
    sm2 = {"type": "DataIntegrityProof", "cryptosuite": "sm2-jcs-2024",
           "verificationMethod": "did:example:sm2#k", "proofPurpose": "assertionMethod",
           "proofValue": "zSM2signature"}
    document["proof"] = [sm2, document["proof"]]
    assert verify_proof(document, public) is True


# --- inputs from our own code ------------------------------------------------------------

def test_create_proof_does_not_touch_its_input() -> None:
    seed, _ = vector_keys()
    document = unsigned_vector()
    before = copy.deepcopy(document)
    signed = create_proof(document, seed, "did:example:1#k", "2025-01-31T08:00:00Z")
    assert document == before and "proof" in signed
    signed["proof"]["@context"].append("mutated")
    assert document == before


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"signing_key": bytes(31)}, "signing_key"),
    ({"signing_key": "seed"}, "signing_key"),
    ({"created": "2025-01-31"}, "created"),
    ({"created": "2025-01-31 08:00:00"}, "created"),
    ({"verification_method": ""}, "verification_method"),
    ({"proof_purpose": None}, "proof_purpose"),
    ({"document": ["not", "an", "object"]}, "document"),
])
def test_create_proof_refuses_bad_arguments(kwargs: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {
        "document": unsigned_vector(), "signing_key": OTHER_SEED,
        "verification_method": "did:example:1#k", "created": "2025-01-31T08:00:00Z",
    } | kwargs
    with pytest.raises(InvalidInput) as info:
        create_proof(**arguments)
    assert info.value.field == field


def test_verify_proof_refuses_a_bad_public_key() -> None:
    with pytest.raises(InvalidInput):
        verify_proof(signed_vector(), bytes(31))


def test_hash_data_refuses_a_secured_document_or_a_proof_value() -> None:
    with pytest.raises(InvalidInput):
        hash_data(signed_vector(), vector_proof_config())
    with pytest.raises(InvalidInput):
        hash_data(unsigned_vector(), signed_vector()["proof"])


subjects = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.none() | st.booleans() | st.text(max_size=12) | st.integers(-(2**53) + 1, 2**53 - 1),
    max_size=5,
)


@settings(max_examples=40)
@given(subjects)
def test_round_trip_and_tamper_detection(subject: dict[str, Any]) -> None:
    document = {"@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"], "credentialSubject": subject}
    signed = create_proof(document, OTHER_SEED, "did:example:1#k", "2025-01-31T08:00:00Z")
    assert verify_proof(json.loads(json.dumps(signed)), OTHER_PUBLIC) is True
    signed["credentialSubject"] = {**subject, "\x00tampered": True}
    assert verify_proof(signed, OTHER_PUBLIC) is False
