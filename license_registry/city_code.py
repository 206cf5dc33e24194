"""The QR "city code": a license's compact form, verifiable offline (the EU DCC pipeline).

    CWT claims (RFC 8392) -> COSE_Sign1 (RFC 9052, tag 18) -> zlib, only when smaller
    -> Base45 (RFC 9285) -> prefix ``CC1:``

The protected header carries ``{1: -8 (EdDSA), 4: kid}`` so both are signed; the
unprotected header is empty. kid = SHA-256(public key)[:8]; kids can collide, so a
verifier tries every trusted key with the kid (see ``TrustSnapshot.keys_with_kid``).

Decoding is strict and bounded — a code is read from a stranger's screen or paper — and
every refusal is a :class:`FormatError` whose ``code`` names the stage that failed:
``bad_prefix``, ``too_large``, ``bad_base45``, ``bad_zlib``, ``bad_cose``,
``unsupported_alg``, ``bad_cwt``. Decoding checks no time and no key; the caller does.

Offline verifiers decode and verify thousands of codes, so the decode path avoids
re-encoding: the COSE envelope is read by hand (three byte strings in deterministic
encoding around an empty map), which lets the signed ``Sig_structure`` be assembled from slices of the input,
and the claims go to cbor2's C decoder once.
"""

from __future__ import annotations

import functools
import io
import zlib
from dataclasses import dataclass
from typing import Any

import cbor2
import nacl.exceptions
import nacl.signing

from license_registry.errors import FormatError, InvalidInput
from license_registry.keys import (
    KID_BYTES,
    signer_of,
    validate_public_key,
    validate_seed,
    verifier_of,
)

PREFIX = "CC1:"
COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
ALG_EDDSA = -8
SIGNATURE_BYTES = 64

# CWT claim keys (RFC 8392 §4) and the type each must have.
CLAIM_ISS, CLAIM_SUB, CLAIM_AUD, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_CTI = range(1, 8)
_STRING_CLAIMS = (CLAIM_ISS, CLAIM_SUB, CLAIM_AUD)
_TIME_CLAIMS = (CLAIM_EXP, CLAIM_NBF, CLAIM_IAT)

MAX_CODE_CHARS = 4096
MAX_INFLATED_BYTES = 64 * 1024
MAX_CBOR_DEPTH = 16

_BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
# Byte -> Base45 digit value, 0xFF for bytes outside the alphabet.
_BASE45_DIGITS = bytes(
    _BASE45_ALPHABET.index(chr(byte)) if chr(byte) in _BASE45_ALPHABET else 0xFF
    for byte in range(256)
)
_BASE45_CHARS = bytes.maketrans(bytes(range(45)), _BASE45_ALPHABET.encode("ascii"))
_INV45 = -(-(1 << 24) // 45)  # 372828 = ceil(2^24 / 45)
_ZLIB_HEAD = b"\x78"  # CMF of a deflate stream with a 32 KiB window; tag 18 is 0xd2
_COSE_SIGN1_HEAD = b"\xd2\x84"  # tag 18, array of 4
_EMPTY_MAP = 0xA0
# ["Signature1", protected, external_aad = b"", payload]: array(4), text(10), then items.
_SIG_STRUCTURE_HEAD = b"\x84\x6aSignature1"
# Deterministic encoding of {1: -8, 4: h'<8 bytes>'}: the header every code we issue has.
_EDDSA_PROTECTED_HEAD = b"\xa2\x01\x27\x04\x48"


@dataclass(frozen=True, slots=True)
class DecodedCityCode:
    """A parsed city code; not yet verified (see :func:`verify_city_code`)."""

    kid: bytes
    alg: int
    claims: dict[Any, Any]
    sig_structure: bytes  # the exact bytes the issuer signed
    signature: bytes
    compressed: bool


def encode_city_code(claims: dict[Any, Any], kid: bytes, signing_key: bytes) -> str:
    """``CC1:…``: the claims signed by the Ed25519 seed ``signing_key`` under ``kid``."""
    validate_seed(signing_key)
    if not isinstance(kid, bytes) or len(kid) != KID_BYTES:
        raise InvalidInput(f"kid must be {KID_BYTES} bytes (SHA-256(public key)[:8])",
                           field="kid")
    problem = _find_claims_problem(claims)
    if problem is not None:
        raise InvalidInput(f"CWT claims: {problem}", field="claims", code="bad_cwt")
    try:
        payload = cbor2.dumps(claims, canonical=True)
    except (cbor2.CBOREncodeError, TypeError, ValueError) as exc:
        raise InvalidInput(f"CWT claims cannot be CBOR-encoded: {exc}", field="claims",
                           code="bad_cwt") from exc
    protected = cbor2.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: kid})
    signed = signer_of(signing_key).sign(build_sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signed.signature]))
    deflated = zlib.compress(cose, 9)
    body = deflated if len(deflated) < len(cose) else cose
    code = PREFIX + encode_base45(body)
    if len(code) > MAX_CODE_CHARS or len(cose) > MAX_INFLATED_BYTES:
        raise InvalidInput(
            f"the city code would be {len(code)} characters, over the {MAX_CODE_CHARS} "
            "verifiers accept; put fewer claims in the code",
            field="claims",
            code="too_large",
        )
    return code


