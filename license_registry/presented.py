"""A license as a verifier sees it, from either of its two presented forms: the full W3C
VC 2.0 document (``build_credential``; ``credential.py`` signs it) and the compact CWT
claims of the QR city code (``build_city_code_claims``; ``city_code.py`` signs them).

Both parse (strictly: they arrive from strangers) into one ``PresentedLicense``, so the
verifier has one set of checks. Neither form ever carries a raw personal identifier:
only the masked form, and in the credential a salted hash as the subject id.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar

from license_registry.errors import FormatError, InvalidInput, LicenseError
from license_registry.identifiers import HolderIdType, mask_identifier, validate_usci
from license_registry.license_types import (
    MAX_TIME,
    FieldSpec,
    LicenseMetadata,
    LicenseType,
    SubjectValue,
    calculate_compact_value,
    get_license_type,
    parse_compact_value,
    validate_license_number,
    validate_subject,
    validate_unix_time,
    validate_validity,
)

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CITY_CONTEXT = "https://citychain.example/contexts/e-license/v1"
VC_TYPES = ("VerifiableCredential", "ElectronicLicense")
DID_PREFIX = "did:citychain:"
HOLDER_PREFIX = "urn:citychain:holder:"
CRYPTOSUITE = "eddsa-jcs-2022"

# CWT claim keys (RFC 8392) and our private claim holding the license.
CLAIM_ISS, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_CTI = 1, 4, 5, 6, 7
CLAIM_LICENSE = -70001
# Keys inside the license claim; 8-23 belong to the license type's fields (FieldSpec).
LICENSE_TYPE_KEY, LICENSE_NUMBER_KEY, HOLDER_KEY, STATUS_KEY = 1, 2, 3, 4
COMMON_KEYS = (LICENSE_TYPE_KEY, LICENSE_NUMBER_KEY, HOLDER_KEY, STATUS_KEY)

UUID_URN = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DATETIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
HOLDER_HASH = re.compile(r"[0-9a-f]{64}")
MASKED_CITIZEN_ID = re.compile(r"[0-9]{6}\*{8}[0-9]{3}[0-9X]")
VERIFICATION_METHOD = re.compile(r"did:citychain:([0-9A-Z]{18})#([0-9a-f]{16})")
STATUS_LIST_URL = re.compile(
    r"(https?://[^\s/?#]+(?:/[^\s?#]*)?)/v1/status-lists/([0-9A-Z]{18})/"
    r"(0|[1-9][0-9]{0,8})/(revocation|suspension)")
STATUS_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")
MAX_STATUS_NUMBER = 999_999_999  # nine digits, as the patterns above allow
STATUS_ENTRY_KEYS = {"id", "type", "statusPurpose", "statusListIndex", "statusListCredential"}
CREDENTIAL_KEYS = {"@context", "id", "type", "issuer", "validFrom", "validUntil",
                   "credentialSubject", "credentialStatus", "licenseMetadata", "proof"}
METADATA_KEYS = {"licenseTypeCode", "licenseTypeName", "issuingAuthority",
                 "issuingAuthorityCode", "issued", "scope"}
SUBJECT_KEYS = ("id", "holderIdType", "holderIdMasked", "licenseNumber")
T = TypeVar("T")


@dataclass(frozen=True)
class PresentedLicense:
    credential_id: str  # urn:uuid:…
    issuer: str  # USCI of the issuing department
    license_type: str  # catalogue code
    license_number: str
    issued_at: int
    valid_from: int
    valid_until: int
    status_list_number: int
    status_index: int
    holder_id_type: HolderIdType
    holder_display: str  # masked holder identifier
    subject: Mapping[str, SubjectValue] = field(hash=False)  # full fields, or the compact ones
    kid: bytes | None = None  # 8 bytes; from the COSE header or the verification method
    verification_method: str | None = None  # full form only: did:citychain:<USCI>#<kid hex>


def datetime_text(ts: int) -> str:
    """Unix seconds as the XML datetime of credentials: ``YYYY-MM-DDTHH:MM:SSZ``."""
    seconds = validate_unix_time(ts, "time")
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime_text(text: object) -> int:
    """Strict inverse of ``datetime_text``: UTC only (``Z``), no fractions, no offsets."""
    match = DATETIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise FormatError(f"{text!r} is not an XML datetime YYYY-MM-DDTHH:MM:SSZ",
                          code="bad_datetime")
    try:
        year, month, day, hour, minute, second = map(int, match.groups())
        moment = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)
    except ValueError as error:
        raise FormatError(f"{text!r} is not a real time: {error}", code="bad_datetime") from None
    if moment.year < 1970:
        raise FormatError(f"{text!r} is before 1970", code="bad_datetime")
    return int(moment.timestamp())


def is_status_number(value: object) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)
            and 0 <= value <= MAX_STATUS_NUMBER)


def build_credential(*, credential_id: str, metadata: LicenseMetadata, license_type: LicenseType,
                     subject: Mapping[str, object], holder_salted_hash: str, issued_at: int,
                     status_entries: list[dict[str, str]],
                     context_url: str = CITY_CONTEXT) -> dict[str, object]:
    """The unsigned VC 2.0 document of one license (raises InvalidInput on bad input)."""
    fields = _validate_common(credential_id, metadata, license_type, subject, issued_at)
    if not isinstance(holder_salted_hash, str) or not HOLDER_HASH.fullmatch(holder_salted_hash):
        raise InvalidInput("holder_salted_hash must be 64 lowercase hex digits (salted_hash)",
                           field="holderSaltedHash")
    entries = [dict(entry) for entry in status_entries]
    try:
        _parse_status(_Parser("bad_credential", "credential"), entries, metadata.issuer_usci)
    except FormatError as error:
        raise InvalidInput(error.message, field="credentialStatus") from None
    return {
        "@context": [VC_CONTEXT, context_url],
        "id": credential_id,
        "type": [*VC_TYPES, license_type.credential_type],
        "issuer": DID_PREFIX + metadata.issuer_usci,
        "validFrom": datetime_text(metadata.valid_from),
        "validUntil": datetime_text(metadata.valid_until),
        "credentialSubject": {
            "id": HOLDER_PREFIX + holder_salted_hash,
            "holderIdType": metadata.holder_id_type.value,
            "holderIdMasked": mask_identifier(metadata.holder_id_type, metadata.holder_id),
            "licenseNumber": metadata.license_number,
            **fields,
        },
        "credentialStatus": entries,
        "licenseMetadata": {  # GB/T 36903 fields not already in the VC
            "licenseTypeCode": license_type.code,
            "licenseTypeName": license_type.name_zh,
            "issuingAuthority": metadata.issuer_name,
            "issuingAuthorityCode": metadata.issuer_usci,
            "issued": datetime_text(issued_at),
            **({"scope": metadata.scope} if metadata.scope else {}),
        },
    }


def build_city_code_claims(*, credential_id: str, metadata: LicenseMetadata,
                           license_type: LicenseType, subject: Mapping[str, object],
                           issued_at: int, status_list_number: int,
                           status_index: int) -> dict[int, object]:
    """Compact CWT claims: standard claims plus one private claim with short integer keys.

    Only the fields the catalogue marks compact go in, personal names masked and text cut
    to its byte budget, so every license fits a QR code readable from a phone screen.
    """
    fields = _validate_common(credential_id, metadata, license_type, subject, issued_at)
    for name, number in (("statusListNumber", status_list_number), ("statusIndex", status_index)):
        if not is_status_number(number):
            raise InvalidInput(f"{name} must be an integer 0-{MAX_STATUS_NUMBER}", field=name)
    claim: dict[int, object] = {
        LICENSE_TYPE_KEY: license_type.code,
        LICENSE_NUMBER_KEY: metadata.license_number,
        HOLDER_KEY: mask_identifier(metadata.holder_id_type, metadata.holder_id),
        STATUS_KEY: [status_list_number, status_index],
    }
    for spec in license_type.fields:
        if spec.compact_key is not None and spec.name in fields:
            claim[spec.compact_key] = calculate_compact_value(spec, fields[spec.name])
    return {
        CLAIM_ISS: metadata.issuer_usci,
        CLAIM_IAT: issued_at,
        CLAIM_NBF: metadata.valid_from,
        CLAIM_EXP: metadata.valid_until,
        CLAIM_CTI: uuid.UUID(credential_id[len("urn:uuid:"):]).bytes,
        CLAIM_LICENSE: claim,
    }


def presented_from_credential(vc: object, *,
                              context_url: str = CITY_CONTEXT) -> PresentedLicense:
    """Parse an untrusted credential; raise FormatError ``bad_credential`` naming the field.

    Whether the verification method belongs to the issuer, and the proof itself, are
    checked by the verifier, which reports them with their own reason codes.
    """
    p = _Parser("bad_credential", "credential")
    doc = p.mapping(vc, "credential", CREDENTIAL_KEYS)
    if doc.get("@context") != [VC_CONTEXT, context_url]:
        p.fail("@context", f"must be [{VC_CONTEXT!r}, {context_url!r}]")
    credential_id = p.text(doc.get("id"), "id", UUID_URN, "urn:uuid:<lowercase UUID>")
    issuer_did = p.text(doc.get("issuer"), "issuer")
    if not issuer_did.startswith(DID_PREFIX):
        p.fail("issuer", f"must be {DID_PREFIX}<USCI>")
    issuer = p.convert(lambda: validate_usci(issuer_did[len(DID_PREFIX):]), "issuer")
    meta = p.mapping(doc.get("licenseMetadata"), "licenseMetadata", METADATA_KEYS)
    license_type = p.convert(lambda: get_license_type(meta.get("licenseTypeCode")),
                             "licenseMetadata.licenseTypeCode")
    if doc.get("type") != [*VC_TYPES, license_type.credential_type]:
        p.fail("type", f"must be {[*VC_TYPES, license_type.credential_type]}")
    if meta.get("licenseTypeName") != license_type.name_zh:
        p.fail("licenseMetadata.licenseTypeName", f"must be {license_type.name_zh!r}")
    if meta.get("issuingAuthorityCode") != issuer:
        p.fail("licenseMetadata.issuingAuthorityCode", "must be the issuer's USCI")
    p.text(meta.get("issuingAuthority"), "licenseMetadata.issuingAuthority")
    if "scope" in meta:
        p.text(meta["scope"], "licenseMetadata.scope")
    valid_from = p.datetime(doc.get("validFrom"), "validFrom")
    valid_until = p.datetime(doc.get("validUntil"), "validUntil")
    p.convert(lambda: validate_validity(license_type, valid_from, valid_until), "validUntil")
    subj = p.mapping(doc.get("credentialSubject"), "credentialSubject", None)
    holder_ref = p.text(subj.get("id"), "credentialSubject.id")
    if not (holder_ref.startswith(HOLDER_PREFIX)
            and HOLDER_HASH.fullmatch(holder_ref[len(HOLDER_PREFIX):])):
        p.fail("credentialSubject.id", f"must be {HOLDER_PREFIX}<64 hex digits>")
    if subj.get("holderIdType") != license_type.holder_id_type.value:
        p.fail("credentialSubject.holderIdType", f"must be {license_type.holder_id_type.value}")
    fields = {k: v for k, v in subj.items() if k not in SUBJECT_KEYS}
    subject = p.convert(lambda: validate_subject(license_type, fields), "credentialSubject",
                        nested=True)
    list_number, index = _parse_status(p, doc.get("credentialStatus"), issuer)
    method = _parse_verification_method(p, doc.get("proof"))
    return PresentedLicense(
        credential_id=credential_id, issuer=issuer, license_type=license_type.code,
        license_number=p.convert(lambda: validate_license_number(subj.get("licenseNumber")),
                                 "credentialSubject.licenseNumber"),
        issued_at=p.datetime(meta.get("issued"), "licenseMetadata.issued"),
        valid_from=valid_from, valid_until=valid_until,
        status_list_number=list_number, status_index=index,
        holder_id_type=license_type.holder_id_type,
        holder_display=_parse_masked_holder(p, license_type, subj.get("holderIdMasked"),
                                            "credentialSubject.holderIdMasked"),
        subject=subject,
        kid=bytes.fromhex(method.rsplit("#", 1)[1]) if method else None,
        verification_method=method)


_CLAIM_KEYS = frozenset({CLAIM_ISS, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_CTI, CLAIM_LICENSE})
# Per license type: its compact fields by key, and every key its license claim may hold.
_COMPACT: dict[str, tuple[LicenseType, dict[int, FieldSpec], frozenset[int]]] = {}


def _compact_fields(license_type: LicenseType) -> tuple[dict[int, FieldSpec], frozenset[int]]:
    cached = _COMPACT.get(license_type.code)
    if cached is None or cached[0] is not license_type:
        compact = {f.compact_key: f for f in license_type.fields if f.compact_key is not None}
        cached = _COMPACT[license_type.code] = (license_type, compact,
                                                frozenset({*COMMON_KEYS, *compact}))
    return cached[1], cached[2]


def presented_from_claims(claims: object, kid: object) -> PresentedLicense:
    """Parse untrusted city-code claims; raise FormatError ``bad_claims`` naming the claim."""
    p = _CLAIMS_PARSER
    if not isinstance(kid, bytes) or len(kid) != 8:
        p.fail("kid", "must be 8 bytes")
    top = p.mapping(claims, "claims", _CLAIM_KEYS)
    # Domain checks run inline (not through p.convert and a lambda): this runs for every
    # scanned code. Each LicenseError still becomes this claim's FormatError.
    try:
        issuer = validate_usci(top.get(CLAIM_ISS))
    except LicenseError as error:
        p.fail("1 (iss)", error.message)
    cti = top.get(CLAIM_CTI)
    if not isinstance(cti, bytes) or len(cti) != 16:
        p.fail("7 (cti)", "must be the 16 bytes of the credential's UUID")
    lic = p.mapping(top.get(CLAIM_LICENSE), f"{CLAIM_LICENSE} (license)", None)
    try:
        license_type = get_license_type(lic.get(LICENSE_TYPE_KEY))
    except LicenseError as error:
        p.fail("license.1 (type)", error.message)
    compact, keys = _compact_fields(license_type)
    p.mapping(lic, f"{CLAIM_LICENSE} (license)", keys)
    valid_from = p.time(top.get(CLAIM_NBF), "5 (nbf)")
    valid_until = p.time(top.get(CLAIM_EXP), "4 (exp)")
    try:
        validate_validity(license_type, valid_from, valid_until)
    except LicenseError as error:
        p.fail("4 (exp)", error.message)
    status = lic.get(STATUS_KEY)
    if not (isinstance(status, list) and len(status) == 2 and all(map(is_status_number, status))):
        p.fail("license.4 (status)", "must be [list number, index] of non-negative integers")
    subject: dict[str, SubjectValue] = {}
    for key, spec in compact.items():
        if key in lic:
            try:
                subject[spec.name] = parse_compact_value(spec, lic[key])
            except LicenseError as error:
                p.fail(f"license.{key}", error.message)
        elif spec.required:
            p.fail(f"license.{key}", f"{spec.name} is required")
    try:
        license_number = validate_license_number(lic.get(LICENSE_NUMBER_KEY))
    except LicenseError as error:
        p.fail("license.2 (number)", error.message)
    issued_at = p.time(top.get(CLAIM_IAT), "6 (iat)")
    holder_display = _parse_masked_holder(p, license_type, lic.get(HOLDER_KEY),
                                          "license.3 (holder)")
    h = cti.hex()  # str(uuid.UUID(bytes=cti)), without building the UUID
    return PresentedLicense(
        credential_id=f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",
        issuer=issuer, license_type=license_type.code, license_number=license_number,
        issued_at=issued_at, valid_from=valid_from, valid_until=valid_until,
        status_list_number=status[0], status_index=status[1],
        holder_id_type=license_type.holder_id_type, holder_display=holder_display,
        subject=subject, kid=kid)


@dataclass(frozen=True)
class _Parser:
    """Reads one untrusted document: every failure is a FormatError with one code."""

    code: str
    what: str  # "credential" or "city code", for messages

    def fail(self, field: str, message: str) -> NoReturn:
        raise FormatError(f"{self.what} field {field}: {message}", field=field, code=self.code)

    def convert(self, check: Callable[[], T], field: str, *, nested: bool = False) -> T:
        """Run a domain check, turning its error into this document's FormatError."""
        try:
            return check()
        except LicenseError as error:
            self.fail(f"{field}.{error.field}" if nested and error.field else field,
                      error.message)

    def mapping(self, value: object, field: str,
                keys: AbstractSet[object] | None) -> dict[object, object]:
        if not isinstance(value, dict):
            self.fail(field, f"must be a map, got {type(value).__name__}")
        if keys is not None and not value.keys() <= keys:
            # refused, not ignored: a field we cannot show might restrict the license
            self.fail(field, f"has unknown keys {sorted(set(value) - keys, key=repr)}")
        return value

    def text(self, value: object, field: str, pattern: re.Pattern[str] | None = None,
             shape: str = "") -> str:
        if not isinstance(value, str) or not value:
            self.fail(field, "must be a non-empty string")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(field, f"must be {shape}")  # the value is not echoed: it may be personal
        return value

    def time(self, value: object, field: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TIME:
            self.fail(field, f"must be unix seconds from 0 to {MAX_TIME}, got {value!r}")
        return value

    def datetime(self, value: object, field: str) -> int:
        return self.convert(lambda: parse_datetime_text(value), field)


_CLAIMS_PARSER = _Parser("bad_claims", "city code")


def _validate_common(credential_id: object, metadata: LicenseMetadata,
                     license_type: LicenseType, subject: Mapping[str, object],
                     issued_at: object) -> dict[str, SubjectValue]:
    if not isinstance(credential_id, str) or not UUID_URN.fullmatch(credential_id):
        raise InvalidInput("credential_id must be urn:uuid: and a lowercase UUID",
                           field="credentialId")
    if metadata.license_type != license_type.code:
        raise InvalidInput(f"metadata is for {metadata.license_type}, not {license_type.code}",
                           field="licenseType")
    validate_unix_time(issued_at, "issuedAt")
    return validate_subject(license_type, dict(subject))


def _parse_status(p: _Parser, value: object, issuer: str) -> tuple[int, int]:
    """One revocation and one suspension entry, sharing list number and index (licenses.md)."""
    if not isinstance(value, list) or len(value) != 2:
        p.fail("credentialStatus", "must list one revocation and one suspension entry")
    found: dict[str, tuple[str, int, int]] = {}
    for n, item in enumerate(value):
        where = f"credentialStatus[{n}]"
        entry = p.mapping(item, where, STATUS_ENTRY_KEYS)
        if entry.get("type") != "BitstringStatusListEntry":
            p.fail(f"{where}.type", "must be BitstringStatusListEntry")
        purpose = entry.get("statusPurpose")
        if purpose not in ("revocation", "suspension") or purpose in found:
            p.fail(f"{where}.statusPurpose", "must be revocation or suspension, once each")
        index = int(p.text(entry.get("statusListIndex"), f"{where}.statusListIndex",
                           STATUS_INDEX, "a decimal string of at most 9 digits, no leading 0"))
        url = p.text(entry.get("statusListCredential"), f"{where}.statusListCredential")
        match = STATUS_LIST_URL.fullmatch(url)
        if match is None:
            p.fail(f"{where}.statusListCredential",
                   f"{url!r} is not <base>/v1/status-lists/<USCI>/<n>/<purpose>")
        base, usci, number, url_purpose = match.groups()
        if usci != issuer or url_purpose != purpose:
            p.fail(f"{where}.statusListCredential",
                   f"must be the issuer's {purpose} list, got {url!r}")
        if "id" in entry:
            p.text(entry["id"], f"{where}.id")
        found[str(purpose)] = (base, int(number), index)
    if len(set(found.values())) != 1:
        p.fail("credentialStatus", "revocation and suspension entries must use the same "
                                   "list base, list number and index")
    _, number, index = found["revocation"]
    return number, index


def _parse_verification_method(p: _Parser, proof: object) -> str | None:
    """The verification method of the eddsa-jcs-2022 proof, if the credential has one."""
    if proof is None:
        return None
    proofs = proof if isinstance(proof, list) else [proof]
    methods = [item.get("verificationMethod") for item in proofs
               if isinstance(item, dict) and item.get("cryptosuite") == CRYPTOSUITE]
    if len(methods) > 1:
        p.fail("proof", f"has {len(methods)} {CRYPTOSUITE} proofs; expected one")
    shape = "did:citychain:<USCI>#<kid as 16 hex digits>"
    return p.text(methods[0], "proof.verificationMethod", VERIFICATION_METHOD,
                  shape) if methods else None


def _parse_masked_holder(p: _Parser, license_type: LicenseType, value: object,
                         field: str) -> str:
    if license_type.holder_id_type is HolderIdType.USCI:
        try:
            return validate_usci(value)
        except LicenseError as error:
            p.fail(field, error.message)
    return p.text(value, field, MASKED_CITIZEN_ID, "a masked citizen ID like 110105********002X")

