"""Compiled system contracts, shipped with the package: no Node.js needed to use them.

>>> load_artifact("Permissioning").name
'Permissioning'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

_ARTIFACTS_PACKAGE = "contracts"
_ARTIFACTS_FOLDER = "artifacts"
_CONTRACT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UnknownArtifactError(LookupError):
    """No artifact has the requested contract name."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = available
        super().__init__(
            f"no compiled contract named {name!r}; available: {', '.join(available) or 'none'}."
            " A new contract needs `python -m contracts.build` and its artifact committed."
        )


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    """Creation code: run it (with ABI-encoded constructor arguments appended) to deploy."""
    deployed_bytecode: bytes
    """Runtime code, as stored at the contract's address."""


def list_artifacts() -> list[str]:
    folder = resources.files(_ARTIFACTS_PACKAGE).joinpath(_ARTIFACTS_FOLDER)
    if not folder.is_dir():
        return []
    return sorted(
        entry.name.removesuffix(".json")
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    )


def load_artifact(name: str) -> Artifact:
    """The compiled contract `name` (e.g. "Permissioning"); UnknownArtifactError if none."""
    entry = resources.files(_ARTIFACTS_PACKAGE).joinpath(_ARTIFACTS_FOLDER, f"{name}.json")
    if not _CONTRACT_NAME.match(name) or not entry.is_file():
        raise UnknownArtifactError(name, list_artifacts())
    data = json.loads(entry.read_text(encoding="utf-8"))
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=_hex_to_bytes(data["bytecode"]),
        deployed_bytecode=_hex_to_bytes(data["deployedBytecode"]),
    )


def _hex_to_bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))
