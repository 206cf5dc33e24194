"""The signed trust bundle: what an offline verifier needs, as one JSON document.

A verifier app fetches it while online and then verifies city codes with no network:
the departments, trust list, accreditations and recognitions of one block, every
department's signed status lists, and the anchored log checkpoints. The platform signs
the whole document (DataIntegrityProof, eddsa-jcs-2022), so a bundle copied from device
to device or served from a cache is as good as one fetched from the API. Each status list
also keeps its department's own signature and is compared with the digest the chain
published, so neither the platform nor a cache can change a department's revocations.

A bundle is untrusted input: ``open_trust_bundle`` verifies the platform signature first
and then parses strictly; every refusal is a FormatError ``bad_bundle`` naming the field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from license_registry.data_integrity import create_proof, proof_of, verify_proof
from license_registry.errors import FormatError, InvalidInput, LicenseError
from license_registry.identifiers import validate_usci
from license_registry.jcs import MAX_SAFE_INTEGER, canonicalize
from license_registry.keys import calculate_kid, public_key_of, validate_public_key
from license_registry.presented import (
    STATUS_LIST_URL,
    VERIFICATION_METHOD,
    datetime_text,
    parse_datetime_text,
)
from license_registry.status_list import StatusBitstring
from license_registry.trust import (
    AnchoredCheckpoint,
    DepartmentInfo,
    Recognition,
    StatusListAnchor,
    TrustedKey,
    TrustSnapshot,
)
from license_registry.verification import CLOCK_SKEW, Verdict, verify_presentation

BUNDLE_CONTEXT = ["https://www.w3.org/ns/credentials/v2"]
BUNDLE_TYPE = "CityTrustBundle"
PLATFORM_DID = "did:citychain:platform"
PURPOSES = ("revocation", "suspension")

_BUNDLE_KEYS = {"@context", "type", "id", "issuer", "generatedAt", "chain", "departments",
                "keys", "accreditations", "recognitions", "statusLists", "checkpoints", "proof"}
_HEX = frozenset("0123456789abcdef")
ListKey = tuple[str, int, str]  # (department, list number, purpose)


def platform_verification_method(platform_public_key: bytes) -> str:
    return f"{PLATFORM_DID}#{calculate_kid(platform_public_key).hex()}"


# --- building (platform side: trusted inputs, InvalidInput on a wiring mistake) ---------


def build_trust_bundle(snapshot: TrustSnapshot, status_lists: Sequence[Mapping[str, Any]],
                       log_origins: Mapping[bytes, str], generated_at: int,
                       platform_seed: bytes, bundle_id: str) -> dict[str, Any]:
    """The bundle of ``snapshot`` and the latest ``status_lists``, signed by the platform.

    Every list is sorted, so the same inputs give the same bytes (caches and mirrors can
    compare bundles by hash). Times beyond 2^53 - 1 (uint64 "forever" on chain) are cut to
    it: JSON verifiers read numbers as doubles, and no clock reaches either value.
    """
    if not isinstance(bundle_id, str) or not bundle_id:
        raise InvalidInput("bundle_id must be a non-empty string", field="bundle_id")
    for log_id, origin in log_origins.items():
        if hashlib.sha256(origin.encode()).digest() != log_id:
            raise InvalidInput(f"log origin {origin!r} does not hash to log id {log_id.hex()}",
                               field="log_origins")
    lists = sorted((_list_json(item, snapshot) for item in status_lists),
                   key=lambda e: (e["department"], e["number"], e["purpose"], e["url"]))
    urls = [entry["url"] for entry in lists]
    if len(set(urls)) != len(urls):
        raise InvalidInput("status_lists holds one list twice; pass the latest version only",
                           field="status_lists")
    document = {
        "@context": list(BUNDLE_CONTEXT), "type": [BUNDLE_TYPE], "id": bundle_id,
        "issuer": PLATFORM_DID, "generatedAt": datetime_text(generated_at),
        "chain": {"blockNumber": snapshot.block_number, "blockHash": snapshot.block_hash.hex(),
                  "blockTime": snapshot.block_time},
        "departments": [
            {"usci": d.usci, "name": d.name, "roles": d.roles, "active": d.active,
             "accounts": ["0x" + a.hex() for a in d.accounts]}
            for _, d in sorted(snapshot.departments.items())],
        "keys": _sorted([
            {"department": k.department, "kid": k.kid.hex(), "algorithm": k.algorithm,
             "publicKey": k.public_key.hex(), "validFrom": _safe(k.valid_from),
             "validUntil": _safe(k.valid_until), "revokedAt": _safe(k.revoked_at),
             "revocationReason": k.revocation_reason} for k in snapshot.keys],
            ("department", "kid")),
        "accreditations": [{"department": d, "licenseType": t}
                           for d, t in sorted(snapshot.accreditations)],
        "recognitions": _sorted([
            {"verifier": r.verifier, "issuer": r.issuer, "licenseType": r.license_type,
             "validFrom": _safe(r.valid_from), "validUntil": _safe(r.valid_until),
             "withdrawnAt": _safe(r.withdrawn_at)} for r in snapshot.recognitions],
            ("verifier", "issuer", "licenseType")),
        "statusLists": lists,
        "checkpoints": [
            {"logId": log_id.hex(), "origin": log_origins.get(log_id), "size": cp.size,
             "root": cp.root.hex(), "blockNumber": cp.block_number, "anchoredAt": cp.anchored_at}
            for log_id, cp in sorted(snapshot.checkpoints.items())],
    }
    method = platform_verification_method(public_key_of(platform_seed))
    return create_proof(document, platform_seed, method, datetime_text(generated_at))


def _list_json(item: Mapping[str, Any], snapshot: TrustSnapshot) -> dict[str, Any]:
    try:
        department, number, purpose = item["department"], item["number"], item["purpose"]
        url, version, credential = item["url"], item["version"], item["credential"]
    except KeyError as exc:
        raise InvalidInput(f"a status list lacks {exc.args[0]!r}", field="status_lists") from None
    if isinstance(credential, str | bytes):
        credential = json.loads(credential)  # the JCS text the department store keeps
    if not isinstance(credential, dict) or credential.get("id") != url:
        raise InvalidInput(f"status list {url!r}: credential must be the list credential "
                           "whose id is its URL", field="status_lists")
    list_id = hashlib.sha256(url.encode()).digest()
    anchor = snapshot.status_lists.get(list_id)
    return {"department": department, "number": number, "purpose": purpose, "url": url,
            "listId": list_id.hex(), "version": version,
            "onChain": None if anchor is None else {
                "digest": anchor.digest.hex(), "version": anchor.version,
                "publishedAt": anchor.published_at},
            "credential": credential}


def _safe(time: int | None) -> int | None:
    return None if time is None else min(time, MAX_SAFE_INTEGER)


def _sorted(items: list[dict[str, Any]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    # Canonical bytes break ties, so the order is total whatever the inputs' order was.
    return sorted(items, key=lambda e: (tuple(e[n] for n in names), canonicalize(e)))


# --- opening (verifier side: untrusted input) -------------------------------------------


class BundleStatusSource:
    """``verification.StatusSource`` over the bundle's usable lists.

    A list is decoded on first use and cached: a verifier scans many codes against a few
    lists, and most of a bundle's lists are never needed on one device.
    """

    def __init__(self, encoded_lists: Mapping[ListKey, str | None]) -> None:
        self._encoded = dict(encoded_lists)  # None: the list failed its checks
        self._decoded: dict[ListKey, StatusBitstring | None] = {}

    def status(self, issuer: str, list_number: int, index: int) -> dict[str, bool] | None:
        bits: dict[str, bool] = {}
        for purpose in PURPOSES:
            bitstring = self._bitstring((issuer, list_number, purpose))
            if bitstring is None or not 0 <= index < bitstring.size:
                return None
            bits[purpose] = bitstring.get(index)
        return bits

    def _bitstring(self, key: ListKey) -> StatusBitstring | None:
        if key not in self._decoded:
            encoded = self._encoded.get(key)
            try:
                self._decoded[key] = None if encoded is None else StatusBitstring.decode(encoded)
            except FormatError:
                self._decoded[key] = None  # unreadable: its licenses show status_unavailable
        return self._decoded[key]


@dataclass(frozen=True)
class OpenedBundle:
    snapshot: TrustSnapshot
    generated_at: int
    age_seconds: int
    status: BundleStatusSource
    log_origins: Mapping[bytes, str]
    warnings: list[str]
    bundle_id: str


def open_trust_bundle(bundle: Mapping[str, Any], platform_public_key: bytes, now: int, *,
                      max_age: int | None = None) -> OpenedBundle:
    """Verify the platform's signature and every status list; rebuild the trust snapshot.

    FormatError ``bundle_signature_invalid`` if the platform did not sign this bundle,
    ``bad_bundle`` if it is malformed, ``bundle_too_old`` if older than ``max_age``.
    """
    return _aged(_read_bundle(bundle, platform_public_key), now, max_age)


class OfflineVerifier:
    """The Python verifier API: open a bundle once, verify many codes against it."""

    def __init__(self, bundle_json: Mapping[str, Any], platform_public_key: bytes, *,
                 max_age: int | None = None) -> None:
        self._bundle = _read_bundle(bundle_json, platform_public_key)
        self._max_age = max_age
        self._generated_text = datetime_text(self._bundle.generated_at)
        # A scanner verifies many codes per second for one department: the bundle aged to
        # the current second and the checked department are reused, not redone per code.
        self._aged: tuple[int, OpenedBundle] | None = None
        self._verifier: tuple[str, str] | None = None

    def opened(self, now: int) -> OpenedBundle:
        return _aged(self._bundle, now, self._max_age)

    def verify(self, presentation: str | Mapping[str, Any], now: int,
               verifier_department: str | None = None) -> Verdict:
        """The verdict, anchoring ``skipped``; ``extra["trustBundle"]`` says how old the
        trust data is, as EU verifier apps show it."""
        aged = self._aged
        if aged is None or aged[0] != now:
            aged = self._aged = (now, self.opened(now))
        opened = aged[1]
        verifier = None
        if verifier_department is not None:
            checked = self._verifier
            if checked is None or checked[0] != verifier_department:
                checked = self._verifier = (verifier_department, validate_usci(
                    verifier_department, "verifier_department"))
            verifier = checked[1]
        verdict = verify_presentation(presentation, opened.snapshot, now, verifier=verifier,
                                      status=opened.status, anchors=None)
        # The verdict was just made, with an ``extra`` dict of its own: filled in place
        # rather than copied into a new verdict.
        verdict.extra["trustBundle"] = {
            "id": opened.bundle_id, "generatedAt": self._generated_text,
            "ageSeconds": opened.age_seconds, "block": opened.snapshot.block_number,
            "warnings": list(opened.warnings)}
        return verdict


def _aged(bundle: OpenedBundle, now: int, max_age: int | None) -> OpenedBundle:
    age = now - bundle.generated_at
    if max_age is not None and age > max_age:
        raise FormatError(f"the trust bundle is {age} s old, more than the {max_age} s "
                          "allowed; fetch a fresh bundle", field="generatedAt",
                          code="bundle_too_old")
    warnings = list(bundle.warnings)
    if age < -CLOCK_SKEW:
        warnings.append(f"the bundle was generated {-age} s after this device's clock time; "
                        "check the clock")
    return dataclasses.replace(bundle, age_seconds=age, warnings=warnings)


def _read_bundle(bundle: object, platform_public_key: bytes) -> OpenedBundle:
    """The bundle's contents; age_seconds is 0 here and set by ``_aged`` for a given now."""
    validate_public_key(platform_public_key)
    doc = _obj(dict(bundle) if isinstance(bundle, Mapping) else bundle, "$", _BUNDLE_KEYS)
    _verify_platform_proof(doc, platform_public_key)
    # Signed by the platform; still parsed strictly, so that a platform bug becomes a clear
    # refusal rather than a verifier crash or a silently wrong verdict.
    if (doc["@context"] != BUNDLE_CONTEXT or doc["type"] != [BUNDLE_TYPE]
            or doc["issuer"] != PLATFORM_DID or not doc["id"]):
        _fail("type", f"must be @context {BUNDLE_CONTEXT}, type [{BUNDLE_TYPE!r}], issuer "
                      f"{PLATFORM_DID} and a non-empty id")
    bundle_id = _text(doc["id"], "id")
    try:
        generated_at = parse_datetime_text(doc["generatedAt"])
    except FormatError as exc:
        _fail("generatedAt", exc.message)
    records = _records(doc["departments"], "departments", _DEPARTMENT)
    departments = {r[0]: DepartmentInfo(*r) for r in records}
    if len(departments) != len(records):
        _fail("departments", "lists a department twice")
    checkpoints: dict[bytes, AnchoredCheckpoint] = {}
    origins: dict[bytes, str] = {}
    for n, (*fields, origin) in enumerate(_records(doc["checkpoints"], "checkpoints",
                                                   _CHECKPOINT)):
        log_id = fields[0]
        if log_id in checkpoints:
            _fail(f"checkpoints[{n}]", "log listed twice")
        checkpoints[log_id] = AnchoredCheckpoint(*fields)
        if origin is not None:
            if hashlib.sha256(origin.encode()).digest() != log_id:
                _fail(f"checkpoints[{n}].origin", "does not hash to the log id")
            origins[log_id] = origin
    lists = [_read_list(r, f"statusLists[{n}]")
             for n, r in enumerate(_records(doc["statusLists"], "statusLists", _STATUS_LIST))]
    if len({e.key for e in lists}) != len(lists):
        _fail("statusLists", "holds one list twice")
    block_number, block_hash, block_time = _record(doc["chain"], "chain", _CHAIN)
    snapshot = TrustSnapshot(
        block_number, block_hash, block_time, departments,
        tuple(TrustedKey(*r) for r in _records(doc["keys"], "keys", _KEY)),
        frozenset((d, t) for d, t in _records(doc["accreditations"], "accreditations",
                                              _ACCREDITATION)),
        tuple(Recognition(*r) for r in _records(doc["recognitions"], "recognitions",
                                                _RECOGNITION)),
        {e.list_id: e.anchor for e in lists if e.anchor is not None}, checkpoints)
    warnings: list[str] = []
    encoded: dict[ListKey, str | None] = {}
    for entry in lists:
        problem = _list_problem(entry, snapshot, generated_at)
        if problem is not None:
            warnings.append(f"status list {entry.url} is not used: {problem}; licenses on it "
                            "verify as status_unavailable")
        elif entry.anchor is None:
            warnings.append(f"status list {entry.url} has no digest on chain yet; trusted on "
                            "its department's signature alone")
        encoded[entry.key] = (None if problem is not None
                              else entry.credential["credentialSubject"]["encodedList"])
    return OpenedBundle(snapshot, generated_at, 0, BundleStatusSource(encoded), origins,
                        warnings, bundle_id)


