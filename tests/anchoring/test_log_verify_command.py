"""`citychain log verify` as an auditor runs it: vectors on stdin, one verdict per line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "rfc9162"


@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"shared test vectors not found at {VECTORS}")
def test_verdicts_for_vector_files_in_bulk() -> None:
    files = sorted(VECTORS.glob("inclusion/*/*.json")) + sorted(VECTORS.glob("consistency/*/*.json"))
    vectors = [json.loads(f.read_text()) for f in files]
    lines = "\n".join(json.dumps(v) for v in vectors) + "\n"
    result = subprocess.run([sys.executable, "-m", "chain.cli", "log", "verify"], input=lines,
                            capture_output=True, text=True, timeout=60)
    verdicts = result.stdout.splitlines()
    assert len(verdicts) == len(vectors)
    for vector, verdict, path in zip(vectors, verdicts, files, strict=True):
        if vector["wantErr"]:
            assert verdict.startswith("invalid:"), (path, verdict)
        else:
            assert verdict == "ok", (path, verdict)
    assert result.returncode == (1 if any(v["wantErr"] for v in vectors) else 0)


def test_a_malformed_line_is_named_and_exits_2() -> None:
    result = subprocess.run([sys.executable, "-m", "chain.cli", "log", "verify"], input="{not json\n",
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("error:") and result.returncode == 2
