"""Reproducible build of the Solidity system contracts.

    python -m contracts.build          compile contracts/src into contracts/artifacts
    python -m contracts.build --check  recompile into a temporary directory and fail,
                                       naming each artifact, if it differs from the
                                       committed one

Compilation is done by contracts/compile.mjs with the solc-js version pinned in
contracts/package-lock.json, so Node.js is needed to build, never to use the chain.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CONTRACTS_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = CONTRACTS_DIR / "artifacts"
COMPILE_SCRIPT = CONTRACTS_DIR / "compile.mjs"
INSTALL_HINT = "run `npm ci --prefix contracts` (Node.js 20+ and npm needed)"


class BuildError(Exception):
    """The contracts could not be compiled; the message says what to do."""


def is_solc_installed() -> bool:
    return (CONTRACTS_DIR / "node_modules" / "solc" / "package.json").is_file()


def install_solc() -> None:
    """`npm ci` exactly the locked solc-js; does nothing if it is already there."""
    if is_solc_installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(f"npm is not on PATH; cannot install solc-js: {INSTALL_HINT}")
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CONTRACTS_DIR)
    if result.returncode != 0:
        raise BuildError(f"`npm ci` failed in {CONTRACTS_DIR} (exit {result.returncode})")


def compile_contracts(out_dir: Path) -> None:
    """Write one artifact per contract into `out_dir`, removing stale ones there."""
    node = shutil.which("node")
    if node is None:
        raise BuildError(f"node is not on PATH: {INSTALL_HINT}")
    if not is_solc_installed():
        raise BuildError(f"solc-js is not installed in contracts/node_modules: {INSTALL_HINT}")
    result = subprocess.run(
        [node, str(COMPILE_SCRIPT), "--out", str(out_dir)],
        cwd=CONTRACTS_DIR,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BuildError(f"compiling the contracts failed:\n{result.stderr}{result.stdout}")


def find_artifact_differences(committed_dir: Path, rebuilt_dir: Path) -> list[str]:
    """One readable line per artifact that is missing, extra or not byte-identical."""
    committed = {path.name: path for path in committed_dir.glob("*.json")}
    rebuilt = {path.name: path for path in rebuilt_dir.glob("*.json")}
    differences = []
    for name in sorted(committed.keys() | rebuilt.keys()):
        if name not in committed:
            differences.append(f"{name}: produced by the sources but not committed")
        elif name not in rebuilt:
            differences.append(f"{name}: committed but no source defines this contract")
        elif committed[name].read_bytes() != rebuilt[name].read_bytes():
            fields = _differing_fields(committed[name], rebuilt[name])
            differences.append(f"{name}: differs from the rebuild ({fields})")
    return differences


def _differing_fields(committed: Path, rebuilt: Path) -> str:
    try:
        old, new = json.loads(committed.read_text()), json.loads(rebuilt.read_text())
    except ValueError:
        return "committed file is not valid JSON"
    keys = sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
    return "fields: " + ", ".join(keys) if keys else "formatting only"


def check_artifacts() -> list[str]:
    """Rebuild into a temporary directory and compare with the committed artifacts."""
    with tempfile.TemporaryDirectory(prefix="citychain-contracts-") as tmp:
        rebuilt_dir = Path(tmp)
        compile_contracts(rebuilt_dir)
        return find_artifact_differences(ARTIFACTS_DIR, rebuilt_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contracts.build",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify that the committed artifacts are reproduced byte for byte",
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            differences = check_artifacts()
            if differences:
                print("contracts/artifacts is out of date with contracts/src:", file=sys.stderr)
                for line in differences:
                    print(f"  {line}", file=sys.stderr)
                print(
                    "run `python -m contracts.build` and commit contracts/artifacts",
                    file=sys.stderr,
                )
                return 1
            print("contracts/artifacts matches a rebuild of contracts/src")
            return 0
        install_solc()
        compile_contracts(ARTIFACTS_DIR)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"artifacts written to {ARTIFACTS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
