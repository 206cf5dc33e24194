"""JCS (RFC 8785) canonicalization with the project's no-float, safe-integer rules."""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from license_registry.errors import FormatError
from license_registry.jcs import MAX_DEPTH, MAX_SAFE_INTEGER, canonicalize, is_canonical_json

json_values = st.recursive(
    st.none() | st.booleans() | st.text()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children,
                                                                       max_size=4),
    max_leaves=20,
)


@pytest.mark.parametrize(("value", "expected"), [
    ({"b": 1, "a": 2}, '{"a":2,"b":1}'),
    ({"a": {"z": None, "y": [True, False]}}, '{"a":{"y":[true,false],"z":null}}'),
    ([], "[]"),
    ({}, "{}"),
    ((1, 2), "[1,2]"),
    ("\u20ac\n\t\"\\", '"\u20ac\\n\\t\\"\\\\"'),
    ("\u000f\u001f", '"\\u000f\\u001f"'),
    ("\U0001f600", '"\U0001f600"'),
    (MAX_SAFE_INTEGER, "9007199254740991"),
    (-MAX_SAFE_INTEGER, "-9007199254740991"),
    (0, "0"),
    ({"@context": ["https://www.w3.org/ns/credentials/v2"]},
     '{"@context":["https://www.w3.org/ns/credentials/v2"]}'),
])
def test_canonical_bytes(value: object, expected: str) -> None:
    assert canonicalize(value) == expected.encode("utf-8")


def test_keys_sort_by_utf16_code_units_rfc8785_example() -> None:
    # RFC 8785 §3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16 order,
    # although it is larger as a code point — the json.dumps(sort_keys=True) pitfall.
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6,
             "\u00f6": 7}
    keys = list(json.loads(canonicalize(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(("value", "path"), [
    (1.0, "$"),
    (-0.0, "$"),
    (1e16, "$"),
    ({"a": 1.5}, "$.a"),
    ({"a": [1, {"b": 2.0}]}, "$.a[1].b"),
    ({"credentialSubject": {"score": 0.5}}, "$.credentialSubject.score"),
    ({"a b": [0, 0.1]}, '$["a b"][1]'),
    ({"@context": [1.0]}, "$.@context[0]"),
    (2**53, "$"),
    (-(2**53), "$"),
    ({"n": [10**20]}, "$.n[0]"),
    ({1: "x"}, "$"),
    ({"a": {None: 1}}, "$.a"),
    ({"a": b"bytes"}, "$.a"),
    ({"a": {1, 2}}, "$.a"),
    ({"t": datetime.datetime(2025, 1, 1)}, "$.t"),
])
def test_refuses_non_json_values_naming_the_path(value: object, path: str) -> None:
    with pytest.raises(FormatError) as info:
        canonicalize(value)
    assert info.value.code == "non_canonical_json"
    assert info.value.field == path
    assert info.value.message.startswith(path)
    assert not is_canonical_json(value)


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_limit() -> None:
    assert canonicalize(_nested(MAX_DEPTH)).startswith(b"[" * MAX_DEPTH)
    with pytest.raises(FormatError, match="nested deeper"):
        canonicalize(_nested(MAX_DEPTH + 1))
    with pytest.raises(FormatError):
        canonicalize(_nested(5000))  # would overflow the stack without the limit


def test_lone_surrogate_is_a_format_error() -> None:
    with pytest.raises(FormatError) as info:
        canonicalize({"a": "\ud800"})
    assert info.value.code == "non_canonical_json"


def test_enum_members_serialize_as_plain_values() -> None:
    import enum

    class Purpose(enum.StrEnum):
        REVOCATION = "revocation"

    class Level(enum.IntEnum):
        HIGH = 3

    assert canonicalize({Purpose.REVOCATION: Level.HIGH}) == b'{"revocation":3}'


@given(json_values)
def test_canonical_form_parses_back_and_is_a_fixed_point(value: object) -> None:
    text = canonicalize(value)
    parsed = json.loads(text)
    assert canonicalize(parsed) == text
    assert parsed == json.loads(json.dumps(value))  # tuples become lists, nothing else changes


@given(st.dictionaries(st.text(), st.integers(-5, 5), min_size=2, max_size=6))
def test_key_order_does_not_change_the_bytes(value: dict[str, int]) -> None:
    reversed_value = dict(reversed(list(value.items())))
    assert canonicalize(reversed_value) == canonicalize(value)
