"""JSON Canonicalization Scheme (RFC 8785): the byte form that credential proofs sign.

``rfc8785`` does the canonical serialization (key order by UTF-16 code units, ECMAScript
number formatting). This module adds the project's stricter input rules before it runs:

* no floats anywhere — a float in a credential is a bug (``1.0`` canonicalizes to ``1``,
  so two different documents sign the same bytes, and other JCS libraries disagree on
  edge cases such as ``1e21`` and ``-0.0``);
* integers only within the IEEE 754 safe range ±(2^53 − 1), as every JSON verifier reads
  numbers as doubles;
* only JSON types: ``dict`` with ``str`` keys, ``list``/``tuple``, ``str``, ``int``,
  ``bool`` and ``None``;
* nesting at most ``MAX_DEPTH`` levels, so hostile input cannot exhaust the stack.

Errors are :class:`~license_registry.errors.FormatError` naming the JSON path at fault,
e.g. ``$.credentialSubject.score``.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

import rfc8785

from license_registry.errors import FormatError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 64

_IDENTIFIER = re.compile(r"[A-Za-z_@][A-Za-z0-9_@]*")
_FAST_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True,
                              separators=(",", ":"), check_circular=False).encode
_ASTRAL_UTF8 = re.compile(rb"[\xf0-\xf7]")  # lead byte of a character beyond U+FFFF

# A failure found by the walk: the path from the root (keys and indices) and the problem.
_Problem = tuple[list[str | int], str]


def canonicalize(obj: object) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``obj``; FormatError if it is not strict JSON."""
    problem = _find_problem(obj, 0)
    if problem is not None:
        path, reason = problem
        raise FormatError(
            f"{format_json_path(path)}: {reason}; credentials carry only strings, safe "
            "integers, booleans, null, arrays and objects with string keys",
            field=format_json_path(path),
            code="non_canonical_json",
        )
    # Fast path: for values that passed the walk, the C JSON encoder writes the same bytes
    # as RFC 8785 (same escapes, integers in decimal, no spaces) EXCEPT for key order when
    # a key holds a character beyond U+FFFF (UTF-16 order differs from code point order
    # only there), and it does not reject lone surrogates (encode() does). Either case
    # takes rfc8785's path, as does everything before this fast path existed.
    try:
        data = _FAST_JSON(obj).encode("utf-8")
    except UnicodeEncodeError:
        pass  # a lone surrogate: rfc8785 refuses it below
    else:
        if _ASTRAL_UTF8.search(data) is None:
            return data
    try:
        return rfc8785.dumps(cast(Any, obj))  # the walk above checked every value
    except (rfc8785.CanonicalizationError, UnicodeError) as exc:
        # Left after the walk: strings that are not valid Unicode (lone surrogates).
        raise FormatError(
            f"cannot canonicalize the document: {exc}; use valid Unicode strings only",
            code="non_canonical_json",
        ) from exc


def is_canonical_json(obj: object) -> bool:
    """True when ``obj`` passes the input rules of :func:`canonicalize`."""
    return _find_problem(obj, 0) is None


def format_json_path(path: list[str | int]) -> str:
    """``["a", 0, "b c"]`` -> ``$.a[0]["b c"]`` (JSONPath, as people read it in messages)."""
    parts = ["$"]
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _IDENTIFIER.fullmatch(step):
            parts.append(f".{step}")
        else:
            parts.append(f"[{json.dumps(step, ensure_ascii=False)}]")
    return "".join(parts)


def _find_problem(value: object, depth: int) -> _Problem | None:
    """The first value ``canonicalize`` refuses, or None.

    The path is built only on failure (children prepend nothing when all is well), so the
    walk over a valid credential costs one type check per value.
    """
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, int):  # also bool, and IntEnum members, which serialize as ints
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return None
        return [], f"integer {value} is outside the safe range ±(2^53 - 1); encode it as a string"
    if isinstance(value, float):
        return [], f"float {value!r} is not allowed; use an integer or a decimal string"
    if depth >= MAX_DEPTH:
        return [], f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return [], f"object key {key!r} is not a string"
            problem = _find_problem(item, depth + 1)
            if problem is not None:
                problem[0].insert(0, key)
                return problem
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problem = _find_problem(item, depth + 1)
            if problem is not None:
                problem[0].insert(0, index)
                return problem
        return None
    return [], f"{type(value).__name__} is not a JSON type"