def decode_city_code(code: str) -> DecodedCityCode:
    """Parse a scanned city code; FormatError naming the failed stage if it is malformed."""
    if not isinstance(code, str) or not code.startswith(PREFIX):
        raise _error("bad_prefix", f"a city code starts with {PREFIX!r}; this is not one")
    if len(code) > MAX_CODE_CHARS:
        raise _error("too_large", f"a city code has at most {MAX_CODE_CHARS} characters; "
                                  f"this one has {len(code)}")
    data = decode_base45(code[len(PREFIX):])
    compressed = data[:1] == _ZLIB_HEAD
    if compressed:
        data = _inflate(data)

    if data[:2] != _COSE_SIGN1_HEAD:
        raise _error("bad_cose", "expected a COSE_Sign1 message (CBOR tag 18, array of 4)")
    protected_at = len(_COSE_SIGN1_HEAD)
    protected_start, protected_end = _read_bstr(data, protected_at, "protected header")
    if protected_end >= len(data) or data[protected_end] != _EMPTY_MAP:
        raise _error("bad_cose", "the unprotected header must be an empty map: alg and kid "
                                 "belong in the protected (signed) header")
    payload_at = protected_end + 1
    payload_start, payload_end = _read_bstr(data, payload_at, "payload")
    signature_start, signature_end = _read_bstr(data, payload_end, "signature")
    if signature_end != len(data):
        raise _error("bad_cose", f"{len(data) - signature_end} bytes follow the COSE_Sign1 "
                                 "message")
    if signature_end - signature_start != SIGNATURE_BYTES:
        raise _error("bad_cose", f"an Ed25519 signature has {SIGNATURE_BYTES} bytes; got "
                                 f"{signature_end - signature_start}")

    kid, alg = _read_protected_header(data[protected_start:protected_end])
    return DecodedCityCode(
        kid=kid,
        alg=alg,
        claims=_read_claims(data[payload_start:payload_end]),
        # The byte-string items are in deterministic encoding (checked by _read_bstr), so
        # they are copied into the Sig_structure as they stand.
        sig_structure=b"".join((_SIG_STRUCTURE_HEAD, data[protected_at:protected_end], b"\x40",
                                data[payload_at:payload_end])),
        signature=data[signature_start:signature_end],
        compressed=compressed,
    )


