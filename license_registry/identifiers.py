"""Identifiers of license holders and departments: validation, masking, salted hashes.

- Unified Social Credit Code (USCI, GB 32100-2015): organisations, including every
  department. Not personal data, so it is shown in full.
- Citizen ID number (GB 11643-1999, ISO 7064 MOD 11-2): personal data. It is kept only
  encrypted (``pii.py``); credentials and city codes carry a masked form and a salted hash.

Every function normalizes first (strip, uppercase), so ``11010519491231002x`` and
``11010519491231002X`` are the same person.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
from enum import StrEnum

from license_registry.errors import InvalidIdentifier, InvalidInput

USCI_LENGTH = 18
USCI_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z: they read as digits
USCI_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

CITIZEN_ID_LENGTH = 18
CITIZEN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CITIZEN_ID_CHECKS = "10X98765432"
# Birth years a license holder can have; anything else is a typo, not a person.
BIRTH_YEAR_RANGE = range(1900, 2100)

MIN_SALT_LENGTH = 16
MASK = "*"
CJK_START = 0x2E80  # CJK radicals onwards: names written without spaces


class HolderIdType(StrEnum):
    USCI = "USCI"
    CITIZEN_ID = "CITIZEN_ID"


def normalize_identifier(code: object, field: str) -> str:
    if not isinstance(code, str):
        raise InvalidIdentifier(f"{field} must be a string, got {type(code).__name__}",
                                field=field)
    return code.strip().upper()


@functools.lru_cache(maxsize=4096)  # issuers and holders recur; each check costs ~3 µs
def calculate_usci_check(body: str) -> str:
    """The 18th character for the first 17 (which must already be in the alphabet)."""
    total = sum(USCI_ALPHABET.index(c) * w for c, w in zip(body, USCI_WEIGHTS, strict=True))
    return USCI_ALPHABET[(31 - total % 31) % 31]  # 31 - 0 = 31 wraps to '0'


def validate_usci(code: object, field: str = "usci") -> str:
    """Return the normalized USCI, or raise InvalidIdentifier saying what is wrong."""
    if type(code) is str and len(code) <= 32:  # longer texts are refused, never kept
        valid = _valid_usci_text(code)
        if valid is not None:
            return valid
    return _checked_usci(code, field)  # raises, naming the field


# Issuers recur in every code a verifier scans: the check of a text is a pure function of
# it, so its outcome is remembered (a refusal as None, raised again with its field).
@functools.lru_cache(maxsize=4096)
def _valid_usci_text(code: str) -> str | None:
    try:
        return _checked_usci(code, "usci")
    except InvalidIdentifier:
        return None


def _checked_usci(code: object, field: str) -> str:
    usci = normalize_identifier(code, field)
    if len(usci) != USCI_LENGTH:
        raise InvalidIdentifier(
            f"{field} must be {USCI_LENGTH} characters, got {len(usci)}", field=field)
    for position, char in enumerate(usci, start=1):
        if char not in USCI_ALPHABET:
            raise InvalidIdentifier(
                f"{field} has {char!r} at position {position}; allowed are digits and "
                f"the letters {USCI_ALPHABET[10:]} (no I, O, S, V, Z)", field=field)
    expected = calculate_usci_check(usci[:17])
    if usci[17] != expected:
        raise InvalidIdentifier(
            f"{field} check character expected {expected!r} got {usci[17]!r}; "
            "re-read the code from the license", field=field)
    return usci


def calculate_citizen_id_check(body: str) -> str:
    """The 18th character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(body, CITIZEN_ID_WEIGHTS, strict=True))
    return CITIZEN_ID_CHECKS[total % 11]


