"""``citychain log verify``: one verdict per JSON line."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

from anchoring.merkle import build_inclusion_proof, leaf_hash, root_from_leaf_hashes
from anchoring.verify_cli import main, verify_vector_lines

from .test_merkle_vectors import STRICTER_THAN_VECTORS


def test_every_vector_file_gets_the_expected_verdict(vectors_dir: Path) -> None:
    paths = sorted(vectors_dir.glob("inclusion/**/*.json")) + sorted(vectors_dir.glob("consistency/**/*.json"))
    lines = [json.dumps(json.loads(p.read_text())) for p in paths]
    verdicts = verify_vector_lines(lines)
    assert len(verdicts) == len(paths)
    for path, line, verdict in zip(paths, lines, verdicts, strict=True):
        rel = path.relative_to(vectors_dir).as_posix()
        want_err = json.loads(line)["wantErr"] or rel in STRICTER_THAN_VECTORS
        assert verdict.startswith("invalid: ") if want_err else verdict == "ok", (rel, verdict)


def test_leaf_data_malformed_lines_and_exit_codes() -> None:
    tree = [leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]
    good = {
        "leafIdx": 1, "treeSize": 3, "leaf": base64.b64encode(b"b").decode(),
        "root": base64.b64encode(root_from_leaf_hashes(tree)).decode(),
        "proof": [base64.b64encode(p).decode() for p in build_inclusion_proof(1, tree)],
    }
    out = io.StringIO()
    assert main(io.StringIO(json.dumps(good) + "\n\n"), out) == 0
    assert out.getvalue() == "ok\n"
    bad = dict(good, leafIdx=2)
    out = io.StringIO()
    assert main(io.StringIO(json.dumps(bad) + "\n"), out) == 1
    assert out.getvalue().startswith("invalid: wrong_proof_length")
    verdicts = verify_vector_lines(["{", "[]", '{"x": 1}', '{"leafIdx": "1"}', '{"size1": 1, "root1": "!"}'])
    assert all(v.startswith("error: ") for v in verdicts), verdicts
    assert main(io.StringIO("{\n"), io.StringIO()) == 2
