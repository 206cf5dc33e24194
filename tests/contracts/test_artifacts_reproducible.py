"""The committed artifacts are what the pinned solc-js makes of contracts/src."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import build
from contracts.artifacts import Artifact, UnknownArtifactError, list_artifacts, load_artifact

REPO_ROOT = build.CONTRACTS_DIR.parent


def test_committed_artifacts_are_reproduced_byte_for_byte() -> None:
    # CI installs node_modules; a missing toolchain is a failure, never a skip.
    if shutil.which("node") is None or not build.is_solc_installed():
        pytest.fail(f"cannot check the contract artifacts: {build.INSTALL_HINT}")
    result = subprocess.run(
        [sys.executable, "-m", "contracts.build", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_every_source_contract_has_an_artifact() -> None:
    assert {
        "AnchorRegistry",
        "CityAdministration",
        "CityRegistry",
        "DepartmentRegistry",
        "MutualRecognition",
        "NoticeBoard",
        "Permissioning",
        "StatusRegistry",
        "TrustList",
    } <= set(list_artifacts())


def test_load_artifact_returns_code_and_abi() -> None:
    artifact = load_artifact("Permissioning")
    assert isinstance(artifact, Artifact)
    assert artifact.name == "Permissioning"
    # Creation code carries the runtime code it returns, and is longer.
    assert artifact.deployed_bytecode in artifact.bytecode
    assert len(artifact.bytecode) > len(artifact.deployed_bytecode) > 0
    assert any(entry.get("name") == "setAccountRole" for entry in artifact.abi)


@pytest.mark.parametrize("name", ["Nope", "../Permissioning", ""])
def test_load_artifact_names_the_available_ones_for_an_unknown_name(name: str) -> None:
    with pytest.raises(UnknownArtifactError, match="available: AnchorRegistry, .*, NoticeBoard, Permissioning, "):
        load_artifact(name)


def _write(folder: Path, name: str, artifact: dict) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps(artifact, indent=2, sort_keys=True) + "\n")


def test_differences_name_each_artifact_and_field(tmp_path: Path) -> None:
    committed, rebuilt = tmp_path / "committed", tmp_path / "rebuilt"
    same = {"contractName": "Same", "bytecode": "0x00"}
    _write(committed, "Same.json", same)
    _write(rebuilt, "Same.json", same)
    _write(committed, "Changed.json", {"bytecode": "0x01", "abi": []})
    _write(rebuilt, "Changed.json", {"bytecode": "0x02", "abi": []})
    _write(committed, "Removed.json", same)
    _write(rebuilt, "Added.json", same)

    assert build.find_artifact_differences(committed, rebuilt) == [
        "Added.json: produced by the sources but not committed",
        "Changed.json: differs from the rebuild (fields: bytecode)",
        "Removed.json: committed but no source defines this contract",
    ]


def test_reformatted_artifact_is_a_difference(tmp_path: Path) -> None:
    committed, rebuilt = tmp_path / "committed", tmp_path / "rebuilt"
    _write(rebuilt, "A.json", {"bytecode": "0x01"})
    committed.mkdir()
    (committed / "A.json").write_text(json.dumps({"bytecode": "0x01"}))
    assert build.find_artifact_differences(committed, rebuilt) == [
        "A.json: differs from the rebuild (formatting only)"
    ]
