"""The audit report as one standalone HTML page, for people who do not read JSON.

Everything from the report is escaped (entries carry free text from departments), the
page loads nothing (no scripts, styles inline, a CSP that forbids fetching), and it
shows what the JSON holds without judging it: validity is ``verify_report``'s word.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from audit_trail.report import VERIFY_COMMAND
from license_registry.errors import LicenseError
from license_registry.presented import datetime_text

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ddd;padding:.3em .5em;
text-align:left;vertical-align:top}th{background:#f4f4f4}code,pre{font-size:.85em;
word-break:break-all;white-space:pre-wrap}.bad{color:#a00}.good{color:#060}
"""
_ENTRY_COLUMNS = ("kind", "seq", "eventId", "time", "subject", "eventType", "decision")


def render_report_html(report: Mapping[str, Any]) -> str:
    """The page for a report (as built by ``build_report``; odd values are shown as-is)."""
    title = _text(report.get("title", "Audit report"))
    anchor, log = _mapping(report.get("anchor")), _mapping(report.get("log"))
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">",
        f"<title>{title}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p>Generated {_text(report.get('generatedAt'))} · {_text(report.get('type'))} "
        f"version {_text(report.get('version'))}</p>",
        "<h2>Query</h2>", _pairs(_mapping(report.get("query"))),
        "<h2>Log and checkpoint</h2>",
        _pairs({"origin": log.get("origin"), "verifier key": log.get("verifierKey")}),
        f"<pre>{_text(report.get('checkpoint'))}</pre>",
        "<h2>Anchored on chain</h2>",
        _pairs({"block": anchor.get("blockNumber"), "size": anchor.get("size"),
                "root (base64)": anchor.get("root"), "transaction": anchor.get("transaction")}),
        "<h2>Earlier anchors (consistency proofs)</h2>",
        _table(("size", "root (base64)", "block", "proof hashes"),
               ([c.get("size"), c.get("root"), c.get("blockNumber"), len(c.get("proof") or [])]
                for c in _mappings(report.get("consistency")))),
        f"<h2>Entries ({len(_mappings(report.get('entries')))})</h2>",
        _entries(_mappings(report.get("entries"))),
        "<h2>Findings</h2>", _findings(report),
        "<h2>How to re-verify</h2>", _how_to(report, anchor, log),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _entries(entries: list[Mapping[str, Any]]) -> str:
    rows = []
    for item in entries:
        entry = _mapping(item.get("entry"))
        subject = entry.get("subjectHash") or " ".join(
            str(entry[k]) for k in ("subjectKind", "subjectId") if k in entry)
        shown = {**entry, "subject": subject, "time": _when(entry.get("time"))}
        cells = [item.get("index"), *(shown.get(column) for column in _ENTRY_COLUMNS)]
        full = json.dumps(entry, ensure_ascii=False, indent=2, sort_keys=True)
        rows.append("<tr>" + "".join(f"<td>{_text(c)}</td>" for c in cells)
                    + f"<td><details><summary>JSON</summary><pre>{escape(full)}</pre>"
                    "</details></td></tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in ("index", *_ENTRY_COLUMNS, "entry"))
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>" if rows else "<p>None.</p>"


def _findings(report: Mapping[str, Any]) -> str:
    findings = _mappings(report.get("findings"))
    if not findings:
        return '<p class="good">None: the audit found the log consistent with its anchors.</p>'
    return '<p class="bad">The audit found problems:</p>' + _table(
        ("code", "index", "seq", "entry id", "checkpoint size", "detail"),
        ([f.get("code"), f.get("index"), f.get("seq"), f.get("entryId"), f.get("size"),
          f.get("detail")] for f in findings))


def _how_to(report: Mapping[str, Any], anchor: Mapping[str, Any],
            log: Mapping[str, Any]) -> str:
    steps = [
        f"Save the JSON report and run <code>{escape(VERIFY_COMMAND)}</code>: it checks the "
        "checkpoint signature, each entry's inclusion proof and the consistency proofs, "
        "offline.",
        "Pin the log key from a source other than this report: <code>--log-key "
        f"{_text(log.get('verifierKey'))}</code> must be the key the log publishes.",
        f"On the chain, the AnchorRegistry entry of log id SHA-256(\"{_text(log.get('origin'))}"
        f"\") at size {_text(anchor.get('size'))} (block {_text(anchor.get('blockNumber'))}) "
        f"must hold root {_text(anchor.get('root'))}.",
        "By hand: an entry's leaf hash is SHA-256(0x00 ‖ JCS(entry)) (RFC 8785, RFC 9162); "
        "its proof leads to the checkpoint root (RFC 9162 §2.1.3.2).",
    ]
    return "<ol>" + "".join(f"<li>{step}</li>" for step in steps) + "</ol>"


def _pairs(values: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{_text(v)}</td></tr>"
                   for k, v in values.items() if v is not None)
    return f"<table>{rows}</table>" if rows else "<p>None.</p>"


def _table(head: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    body = "".join("<tr>" + "".join(f"<td>{_text(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    if not body:
        return "<p>None.</p>"
    return "<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + f"</tr>{body}</table>"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) \
        else []


def _when(value: object) -> object:
    """Unix seconds as UTC date and time, the way the rest of the platform shows them."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime_text(value)
        except LicenseError:  # out of range: shown as the number it is
            pass
    return value


def _text(value: object) -> str:
    """Any JSON value as escaped text (strings as they are, the rest as JSON)."""
    if value is None:
        return ""
    return escape(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
