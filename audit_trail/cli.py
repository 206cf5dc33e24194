"""``citychain audit``: re-verify an audit report offline.

Exit code 0: valid; 1: invalid (each failure listed, naming the entries at fault);
2: no verdict, because the file cannot be read or is not an audit report.

Only click is imported here: ``chain.cli`` registers this group at start-up, and every
other ``citychain`` command should not pay for loading the verification code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


class UnreadableReport(click.ClickException):
    """No verdict: the input is not a readable audit report (exit code 2)."""

    exit_code = EXIT_UNREADABLE


@click.group("audit")
def audit() -> None:
    """Regulator audits of the trace and data-exchange logs."""


@audit.command("verify")
@click.argument("report_path", metavar="REPORT",
                type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.option("--log-key", help="The log's verifier key (name+keyid+base64) from a trusted "
                                "source; without it the key in the report is used.")
@click.option("--now", type=int, help="Unix seconds to verify at (default: the clock).")
def verify_command(report_path: Path, as_json: bool, log_key: str | None,
                   now: int | None) -> None:
    """Verify REPORT (a JSON audit report, or - for standard input) offline: checkpoint
    signature, each entry's inclusion proof, the anchored root, consistency proofs."""
    import time

    from audit_trail.report import verify_report
    from license_registry.errors import FormatError

    source = "standard input" if str(report_path) == "-" else f"report file {report_path}"
    try:
        text = sys.stdin.read() if str(report_path) == "-" else report_path.read_text("utf-8")
    except FileNotFoundError:
        raise UnreadableReport(f"{source} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableReport(f"cannot read {source}: {exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UnreadableReport(f"{source} is not JSON: {exc}") from None
    try:
        verdict = verify_report(document, now=int(time.time()) if now is None else now,
                                log_key=log_key)
    except FormatError as exc:
        raise UnreadableReport(f"{source} is not an audit report: {exc.message}") from None
    if as_json:
        click.echo(json.dumps(verdict.to_json(), ensure_ascii=False, indent=2))
    else:
        title = document.get("title")
        if verdict.valid:
            click.echo(f"VALID  {title}: {verdict.entries_verified} entries proven in the "
                       f"checkpoint of size {verdict.checkpoint_size}")
            click.echo(f"  checked offline; confirm on chain that block "
                       f"{verdict.anchored_block} anchors this log at that size and root")
            if log_key is None:  # a forger could sign a report with a key of their own
                click.echo("  the log key was taken from the report; pin it with --log-key")
        else:
            click.echo(f"INVALID  {title}: {len(verdict.failures)} failures")
            for failure in verdict.failures:
                where = " ".join(f"{name} {value}" for name, value in (
                    ("index", failure.index), ("seq", failure.seq), ("id", failure.entry_id))
                    if value is not None)
                click.echo(f"  {failure.code:<22}{where + ': ' if where else ''}"
                           f"{failure.detail}")
    click.get_current_context().exit(EXIT_VALID if verdict.valid else EXIT_INVALID)
