"""City codes: CWT -> COSE_Sign1 -> zlib -> Base45 -> ``CC1:``, and every way one can be bad."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zlib
from typing import Any

import base45
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from license_registry.city_code import (
    ALG_EDDSA,
    MAX_CODE_CHARS,
    MAX_INFLATED_BYTES,
    PREFIX,
    build_sig_structure,
    decode_base45,
    decode_city_code,
    encode_city_code,
    verify_city_code,
)
from license_registry.errors import FormatError, InvalidInput
from license_registry.keys import (
    calculate_kid,
    decode_public_multikey,
    decode_secret_multikey,
    encode_public_multikey,
    generate_signing_key,
    public_key_of,
)
from license_registry.multibase import encode_base58btc

SEED = hashlib.sha256(b"citychain test issuer key").digest()
PUBLIC = public_key_of(SEED)
KID = calculate_kid(PUBLIC)
OTHER_SEED = hashlib.sha256(b"another department").digest()

# A compact business license as presented.py builds it: standard claims, then one
# private claim with short integer keys (the catalogue's compact form).
LICENSE_CLAIMS: dict[Any, Any] = {
    1: "91350100M000100Y43",                    # iss: issuing department (USCI)
    4: 1893456000,                              # exp
    5: 1735689600,                              # nbf
    6: 1735689600,                              # iat
    7: bytes.fromhex("58172aacd8ba11ed83dd0b3aef56cc33"),  # cti: credential uuid
    -70001: {
        1: "CN-BL",
        2: "BL-3501-2025-000123",
        3: "9135************43",
        4: [3, 48213],                          # status list number, index
        10: "福州闽江食品贸易有限公司",
        11: "有限责任公司",
        12: "张*",
        13: "福州市鼓楼区五四路 88 号",
        14: "食品销售；餐饮服务",
        15: 5000000,
    },
}


def _code(claims: dict[Any, Any] = LICENSE_CLAIMS) -> str:
    return encode_city_code(claims, KID, SEED)


def _sign1(protected: bytes, unprotected: bytes, payload: bytes, seed: bytes = SEED,
           head: bytes = b"\xd2\x84", signature: bytes | None = None) -> bytes:
    """A COSE_Sign1 assembled by hand, so tests can break one part at a time."""
    if signature is None:
        import nacl.signing
        signature = nacl.signing.SigningKey(seed).sign(
            build_sig_structure(protected, payload)).signature
    return (head + cbor2.dumps(protected) + unprotected + cbor2.dumps(payload)
            + cbor2.dumps(signature))


def _as_code(data: bytes, compress: bool = False) -> str:
    return PREFIX + base45.b45encode(zlib.compress(data) if compress else data).decode()


GOOD_PROTECTED = cbor2.dumps({1: ALG_EDDSA, 4: KID})
GOOD_PAYLOAD = cbor2.dumps(LICENSE_CLAIMS)


# --- keys --------------------------------------------------------------------------------

def test_kid_is_the_first_eight_bytes_of_sha256_of_the_public_key() -> None:
    assert hashlib.sha256(PUBLIC).digest()[:8] == KID
    assert len(KID) == 8


def test_generated_keys_are_fresh_seeds() -> None:
    first, second = generate_signing_key(), generate_signing_key()
    assert len(first) == len(second) == 32 and first != second
    assert len(public_key_of(first)) == 32


@pytest.mark.parametrize("bad", [b"", bytes(31), bytes(33), "x" * 32, None])
def test_key_helpers_refuse_wrong_lengths(bad: Any) -> None:
    for helper in (public_key_of, calculate_kid, encode_public_multikey):
        with pytest.raises(InvalidInput):
            helper(bad)


def test_multikeys_check_their_multicodec() -> None:
    public_multikey = encode_public_multikey(PUBLIC)
    assert public_multikey.startswith("z6Mk")
    assert decode_public_multikey(public_multikey) == PUBLIC
    secret_multikey = encode_base58btc(b"\x80\x26" + SEED)
    assert decode_secret_multikey(secret_multikey) == SEED
    for decode, text in ((decode_public_multikey, secret_multikey),
                         (decode_secret_multikey, public_multikey),
                         (decode_public_multikey, encode_base58btc(b"\xed\x01" + bytes(31)))):
        with pytest.raises(FormatError) as info:
            decode(text)
        assert info.value.code == "bad_multikey"


# --- round trips -------------------------------------------------------------------------

def test_realistic_license_round_trip_within_the_size_budget() -> None:
    assert 240 <= len(cbor2.dumps(LICENSE_CLAIMS)) <= 300  # ≈ 260-byte payload
    code = _code()
    assert code.startswith(PREFIX) and len(code) <= 600
    decoded = decode_city_code(code)
    assert decoded.claims == LICENSE_CLAIMS
    assert (decoded.kid, decoded.alg) == (KID, ALG_EDDSA)
    assert len(decoded.signature) == 64
    assert verify_city_code(decoded, PUBLIC) is True
    assert verify_city_code(decoded, public_key_of(OTHER_SEED)) is False


def test_encoding_is_deterministic() -> None:
    assert _code() == _code()
    reordered = dict(reversed(list(LICENSE_CLAIMS.items())))
    assert _code(reordered) == _code()  # claims are CBOR-encoded canonically


def test_message_structure() -> None:
    decoded = decode_city_code(_code())
    data = decode_base45(_code()[len(PREFIX):])
    if decoded.compressed:
        data = zlib.decompress(data)
    message = cbor2.loads(data)
    assert isinstance(message, cbor2.CBORTag) and message.tag == 18
    protected, unprotected, payload, signature = message.value
    assert cbor2.loads(protected) == {1: -8, 4: KID}
    assert unprotected == {}
    assert cbor2.loads(payload) == LICENSE_CLAIMS
    assert decoded.sig_structure == cbor2.dumps(["Signature1", protected, b"", payload])
    assert decoded.signature == signature


def test_zlib_is_used_only_when_it_makes_the_code_smaller() -> None:
    repetitive = {1: "91350100M000100Y43", -70001: {1: "food " * 60}}
    random_bytes = {1: "91350100M000100Y43", -70001: {1: os.urandom(120)}}
    compressed = decode_city_code(_code(repetitive))
    assert compressed.compressed is True
    plain_code = _code(random_bytes)
    plain = decode_city_code(plain_code)
    assert plain.compressed is False
    raw = decode_base45(plain_code[len(PREFIX):])
    assert len(zlib.compress(raw, 9)) >= len(raw)
    assert verify_city_code(compressed, PUBLIC) and verify_city_code(plain, PUBLIC)


def test_decoded_code_is_frozen() -> None:
    decoded = decode_city_code(_code())
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.kid = b"x" * 8  # type: ignore[misc]


claim_values = st.recursive(
    st.integers(-(2**63), 2**64 - 1) | st.text(max_size=20) | st.binary(max_size=20)
    | st.booleans() | st.none(),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.integers(-100, 100) | st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=60)
@given(st.dictionaries(st.integers(8, 2**16) | st.integers(-(2**16), -1) | st.text(max_size=8),
                       claim_values, max_size=6),
       st.integers(0, 2**40))
def test_round_trip_of_arbitrary_claims(claims: dict[Any, Any], issued_at: int) -> None:
    claims = {**claims, 6: issued_at, 1: "91350100M000100Y43"}
    decoded = decode_city_code(_code(claims))
    assert decoded.claims == claims
    assert verify_city_code(decoded, PUBLIC)


# --- Base45 ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "data"), [  # RFC 9285 §4.3 examples
    ("BB8", b"AB"),
    ("%69 VD92EX0", b"Hello!!"),
    ("UJCLQE7W581", b"base-45"),
    ("QED8WEX0", b"ietf!"),
    ("", b""),
    ("00", b"\x00"),
    ("FGW", b"\xff\xff"),
])
def test_base45_rfc_examples(text: str, data: bytes) -> None:
    assert decode_base45(text) == data
    assert base45.b45encode(data).decode() == text


@given(st.binary(max_size=600))
def test_fast_base45_matches_the_reference_package(data: bytes) -> None:
    assert decode_base45(base45.b45encode(data).decode()) == data


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", max_size=30))
def test_fast_base45_agrees_with_the_package_on_any_alphabet_text(text: str) -> None:
    try:
        expected: bytes | None = base45.b45decode(text)
    except ValueError:
        expected = None
    try:
        actual: bytes | None = decode_base45(text)
    except FormatError:
        actual = None
    assert actual == expected


@pytest.mark.parametrize("text", [
    "A",            # length mod 3 == 1
    "BB8A",
    "GGW",          # 65536: one above the largest 16-bit value
    ":::",          # 91124
    "BB8::",        # 2024 in the two-character tail, above 255
    "bb8",          # lower case is not Base45
    "BB8\n",        # the package strips a newline; we do not
    "BB8\u00e9",
    "BB=",
])
def test_base45_refusals(text: str) -> None:
    with pytest.raises(FormatError) as info:
        decode_base45(text)
    assert info.value.code == "bad_base45"


# --- malformed codes ---------------------------------------------------------------------

def _decode_error(code: Any) -> str:
    with pytest.raises(FormatError) as info:
        decode_city_code(code)
    assert info.value.field == "city_code"
    return info.value.code


@pytest.mark.parametrize("code", ["", "HC1:" + _code()[4:], "cc1:" + _code()[4:],
                                  "CC2:" + _code()[4:], "CC1" + _code()[4:], " " + _code(),
                                  None, b"CC1:", 42])
def test_wrong_prefix(code: Any) -> None:
    assert _decode_error(code) == "bad_prefix"


def test_oversized_code() -> None:
    assert _decode_error(PREFIX + "0" * (MAX_CODE_CHARS - len(PREFIX) + 2)) == "too_large"


@pytest.mark.parametrize("cut", [1, 2, 3, 10, 100])
def test_truncated_codes_are_refused(cut: int) -> None:
    _decode_error(_code()[:-cut])


INCOMPRESSIBLE_CLAIMS: dict[Any, Any] = {1: "91350100M000100Y43", 6: 1735689600,
                                         -70001: {1: hashlib.shake_256(b"noise").digest(128)}}


@pytest.mark.parametrize("claims", [LICENSE_CLAIMS, INCOMPRESSIBLE_CLAIMS],
                         ids=["compressed", "uncompressed"])
def test_every_single_character_change_is_caught(claims: dict[Any, Any]) -> None:
    code = _code(claims)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    outcomes = set()
    for position in range(len(PREFIX), len(code)):
        for shift in (1, 17):
            replacement = alphabet[(alphabet.index(code[position]) + shift) % len(alphabet)]
            changed = code[:position] + replacement + code[position + 1:]
            try:
                decoded = decode_city_code(changed)
            except FormatError as exc:
                outcomes.add(exc.code)
                continue
            assert verify_city_code(decoded, PUBLIC) is False, (position, shift)
            outcomes.add("bad_signature")
    # Compressed codes mostly fail zlib's checksum; plain ones reach the signature check.
    assert ("bad_zlib" if claims is LICENSE_CLAIMS else "bad_signature") in outcomes


def test_zlib_bomb() -> None:
    bomb = _as_code(b"\xd2\x84" + bytes(MAX_INFLATED_BYTES * 16), compress=True)
    assert len(bomb) < MAX_CODE_CHARS
    assert _decode_error(bomb) == "too_large"


@pytest.mark.parametrize("body", [
    b"\x78\x9c" + b"not deflate data",
    zlib.compress(_sign1(GOOD_PROTECTED, b"\xa0", GOOD_PAYLOAD))[:-6],       # truncated
    zlib.compress(_sign1(GOOD_PROTECTED, b"\xa0", GOOD_PAYLOAD)) + b"\x00",  # trailing
])
def test_bad_zlib(body: bytes) -> None:
    assert _decode_error(_as_code(body)) == "bad_zlib"


@pytest.mark.parametrize("data", [
    b"hello world",                                                  # not CBOR at all
    b"",
    _sign1(GOOD_PROTECTED, b"\xa0", GOOD_PAYLOAD, head=b"\xd1\x84"),  # tag 17: COSE_Mac0
    _sign1(GOOD_PROTECTED, b"\xa0", GOOD_PAYLOAD, head=b"\xd8\x62\x84"),  # tag 98: COSE_Sign
    _sign1(GOOD_PROTECTED, b"\xa0", GOOD_PAYLOAD, head=b"\x84"),     # untagged
    _sign1(GOOD_PROTECTED, b"\xa0", GOOD_PAYLOAD, head=b"\xd2\x83"),  # array of 3
    _sign1(GOOD_PROTECTED, b"\xa1\x04\x48" + KID, GOOD_PAYLOAD),     # kid left unprotected
    _sign1(GOOD_PROTECTED, b"\x80", GOOD_PAYLOAD),                   # unprotected not a map
    _sign1(GOOD_PROTECTED, b"\xa0", GOOD_PAYLOAD) + b"\x00",         # trailing byte
    _sign1(GOOD_PROTECTED, b"\xa0", GOOD_PAYLOAD, signature=bytes(63)),
    _sign1(GOOD_PROTECTED, b"\xa0", GOOD_PAYLOAD)[:-1],              # truncated signature
    b"\xd2\x84\x58\x0d" + GOOD_PROTECTED + b"\xa0" + cbor2.dumps(GOOD_PAYLOAD)
    + cbor2.dumps(bytes(64)),                                        # non-minimal length
    b"\xd2\x84\x5f" + cbor2.dumps(GOOD_PROTECTED) + b"\xff\xa0" + cbor2.dumps(GOOD_PAYLOAD)
    + cbor2.dumps(bytes(64)),                                        # indefinite length
    b"\xd2\x84\x6d" + GOOD_PROTECTED + b"\xa0" + cbor2.dumps(GOOD_PAYLOAD)
    + cbor2.dumps(bytes(64)),                                        # text, not bytes
    _sign1(b"", b"\xa0", GOOD_PAYLOAD),                              # nothing protected
    _sign1(cbor2.dumps({4: KID}), b"\xa0", GOOD_PAYLOAD),            # no alg
    _sign1(cbor2.dumps({1: ALG_EDDSA}), b"\xa0", GOOD_PAYLOAD),      # no kid
    _sign1(cbor2.dumps({1: ALG_EDDSA, 4: KID[:7]}), b"\xa0", GOOD_PAYLOAD),
    _sign1(cbor2.dumps([1, ALG_EDDSA]), b"\xa0", GOOD_PAYLOAD),
    _sign1(GOOD_PROTECTED + b"\x00", b"\xa0", GOOD_PAYLOAD),
])
def test_bad_cose(data: bytes) -> None:
    assert _decode_error(_as_code(data)) == "bad_cose"
    assert _decode_error(_as_code(data, compress=True)) in ("bad_cose", "bad_zlib")


@pytest.mark.parametrize("alg", [-7, -35, -37, 1, "EdDSA", True, None])
def test_unsupported_alg(alg: Any) -> None:
    protected = cbor2.dumps({1: alg, 4: KID})
    code = _decode_error(_as_code(_sign1(protected, b"\xa0", GOOD_PAYLOAD)))
    assert code == ("bad_cose" if alg is None else "unsupported_alg")


def test_protected_header_in_another_key_order_is_accepted() -> None:
    protected = cbor2.dumps({4: KID, 1: ALG_EDDSA})
    decoded = decode_city_code(_as_code(_sign1(protected, b"\xa0", GOOD_PAYLOAD)))
    assert (decoded.kid, decoded.claims) == (KID, LICENSE_CLAIMS)
    assert verify_city_code(decoded, PUBLIC)


def _nested_claims(depth: int) -> bytes:
    return b"\xa1\x08" + b"\x81" * depth + b"\x00"


@pytest.mark.parametrize("payload", [
    b"",
    b"\xff",
    cbor2.dumps([1, 2, 3]),                                 # not a map
    cbor2.dumps("claims"),
    GOOD_PAYLOAD + b"\x00",                                 # trailing byte after the claims
    b"\xa2\x01\x61a\x01\x61b",                              # duplicate key
    b"\xbf\x01\x61a\xff",                                   # indefinite-length map
    b"\xa1\x08\x62\xff\xfe",                                # invalid UTF-8
    _nested_claims(40),                                     # nested too deep
    b"\xa1\x08\x9b\x00\x00\x00\xff\xff\xff\xff\xff",         # array claiming 2^40 items
    cbor2.dumps({1: 42}),                                   # iss must be text
    cbor2.dumps({4: "2030-01-01"}),                         # exp must be an integer
    cbor2.dumps({4: 1.5e9}),
    cbor2.dumps({6: -1}),
    cbor2.dumps({5: True}),
    cbor2.dumps({7: "not bytes"}),
    cbor2.dumps({b"k": 1}),                                 # keys are ints or text
    cbor2.dumps({1.5: 1}),
    cbor2.dumps({4: cbor2.CBORTag(1, 1893456000)}),         # a tagged date is not NumericDate
])
def test_bad_cwt(payload: bytes) -> None:
    assert _decode_error(_as_code(_sign1(GOOD_PROTECTED, b"\xa0", payload))) == "bad_cwt"


def test_nesting_within_the_limit_is_accepted() -> None:
    decoded = decode_city_code(_as_code(_sign1(GOOD_PROTECTED, b"\xa0", _nested_claims(10))))
    assert verify_city_code(decoded, PUBLIC)


# --- encoding refusals -------------------------------------------------------------------

@pytest.mark.parametrize(("claims", "kid", "seed", "field"), [
    (LICENSE_CLAIMS, KID[:7], SEED, "kid"),
    (LICENSE_CLAIMS, "kid" * 3, SEED, "kid"),
    (LICENSE_CLAIMS, KID, SEED[:31], "signing_key"),
    ([1, 2], KID, SEED, "claims"),
    ({4: 1.9e9}, KID, SEED, "claims"),
    ({6: True}, KID, SEED, "claims"),
    ({1: None}, KID, SEED, "claims"),
    ({(1, 2): 3}, KID, SEED, "claims"),
    ({8: object()}, KID, SEED, "claims"),
    ({8: os.urandom(3000)}, KID, SEED, "claims"),   # too big for a city code
])
def test_encode_refusals(claims: Any, kid: Any, seed: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        encode_city_code(claims, kid, seed)
    assert info.value.field == field


def test_verify_refuses_a_malformed_public_key() -> None:
    decoded = decode_city_code(_code())
    with pytest.raises(InvalidInput):
        verify_city_code(decoded, PUBLIC[:31])