def _verify_platform_proof(doc: dict[str, Any], platform_public_key: bytes) -> None:
    expected = platform_verification_method(platform_public_key)
    # Other proofs may sit beside the platform's (another key during a rotation, a later
    # SM2 proof): only the one by the given key counts.
    proofs = doc["proof"] if isinstance(doc["proof"], list) else [doc["proof"]]
    if not proofs or not all(isinstance(p, dict) for p in proofs):
        _fail("proof", "must be a proof object or an array of them")
    methods = [str(p.get("verificationMethod")) for p in proofs]
    if expected not in methods:
        raise FormatError(
            f"the bundle is signed by {', '.join(methods)}, not by the platform key "
            f"{expected}; check the platform key you were given",
            field="proof.verificationMethod", code="bundle_signature_invalid")
    try:
        purpose = proof_of(doc, expected)["proofPurpose"]
        good = verify_proof(doc, platform_public_key, expected)
    except FormatError as exc:
        _fail(exc.field or "proof", exc.message)
    if purpose != "assertionMethod":
        _fail("proof.proofPurpose", "must be assertionMethod")
    if not good:
        raise FormatError("the platform's signature on the trust bundle does not verify: it "
                          "was changed after signing; fetch the bundle again from the platform",
                          field="proof", code="bundle_signature_invalid")


