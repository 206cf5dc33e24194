"""``citychain log verify``: check proofs given as transparency-dev test-vector JSON lines.

Each input line is one JSON object. Inclusion: ``leafIdx``, ``treeSize``, ``root``,
``proof`` and either ``leafHash`` or ``leaf`` (entry bytes, hashed here), all hashes
base64. Consistency: ``size1``, ``size2``, ``root1``, ``root2``, ``proof``. Other
keys (``desc``, ``wantErr``) are ignored. One verdict per line: ``ok``,
``invalid: <reason>: <detail>`` or ``error: <what is malformed>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from anchoring.errors import InvalidProof
from anchoring.merkle import leaf_hash, verify_consistency, verify_inclusion


class _Malformed(Exception):
    pass


def _b64(obj: dict[str, Any], key: str) -> bytes:
    value = obj.get(key)
    if not isinstance(value, str):
        raise _Malformed(f"{key!r} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Malformed(f"{key!r} is not base64") from None


def _size(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Malformed(f"{key!r} must be an integer")
    return value


def _proof(obj: dict[str, Any]) -> list[bytes]:
    value = obj.get("proof", [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed("'proof' must be a list of base64 strings")
    return [_b64({"proof[]": item}, "proof[]") for item in value]


def verify_vector(obj: Any) -> str:
    """The verdict for one decoded JSON object."""
    try:
        if not isinstance(obj, dict):
            raise _Malformed("line is not a JSON object")
        if "leafIdx" in obj:
            leaf = _b64(obj, "leafHash") if "leafHash" in obj else leaf_hash(_b64(obj, "leaf"))
            verify_inclusion(leaf, _size(obj, "leafIdx"), _size(obj, "treeSize"), _proof(obj),
                             _b64(obj, "root"))
        elif "size1" in obj:
            verify_consistency(_size(obj, "size1"), _size(obj, "size2"), _proof(obj),
                               _b64(obj, "root1"), _b64(obj, "root2"))
        else:
            raise _Malformed("neither an inclusion (leafIdx) nor a consistency (size1) vector")
    except _Malformed as err:
        return f"error: {err}"
    except InvalidProof as err:
        return f"invalid: {err}"
    return "ok"


def verify_vector_lines(lines: Iterable[str]) -> list[str]:
    """One verdict per non-blank input line."""
    verdicts = []
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            verdicts.append(f"error: not JSON ({err.msg} at column {err.colno})")
            continue
        verdicts.append(verify_vector(obj))
    return verdicts


def main(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Print verdicts; exit 0 if all ok, 1 if any proof is invalid, 2 if any line is malformed."""
    verdicts = verify_vector_lines(stdin)
    for verdict in verdicts:
        stdout.write(verdict + "\n")
    if any(v.startswith("error:") for v in verdicts):
        return 2
    return 1 if any(v.startswith("invalid:") for v in verdicts) else 0


if __name__ == "__main__":
    raise SystemExit(main())