def verify_city_code(decoded: DecodedCityCode, public_key: bytes) -> bool:
    """True when the code's signature verifies under the raw Ed25519 ``public_key``."""
    if not isinstance(public_key, bytes):
        validate_public_key(public_key)  # raises InvalidInput, as for a bad length
    try:
        verifier_of(public_key).verify(decoded.sig_structure, decoded.signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def build_sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The COSE ``Sig_structure`` for Sign1 with no external AAD: the bytes signed."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def encode_base45(data: bytes) -> str:
    """RFC 9285 Base45 of ``data``: the text ``base45.b45encode`` gives, without its Python
    loop per byte pair (which cost as much as the city code's signature).

    As in :func:`decode_base45`, every 2-byte group n is lifted into a 40-bit lane of one
    big integer; n // 45 for all lanes at once is a multiplication by ceil(2^24 / 45) and
    a byte slice (exact for every n < 2^16), and n % 45 a lane-wise subtraction that
    never borrows. Groups encode as (n % 45, n // 45 % 45, n // 2025), a last odd byte
    as (n % 45, n // 45).
    """
    groups, tail = divmod(len(data), 2)
    out = bytearray(3 * groups + 2 * tail)
    if groups:
        width = 5 * groups
        lanes = bytearray(width)
        lanes[3::5] = data[0 : 2 * groups : 2]
        lanes[4::5] = data[1 : 2 * groups : 2]
        n = int.from_bytes(lanes, "big")
        q = _div45_lanes(n, width)  # n // 45
        e = _div45_lanes(q, width)  # n // 2025
        end = 3 * groups
        out[0:end:3] = (n - 45 * q).to_bytes(width, "big")[4::5]
        out[1:end:3] = (q - 45 * e).to_bytes(width, "big")[4::5]
        out[2:end:3] = e.to_bytes(width, "big")[4::5]
    if tail:
        out[-1], out[-2] = divmod(data[-1], 45)
    return out.translate(_BASE45_CHARS).decode("ascii")


def _div45_lanes(value: int, width: int) -> int:
    # Each lane is below 2^16, so lane * 372828 < 2^35 stays inside its 40 bits, and its
    # bits 24-39 (the lane's first two bytes) are lane // 45: 45 * 372828 = 2^24 + 44, an
    # error below 0.004 that never reaches the next integer (n % 45 <= 44 leaves 1/45).
    product = (value * _INV45).to_bytes(width, "big")
    quotient = bytearray(width)
    quotient[3::5] = product[0::5]
    quotient[4::5] = product[1::5]
    return int.from_bytes(quotient, "big")


def decode_base45(text: str) -> bytes:
    """RFC 9285 Base45 -> bytes, strictly; FormatError ``bad_base45`` if malformed.

    The ``base45`` package decodes in a Python loop per character group, which costs most
    of an Ed25519 verification; here the digits (one byte each) are read as one big
    integer in which every group is a 24-bit lane ``c·2^16 + d·2^8 + e``: three shifts and
    masks split each lane's digits, and ``c + 45·d + 2025·e`` is computed for all lanes
    at once. Equivalence with ``base45.b45decode`` is a property test.
    """
    try:
        digits = text.encode("ascii").translate(_BASE45_DIGITS)
    except UnicodeEncodeError:
        digits = b"\xff"
    if b"\xff" in digits:
        raise _error("bad_base45", "the code has characters outside the Base45 alphabet "
                                   "(0-9, A-Z, space and $%*+-./:)")
    groups, tail = divmod(len(digits), 3)
    if tail == 1:
        raise _error("bad_base45", "Base45 text is truncated (length mod 3 is 1)")
    lanes = int.from_bytes(digits[: 3 * groups], "big")
    low = _low_bytes_mask(groups)
    # Each lane holds c + 45·d + 2025·e <= 91124 < 2^24, so lanes never carry into each other.
    packed = ((lanes >> 16 & low) + 45 * (lanes >> 8 & low) + 2025 * (lanes & low)
              ).to_bytes(3 * groups, "big")
    if packed[0::3].count(0) != groups:
        raise _error("bad_base45", "a Base45 group encodes a value above 65535")
    out = bytearray(2 * groups + tail // 2)
    out[0 : 2 * groups : 2] = packed[1::3]
    out[1 : 2 * groups : 2] = packed[2::3]
    if tail:
        value = digits[-2] + 45 * digits[-1]
        if value > 0xFF:
            raise _error("bad_base45", "the last Base45 pair encodes a value above 255")
        out[-1] = value
    return bytes(out)


@functools.lru_cache(maxsize=64)
def _low_bytes_mask(groups: int) -> int:
    """The low byte of each of ``groups`` 24-bit lanes (codes come in a few lengths)."""
    return int.from_bytes(b"\x00\x00\xff" * groups, "big")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(data, MAX_INFLATED_BYTES + 1)
    except zlib.error as exc:
        raise _error("bad_zlib", f"the compressed code does not inflate: {exc}") from exc
    if len(inflated) > MAX_INFLATED_BYTES:
        raise _error("too_large", f"the code inflates beyond {MAX_INFLATED_BYTES} bytes; "
                                  "refused as a decompression bomb")
    if not inflater.eof or inflater.unused_data:
        raise _error("bad_zlib", "the compressed code is truncated or has trailing bytes")
    return inflated


def _read_bstr(data: bytes, at: int, name: str) -> tuple[int, int]:
    """``(start, end)`` of the content of the CBOR byte string whose head is at ``at``.

    Only definite lengths in their shortest form are accepted (COSE's deterministic
    encoding), which is what makes the raw item reusable inside the Sig_structure.
    """
    if at >= len(data) or data[at] >> 5 != 2:
        raise _error("bad_cose", f"the COSE {name} must be a byte string")
    info = data[at] & 0x1F
    if info < 24:
        start, length = at + 1, info
    elif 24 <= info <= 26:
        width = 1 << (info - 24)
        start = at + 1 + width
        length = int.from_bytes(data[at + 1 : start], "big")
        if start > len(data) or length < (24 if width == 1 else 1 << (4 * width)):
            raise _error("bad_cose", f"the COSE {name} length is truncated or not minimal")
    else:
        raise _error("bad_cose", f"the COSE {name} has an unsupported length encoding")
    end = start + length
    if end > len(data):
        raise _error("bad_cose", f"the COSE {name} is truncated")
    return start, end


def _read_protected_header(protected: bytes) -> tuple[bytes, int]:
    if len(protected) == len(_EDDSA_PROTECTED_HEAD) + KID_BYTES and protected.startswith(
        _EDDSA_PROTECTED_HEAD
    ):
        return protected[len(_EDDSA_PROTECTED_HEAD):], ALG_EDDSA  # what we issue: no parse
    header = _load_cbor_exactly(protected, "bad_cose", "protected header")
    if not isinstance(header, dict):
        raise _error("bad_cose", "the protected header must be a CBOR map")
    alg = header.get(HEADER_ALG)
    if alg is None:
        raise _error("bad_cose", "the protected header has no alg (label 1)")
    if alg != ALG_EDDSA or isinstance(alg, bool):
        raise _error("unsupported_alg", f"alg {alg!r} is not supported; city codes are "
                                        f"signed with EdDSA ({ALG_EDDSA})")
    kid = header.get(HEADER_KID)
    if not isinstance(kid, bytes) or len(kid) != KID_BYTES:
        raise _error("bad_cose", f"the protected header kid (label 4) must be {KID_BYTES} bytes")
    return kid, ALG_EDDSA


def _read_claims(payload: bytes) -> dict[Any, Any]:
    claims = _load_cbor_exactly(payload, "bad_cwt", "CWT claims")
    problem = _find_claims_problem(claims)
    if problem is not None:
        raise _error("bad_cwt", f"CWT claims: {problem}")
    return claims  # type: ignore[no-any-return]


def _load_cbor_exactly(data: bytes, code: str, name: str) -> Any:
    """One CBOR item filling ``data``: bounded depth, no indefinite lengths or duplicates."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream, max_depth=MAX_CBOR_DEPTH, allow_indefinite=False,
                                  allow_duplicate_keys=False).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError) as exc:
        raise _error(code, f"{name}: not valid CBOR ({exc})") from exc
    if stream.tell() != len(data):
        raise _error(code, f"{name}: {len(data) - stream.tell()} bytes follow the CBOR item")
    return value


def _find_claims_problem(claims: object) -> str | None:
    """What is wrong with a CWT claims map, or None (RFC 8392 §3 types for claims 1-7)."""
    if not isinstance(claims, dict):
        return "must be a map"
    for key, value in claims.items():
        if type(key) is not int:  # the usual key; else the general test, bool refused
            if isinstance(key, bool) or not isinstance(key, int | str):
                return f"key {key!r} is neither an integer nor a text string"
            if not isinstance(key, int):
                continue  # a text key names no claim 1-7
        if not 0 < key <= CLAIM_CTI:
            continue
        if key in _STRING_CLAIMS and not isinstance(value, str):
            return f"claim {key} must be a text string"
        if key in _TIME_CLAIMS and (type(value) is not int or value < 0):
            return f"claim {key} must be a non-negative integer (unix seconds)"
        if key == CLAIM_CTI and not isinstance(value, bytes):
            return "claim 7 (cti) must be a byte string"
    return None


def _error(code: str, message: str) -> FormatError:
    return FormatError(message, field="city_code", code=code)