@dataclass(frozen=True)
class _ListEntry:
    key: ListKey
    url: str
    list_id: bytes
    anchor: StatusListAnchor | None
    credential: dict[str, Any]


def _read_list(record: list[Any], where: str) -> _ListEntry:
    department, number, purpose, url, list_id, _version, on_chain, credential = record
    match = STATUS_LIST_URL.fullmatch(url)  # its purpose group admits only the two purposes
    if match is None or match.group(2, 3, 4) != (department, str(number), purpose):
        _fail(f"{where}.url", "must be <base>/v1/status-lists/<department>/<number>/<purpose>")
    if list_id != hashlib.sha256(url.encode()).digest():
        _fail(f"{where}.listId", "must be the SHA-256 of the url")
    anchor = None if on_chain is None else StatusListAnchor(list_id, department, *on_chain)
    return _ListEntry((department, number, purpose), url, list_id, anchor, credential)


def _list_problem(entry: _ListEntry, snapshot: TrustSnapshot, generated_at: int) -> str | None:
    """Why the list must not be trusted, or None. The department signed it and, when the
    chain published a digest, the chain vouches for this very version."""
    department, _, purpose = entry.key
    credential = entry.credential
    types = credential.get("type")
    subject = credential.get("credentialSubject")
    if (credential.get("id") != entry.url
            or credential.get("issuer") != f"did:citychain:{department}"
            or not isinstance(types, list) or "BitstringStatusListCredential" not in types
            or not isinstance(subject, dict) or subject.get("statusPurpose") != purpose
            or not isinstance(subject.get("encodedList"), str)):
        return f"it is not the {purpose} list credential of {department} at this URL"
    try:
        if entry.anchor is not None and (hashlib.sha256(canonicalize(credential)).digest()
                                         != entry.anchor.digest):
            return (f"it does not match the digest published on chain (version "
                    f"{entry.anchor.version})")
        method = proof_of(credential)["verificationMethod"]
        match = VERIFICATION_METHOD.fullmatch(method)
        if match is None or match.group(1) != department:
            return f"it is signed by {method}, not by a key of {department}"
        signed_at = parse_datetime_text(credential.get("validFrom"))
        keys = [k for k in snapshot.keys_with_kid(bytes.fromhex(match.group(2)))
                if k.department == department]
        if not keys:
            return f"its key {match.group(2)} is not on the trust list"
        # Kids can collide: any listed key valid when the list was issued may have signed it.
        if not any(k.is_valid_at(signed_at) and verify_proof(credential, k.public_key, method)
                   for k in keys):
            return "its signature does not verify with a key valid when it was issued"
        until = credential.get("validUntil")
        if until is not None and parse_datetime_text(until) <= generated_at:
            return f"it expired at {until}"
    except FormatError as exc:
        return exc.message
    return None


