"""``citychain audit verify``: exit 0 valid, 1 invalid (failures listed), 2 unreadable."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audit_trail.cli import audit
from chain.cli import main

from .samples import T0
from .test_report import REPORT, SELECTED, TRACES, VKEY

NOW = str(T0 + 300_000)


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(audit, ["verify", *args], input=stdin)


def write(tmp_path: Path, document: object, name: str = "report.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_a_valid_report_exits_0(tmp_path: Path) -> None:
    result = run(write(tmp_path, REPORT), "--now", NOW, "--log-key", VKEY)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"VALID  Food lot LOT-2024-0001, full trace: {len(SELECTED)} entries proven in the "
        "checkpoint of size 40")
    assert "block 42" in result.output
    assert "pin it with --log-key" not in result.output


def test_the_citychain_command_has_the_audit_group(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "verify", write(tmp_path, REPORT), "--now", NOW])
    assert result.exit_code == 0, result.output
    assert "the log key was taken from the report; pin it with --log-key" in result.output


def test_an_invalid_report_exits_1_listing_each_failure(tmp_path: Path) -> None:
    report = copy.deepcopy(REPORT)
    report["entries"][1]["entry"]["time"] += 1
    report["entries"][3]["entry"]["time"] += 1
    result = run(write(tmp_path, report), "--now", NOW)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == "INVALID  Food lot LOT-2024-0001, full trace: 2 failures"
    for line, n in zip(lines[1:], (1, 3), strict=True):
        event = TRACES[SELECTED[n]]
        assert line.startswith(f"  bad_proof             index {SELECTED[n]} seq {event.seq} "
                               f"id {event.event_id}: ")


def test_json_output(tmp_path: Path) -> None:
    report = copy.deepcopy(REPORT)
    report["anchor"]["blockNumber"] = 43
    report["anchor"]["size"] = 39
    result = run(write(tmp_path, report), "--json", "--now", NOW)
    assert result.exit_code == 1
    verdict = json.loads(result.output)
    assert (verdict["verdict"], [f["code"] for f in verdict["failures"]],
            verdict["anchoredBlock"]) == ("invalid", ["anchored_root_differs"], 43)


def test_standard_input(tmp_path: Path) -> None:
    result = run("-", "--now", NOW, stdin=json.dumps(REPORT))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("content", "message"), [
    (None, "not found"),
    ("{not json", "is not JSON"),
    ("[]", "is not an audit report: report must be a JSON object"),
    (json.dumps({**REPORT, "anchor": None}), "is not an audit report: report.anchor"),
    (b"\xff\xfe", "cannot read"),
])
def test_unreadable_input_exits_2_saying_why(tmp_path: Path, content: str | bytes | None,
                                             message: str) -> None:
    path = tmp_path / "report.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 2
    assert message in result.output
