"""USCI (GB 32100) and citizen ID (GB 11643) validation, masking and salted hashes."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from license_registry.errors import InvalidIdentifier, InvalidInput
from license_registry.identifiers import (
    CITIZEN_ID_CHECKS,
    USCI_ALPHABET,
    HolderIdType,
    calculate_citizen_id_check,
    calculate_holder_hash,
    calculate_usci_check,
    mask_identifier,
    mask_personal_name,
    parse_holder_id_type,
    salted_hash,
    validate_citizen_id,
    validate_holder_id,
    validate_usci,
)

USCI_SAMPLES = ["91350100M000100Y43", "91110000600037341L"]
CITIZEN_ID = "11010519491231002X"
SALT = bytes(range(1, 17))


@pytest.mark.parametrize(("text", "expected"), [
    ("91350100M000100Y43", "91350100M000100Y43"),
    ("91110000600037341L", "91110000600037341L"),
    ("91110000600037341l", "91110000600037341L"),  # lowercase normalized
    ("  91350100m000100y43\n", "91350100M000100Y43"),  # stripped too
    ("91350100M000100220", "91350100M000100220"),  # check 31 wraps to '0'
])
def test_valid_usci_is_normalized(text: str, expected: str) -> None:
    assert validate_usci(text) == expected


@pytest.mark.parametrize(("body", "check"), [
    ("91350100M000100Y4", "3"), ("91110000600037341", "L"), ("91350100M00010022", "0"),
])
def test_calculate_usci_check(body: str, check: str) -> None:
    assert calculate_usci_check(body) == check


@pytest.mark.parametrize(("text", "message"), [
    ("", "usci must be 18 characters, got 0"),
    ("91350100M000100Y4", "usci must be 18 characters, got 17"),
    ("91350100M000100Y433", "usci must be 18 characters, got 19"),
    ("91350100M000100Y44", "usci check character expected '3' got '4'; "
                           "re-read the code from the license"),
    ("91350100I000100Y43", "usci has 'I' at position 9; allowed are digits and the letters "
                           "ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z)"),
    ("91350100M000100O43", "usci has 'O' at position 16; allowed are digits and the letters "
                           "ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z)"),
    ("S1350100M000100Y43", "usci has 'S' at position 1; allowed are digits and the letters "
                           "ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z)"),
    ("91350100M000100Y4V", "usci has 'V' at position 18; allowed are digits and the letters "
                           "ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z)"),
    ("9135010-M000100Y43", "usci has '-' at position 8; allowed are digits and the letters "
                           "ABCDEFGHJKLMNPQRTUWXY (no I, O, S, V, Z)"),
    (91350100, "usci must be a string, got int"),
])
def test_invalid_usci_says_what_is_wrong(text: object, message: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_usci(text)
    assert caught.value.message == message
    assert caught.value.field == "usci"
    assert caught.value.code == "invalid_identifier"


def test_usci_field_name_is_reported() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_usci("Z", field="issuerUsci")
    assert caught.value.field == "issuerUsci"
    assert str(caught.value) == "issuerUsci must be 18 characters, got 1"


def test_remembered_outcomes_change_no_answer() -> None:
    # Outcomes are remembered per text: asked again, with another field name, the same
    # normalized value or the same refusal, naming the field asked about.
    for _ in range(2):
        assert validate_usci(" 91350100m000100y43 ") == "91350100M000100Y43"
        for field in ("usci", "issuerUsci", "holder"):
            with pytest.raises(InvalidIdentifier) as caught:
                validate_usci("91350100M000100Y44", field=field)
            assert caught.value.field == field
            assert caught.value.message.startswith(f"{field} check character expected")
    with pytest.raises(InvalidIdentifier, match="must be 18 characters, got 40"):
        validate_usci("9" * 40)  # too long to be remembered, refused all the same


@pytest.mark.parametrize("valid", USCI_SAMPLES)
def test_every_single_character_change_of_a_usci_is_refused(valid: str) -> None:
    # Weights are non-zero mod the prime 31, so any one substitution changes the check.
    for position in range(18):
        for char in USCI_ALPHABET + "IOSVZ":
            if char != valid[position]:
                changed = valid[:position] + char + valid[position + 1:]
                with pytest.raises(InvalidIdentifier):
                    validate_usci(changed)


@pytest.mark.parametrize(("text", "expected"), [
    (CITIZEN_ID, CITIZEN_ID),
    ("11010519491231002x", CITIZEN_ID),
    (" 11010519491231002X ", CITIZEN_ID),
    ("110105200002290013", "110105200002290013"),  # leap day
])
def test_valid_citizen_id_is_normalized(text: str, expected: str) -> None:
    assert validate_citizen_id(text) == expected


@pytest.mark.parametrize(("body", "check"), [
    ("11010519491231002", "X"), ("11010520000229001", "3"), ("11010519490231002", "6"),
])
def test_calculate_citizen_id_check(body: str, check: str) -> None:
    assert calculate_citizen_id_check(body) == check


def _with_check(body: str) -> str:
    return body + calculate_citizen_id_check(body)


@pytest.mark.parametrize(("text", "message"), [
    ("1101051949123100", "citizen_id must be 18 characters, got 16"),
    ("11010519491231002X1", "citizen_id must be 18 characters, got 19"),
    ("110105194912310021", "citizen_id check character expected 'X' got '1'; "
                           "re-read the number from the ID card"),
    ("11010519491231002Y", "citizen_id has 'Y' at position 18; it must be a digit or X"),
    ("1101051949123100X2", "citizen_id has 'X' at position 17; it must be a digit"),
    ("I1010519491231002X", "citizen_id has 'I' at position 1; it must be a digit"),
    ("110105194O1231002X", "citizen_id has 'O' at position 10; it must be a digit"),
    ("11010519491231Z02X", "citizen_id has 'Z' at position 15; it must be a digit"),
    ("11010519491231002\u0661", "citizen_id has '\u0661' at position 18; "
                                "it must be a digit or X"),  # Arabic-Indic one is not ASCII
    (_with_check("11010519490231002"), "citizen_id has birth date '19490231' in positions "
                                       "7-14, which is not a date YYYYMMDD with year 1900-2099"),
    (_with_check("11010519491301001"), "citizen_id has birth date '19491301' in positions "
                                       "7-14, which is not a date YYYYMMDD with year 1900-2099"),
    (_with_check("11010519491200001"), "citizen_id has birth date '19491200' in positions "
                                       "7-14, which is not a date YYYYMMDD with year 1900-2099"),
    (_with_check("11010519000229001"), "citizen_id has birth date '19000229' in positions "
                                       "7-14, which is not a date YYYYMMDD with year 1900-2099"),
    (_with_check("11010518991231001"), "citizen_id has birth date '18991231' in positions "
                                       "7-14, which is not a date YYYYMMDD with year 1900-2099"),
    (None, "citizen_id must be a string, got NoneType"),
])
def test_invalid_citizen_id_says_what_is_wrong(text: object, message: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_citizen_id(text)
    assert caught.value.message == message
    assert caught.value.field == "citizen_id"


def test_every_single_character_change_of_a_citizen_id_is_refused() -> None:
    # MOD 11-2 weights are non-zero mod the prime 11: one substitution never still checks.
    for position in range(18):
        for char in "0123456789X" + "IOSVZ":
            if char != CITIZEN_ID[position]:
                changed = CITIZEN_ID[:position] + char + CITIZEN_ID[position + 1:]
                with pytest.raises(InvalidIdentifier):
                    validate_citizen_id(changed)


def test_every_check_character_occurs() -> None:
    bodies = [f"1101051990010100{n}" for n in range(10)] + [
        f"110105199001010{n}0" for n in range(10)]
    assert {calculate_citizen_id_check(b) for b in bodies} == set(CITIZEN_ID_CHECKS)


@pytest.mark.parametrize(("kind", "value", "expected"), [
    (HolderIdType.CITIZEN_ID, CITIZEN_ID, "110105********002X"),
    ("CITIZEN_ID", "11010519491231002x", "110105********002X"),
    (HolderIdType.USCI, "91350100m000100y43", "91350100M000100Y43"),  # not personal: in full
])
def test_mask_identifier(kind: str, value: str, expected: str) -> None:
    assert mask_identifier(kind, value) == expected


def test_mask_identifier_refuses_an_invalid_identifier() -> None:
    with pytest.raises(InvalidIdentifier, match="check character expected 'X' got '1'"):
        mask_identifier(HolderIdType.CITIZEN_ID, "110105194912310021")


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"),
    ("张小三", "张*三"),
    ("欧阳小明", "欧*明"),
    ("王", "*"),
    ("John Smith", "J*** Smith"),
    ("Mary Ann Smith", "M*** Smith"),
    ("Madonna", "M***"),
    ("José", "J***"),
    ("  ", ""),
])
def test_mask_personal_name(name: str, masked: str) -> None:
    assert mask_personal_name(name) == masked


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("USCI", "91110000600037341l", "91110000600037341L"),
    (HolderIdType.CITIZEN_ID, "11010519491231002x", CITIZEN_ID),
])
def test_validate_holder_id_dispatches_on_kind(kind: str, value: str, expected: str) -> None:
    assert validate_holder_id(kind, value) == expected


def test_holder_id_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="holderId check character expected 'B' got 'X'"):
        validate_holder_id(HolderIdType.USCI, CITIZEN_ID)
    with pytest.raises(InvalidInput) as caught:
        parse_holder_id_type("PASSPORT")
    assert caught.value.message == "holderIdType 'PASSPORT' is not one of USCI, CITIZEN_ID"


def test_salted_hash_is_hmac_sha256() -> None:
    # RFC 4231 test case 1 (HMAC-SHA-256).
    expected = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert salted_hash("Hi There", b"\x0b" * 20) == expected


def test_holder_hash_is_of_the_normalized_identifier() -> None:
    assert (calculate_holder_hash("CITIZEN_ID", "11010519491231002x", SALT)
            == salted_hash(CITIZEN_ID, SALT))
    assert salted_hash(CITIZEN_ID, SALT) != salted_hash(CITIZEN_ID, SALT[::-1])


@pytest.mark.parametrize(("salt", "message"), [
    (b"", "salt is 0 bytes; use a secret of at least 16 bytes"),
    (b"x" * 15, "salt is 15 bytes; use a secret of at least 16 bytes"),
    (bytes(32), "salt is all zero bytes; configure a random secret"),
])
def test_weak_salts_are_refused(salt: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        salted_hash(CITIZEN_ID, salt)
    assert caught.value.message == message


@given(st.text(alphabet=USCI_ALPHABET, min_size=17, max_size=17))
def test_any_usci_body_with_its_check_is_valid(body: str) -> None:
    usci = body + calculate_usci_check(body)
    assert validate_usci(usci.lower()) == usci
    assert mask_identifier(HolderIdType.USCI, usci) == usci


@given(st.text(alphabet="0123456789", min_size=6, max_size=6),
       st.dates(datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)),
       st.text(alphabet="0123456789", min_size=3, max_size=3))
def test_any_citizen_id_with_its_check_is_valid(region: str, birth: datetime.date,
                                                sequence: str) -> None:
    body = region + birth.strftime("%Y%m%d") + sequence
    citizen_id = body + calculate_citizen_id_check(body)
    assert validate_citizen_id(citizen_id) == citizen_id
    masked = mask_identifier(HolderIdType.CITIZEN_ID, citizen_id)
    assert masked == region + "********" + citizen_id[-4:]