# --- strict readers: each refusal names the field ---------------------------------------


def _fail(field: str, message: str) -> NoReturn:
    raise FormatError(f"trust bundle field {field}: {message}; fetch a fresh bundle",
                      field=field, code="bad_bundle")


def _obj(value: object, field: str, keys: set[str] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(field, f"must be an object, got {type(value).__name__}")
    if keys is not None and value.keys() != keys:
        missing, unknown = sorted(keys - value.keys()), sorted(map(str, value.keys() - keys))
        _fail(field, f"missing {missing}, unknown {unknown}")
    return value


def _items(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(field, f"must be an array, got {type(value).__name__}")
    return value


Reader = Callable[[object, str], Any]


def _record(value: object, field: str, schema: Mapping[str, Reader]) -> list[Any]:
    """The fields of one object, read in schema order (the order of the dataclass)."""
    item = _obj(value, field, set(schema))
    return [read(item[name], f"{field}.{name}") for name, read in schema.items()]


def _records(value: object, field: str, schema: Mapping[str, Reader]) -> list[list[Any]]:
    return [_record(item, f"{field}[{n}]", schema) for n, item in enumerate(_items(value, field))]


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        _fail(field, "must be a string")
    return value


def _int(value: object, field: str) -> int:
    if (not isinstance(value, int) or isinstance(value, bool)
            or not 0 <= value <= MAX_SAFE_INTEGER):
        _fail(field, f"must be an integer from 0 to {MAX_SAFE_INTEGER}")
    return value


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        _fail(field, "must be true or false")
    return value


def _hex(value: object, field: str, size: int) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or not _HEX.issuperset(value):
        _fail(field, f"must be {size} bytes as {2 * size} lowercase hex digits")
    return bytes.fromhex(value)


def _hex_of(size: int) -> Reader:
    return lambda value, field: _hex(value, field, size)


def _or_null(read: Reader) -> Reader:
    return lambda value, field: None if value is None else read(value, field)


def _accounts(value: object, field: str) -> tuple[bytes, ...]:
    accounts = []
    for n, item in enumerate(_items(value, field)):
        if not isinstance(item, str) or not item.startswith("0x"):
            _fail(f"{field}[{n}]", "must be a 0x-prefixed 20-byte address")
        accounts.append(_hex(item[2:], f"{field}[{n}]", 20))
    return tuple(accounts)


def _usci(value: object, field: str) -> str:
    try:
        if isinstance(value, str) and validate_usci(value, field) == value:
            return value
    except LicenseError:
        pass
    _fail(field, "must be an 18-character USCI (GB 32100) in canonical form")



# Schemas list the JSON fields in the order of the dataclass each record becomes.
_CHAIN = {"blockNumber": _int, "blockHash": _hex_of(32), "blockTime": _int}
_DEPARTMENT = {"usci": _usci, "name": _text, "roles": _int, "active": _bool,
               "accounts": _accounts}
_KEY = {"department": _usci, "kid": _hex_of(8), "algorithm": _int, "publicKey": _hex_of(32),
        "validFrom": _int, "validUntil": _int, "revokedAt": _or_null(_int),
        "revocationReason": _or_null(_int)}
_ACCREDITATION = {"department": _usci, "licenseType": _text}
_RECOGNITION = {"verifier": _usci, "issuer": _usci, "licenseType": _text, "validFrom": _int,
                "validUntil": _int, "withdrawnAt": _or_null(_int)}
_CHECKPOINT = {"logId": _hex_of(32), "size": _int, "root": _hex_of(32), "blockNumber": _int,
               "anchoredAt": _int, "origin": _or_null(_text)}
_ON_CHAIN = {"digest": _hex_of(32), "version": _int, "publishedAt": _int}
_STATUS_LIST = {"department": _usci, "number": _int, "purpose": _text, "url": _text,
                "listId": _hex_of(32), "version": _int,
                "onChain": _or_null(lambda v, f: _record(v, f, _ON_CHAIN)),
                "credential": lambda v, f: _obj(v, f, None)}