def validate_citizen_id(code: object, field: str = "citizen_id") -> str:
    """Return the normalized citizen ID, or raise InvalidIdentifier saying what is wrong."""
    cid = normalize_identifier(code, field)
    if len(cid) != CITIZEN_ID_LENGTH:
        raise InvalidIdentifier(
            f"{field} must be {CITIZEN_ID_LENGTH} characters, got {len(cid)}", field=field)
    for position, char in enumerate(cid, start=1):
        allowed = "0123456789X" if position == CITIZEN_ID_LENGTH else "0123456789"
        if char not in allowed:
            what = "a digit or X" if position == CITIZEN_ID_LENGTH else "a digit"
            raise InvalidIdentifier(
                f"{field} has {char!r} at position {position}; it must be {what}", field=field)
    birth = cid[6:14]
    if not is_birth_date(birth):
        raise InvalidIdentifier(
            f"{field} has birth date {birth!r} in positions 7-14, which is not a date "
            f"YYYYMMDD with year {BIRTH_YEAR_RANGE.start}-{BIRTH_YEAR_RANGE.stop - 1}",
            field=field)
    expected = calculate_citizen_id_check(cid[:17])
    if cid[17] != expected:
        raise InvalidIdentifier(
            f"{field} check character expected {expected!r} got {cid[17]!r}; "
            "re-read the number from the ID card", field=field)
    return cid


def is_birth_date(text: str) -> bool:
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return False
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
    if year not in BIRTH_YEAR_RANGE:
        return False
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def parse_holder_id_type(kind: object, field: str = "holderIdType") -> HolderIdType:
    if isinstance(kind, str) and kind in set(HolderIdType):
        return HolderIdType(kind)
    allowed = ", ".join(t.value for t in HolderIdType)
    raise InvalidInput(f"{field} {kind!r} is not one of {allowed}", field=field)


def validate_holder_id(kind: HolderIdType | str, value: object,
                       field: str = "holderId") -> str:
    """The normalized identifier of a license holder of this kind."""
    if parse_holder_id_type(kind) is HolderIdType.USCI:
        return validate_usci(value, field)
    return validate_citizen_id(value, field)


def mask_identifier(kind: HolderIdType | str, value: object) -> str:
    """The form shown in credentials and codes: citizen IDs keep the region code and the
    last four characters (``110105********002X``), as ID numbers are printed on receipts."""
    holder_id = validate_holder_id(kind, value)
    if parse_holder_id_type(kind) is HolderIdType.USCI:
        return holder_id
    return holder_id[:6] + MASK * 8 + holder_id[-4:]


def mask_personal_name(name: str) -> str:
    """``张三`` → ``张*``, ``张小三``/``欧阳小明`` → ``张*三``/``欧*明``, ``John Smith`` → ``J*** Smith``.

    One mask character whatever the length, so the masked form does not tell the length.
    """
    words = name.split()
    if not words:
        return ""
    if len(words) > 1:  # Latin-script name: initial of the given name, full family name
        return words[0][0] + MASK * 3 + " " + words[-1]
    word = words[0]
    if all(ord(c) < CJK_START for c in word):  # alphabetic script: José → J***
        return word[0] + MASK * 3
    if len(word) == 1:
        return MASK
    if len(word) == 2:
        return word[0] + MASK
    return word[0] + MASK + word[-1]


def salted_hash(value: str, salt: bytes) -> str:
    """Hex HMAC-SHA256 of the value under a secret salt.

    Citizen IDs have little entropy (region, birth date, a 3-digit sequence), so with a
    known salt they are found by brute force in seconds: the salt is a secret of the
    registry, at least 16 bytes, never published with the hashes.
    """
    if len(salt) < MIN_SALT_LENGTH:
        raise InvalidInput(
            f"salt is {len(salt)} bytes; use a secret of at least {MIN_SALT_LENGTH} bytes",
            field="salt")
    if not any(salt):
        raise InvalidInput("salt is all zero bytes; configure a random secret", field="salt")
    return hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()


def calculate_holder_hash(kind: HolderIdType | str, value: object, salt: bytes) -> str:
    """The salted hash of a holder's normalized identifier (the credential subject id)."""
    return salted_hash(validate_holder_id(kind, value), salt)
