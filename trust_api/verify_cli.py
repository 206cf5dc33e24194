"""``citychain verify``: the verdict on a city code or a credential, offline or online.

Offline (``--offline``) needs only a signed trust bundle and the platform's public key,
as a verifier app without a network would; online asks the trust API (``POST /v1/verify``),
which also checks that the credential is anchored in its issuer's log.

Exit code 0: valid; 1: invalid; 2: no verdict, because an input or option is wrong (the
message on stderr says which and what to do).

The command shell reads files, the clock and the network; the verification itself is the
pure ``license_registry`` code. Those imports are deferred so that every other
``citychain`` command starts without loading them.
"""

from __future__ import annotations

import json
import string
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

PREFIX = "CC1:"
EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
_HEX_DIGITS = frozenset(string.hexdigits)


class InputError(click.ClickException):
    """No verdict: an input or option is wrong. Exit code 2, like click's usage errors."""

    exit_code = EXIT_USAGE


@click.command("verify")
@click.argument("code_or_file")
@click.option("--offline", is_flag=True, help="Verify against a signed trust bundle, no network.")
@click.option("--bundle", "bundle_path", type=click.Path(path_type=Path),
              help="Offline: the trust bundle JSON file (GET /v1/trust-bundle).")
@click.option("--platform-key", help="Offline: the platform's Ed25519 public key, 64 hex digits.")
@click.option("--department", help="Offline: USCI of the verifying department, to check "
                                   "mutual recognition.")
@click.option("--now", type=int, help="Offline: unix seconds to verify at (default: the clock).")
@click.option("--max-age", type=int, help="Offline: refuse a bundle older than this (seconds).")
@click.option("--api", "api_url", help="Online: the trust API base URL.")
@click.option("--key-file", type=click.Path(path_type=Path),
              help="Online: file with the hex private key of a department account (requests "
                   "are signed; recognition is judged for that department).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def verify_command(code_or_file: str, offline: bool, bundle_path: Path | None,
                   platform_key: str | None, department: str | None, now: int | None,
                   max_age: int | None, api_url: str | None, key_file: Path | None,
                   as_json: bool) -> None:
    """Verify CODE_OR_FILE: a CC1: city code, - for standard input, or a credential file."""
    if offline:
        _refuse_options("--offline", {"--api": api_url, "--key-file": key_file})
        if bundle_path is None or platform_key is None:
            raise InputError("--offline needs --bundle FILE (the signed trust bundle) and "
                             "--platform-key HEX (the platform's Ed25519 public key)")
        presentation = read_presentation(code_or_file)
        verdict = verify_offline(presentation, bundle_path, platform_key, department, now,
                                 max_age)
    else:
        if api_url is None:
            raise InputError("give --offline with --bundle and --platform-key, or --api URL "
                             "with --key-file to ask the trust API")
        _refuse_options("online verification (--api)", {
            "--bundle": bundle_path, "--platform-key": platform_key, "--department": department,
            "--now": now, "--max-age": max_age})
        if key_file is None:
            raise InputError("online verification needs --key-file: the trust API answers "
                             "requests signed by a department account only")
        presentation = read_presentation(code_or_file)
        verdict = verify_online(presentation, api_url, key_file)
    click.echo(json.dumps(verdict, ensure_ascii=False, indent=2) if as_json
               else render_verdict(verdict))
    click.get_current_context().exit(EXIT_VALID if verdict.get("verdict") == "valid"
                                     else EXIT_INVALID)


def read_presentation(argument: str) -> str | dict[str, Any]:
    """A city code, or a credential object, from the argument, stdin (``-``) or a file."""
    if argument.startswith(PREFIX):
        return argument
    if argument == "-":
        source = "standard input"
        text = sys.stdin.read()
    else:
        source = f"credential file {argument}"
        text = _read_text(Path(argument), source,
                          hint=f"pass a {PREFIX} city code, - for standard input, or a file")
    text = text.strip()
    if text.startswith(PREFIX):
        return text  # a file or pipe may carry a scanned code too
    value = _parse_json(text, source)
    if not isinstance(value, dict):
        raise InputError(f"{source} holds a JSON {type(value).__name__}, not a credential "
                         "object")
    return value


def verify_offline(presentation: str | Mapping[str, Any], bundle_path: Path,
                   platform_key: str, department: str | None, now: int | None,
                   max_age: int | None) -> dict[str, Any]:
    from license_registry.errors import LicenseError
    from license_registry.identifiers import validate_usci
    from license_registry.trust_bundle import OfflineVerifier

    key = _parse_hex_key(platform_key, "--platform-key", "the platform's Ed25519 public key")
    if department is not None:
        try:
            department = validate_usci(department, "--department")
        except LicenseError as exc:
            raise InputError(f"--department: {exc.message}") from None
    source = f"bundle file {bundle_path}"
    bundle = _parse_json(_read_text(bundle_path, source, hint="download it from "
                                    "/v1/trust-bundle"), source)
    if not isinstance(bundle, dict):
        raise InputError(f"{source} holds a JSON {type(bundle).__name__}, not a trust bundle")
    at = int(time.time()) if now is None else now
    try:
        verifier = OfflineVerifier(bundle, key, max_age=max_age)
        verifier.opened(at)  # refuses a bundle older than --max-age
    except LicenseError as exc:
        raise InputError(f"{source}: {exc.message} ({exc.code})") from None
    try:
        return verifier.verify(presentation, at, department).to_json()
    except LicenseError as exc:  # a malformed license is a verdict; this is anything else
        raise InputError(f"cannot verify: {exc.message} ({exc.code})") from None


def verify_online(presentation: str | Mapping[str, Any], api_url: str,
                  key_file: Path) -> dict[str, Any]:
    import httpx

    from trust_api.client import TrustApiClient

    source = f"key file {key_file}"
    key = _parse_hex_key(_read_text(key_file, source, hint="pass the account's key file"),
                         source, "a secp256k1 private key")
    body = ({"cityCode": presentation} if isinstance(presentation, str)
            else {"credential": dict(presentation)})
    try:
        with TrustApiClient(api_url, key) as client:
            response = client.post("/v1/verify", json=body)
    except ValueError as exc:  # a malformed base URL or an out-of-range key
        raise InputError(f"--api / --key-file: {exc}") from None
    except httpx.HTTPError as exc:
        raise InputError(f"cannot reach the trust API at {api_url}: {exc}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict) or "verdict" not in answer:
        detail = answer.get("message", answer) if isinstance(answer, dict) else response.text
        raise InputError(f"the trust API gave no verdict (HTTP {response.status_code}): "
                         f"{str(detail)[:500]}")
    return answer


def render_verdict(verdict: Mapping[str, Any]) -> str:
    """The verdict for people: the result, each check, and how old the trust data is."""
    lic = verdict.get("license")
    head = "VALID" if verdict.get("verdict") == "valid" else "INVALID"
    if isinstance(lic, Mapping):
        head += (f"  {lic.get('licenseType')} {lic.get('licenseNumber')} held by "
                 f"{lic.get('holder')}, issued by {lic.get('issuer')}")
    lines = [head]
    for check in verdict.get("checks", []):
        line = (f"  {check.get('name', ''):<15}{check.get('outcome', ''):<9}"
                f"{check.get('reason') or '-':<24}{check.get('detail') or ''}")
        lines.append(line.rstrip())
    # Offline the age is the bundle's; online it is the server's cached chain data.
    bundle = verdict.get("trustBundle")
    data = bundle if isinstance(bundle, Mapping) else verdict.get("trustData") or {}
    lines.append(f"trust data age: {data.get('ageSeconds', '?')} s "
                 f"(block {data.get('block', '?')})")
    lines.extend(f"warning: {w}" for w in (bundle or {}).get("warnings", []))
    return "\n".join(lines)


def _refuse_options(mode: str, options: Mapping[str, object]) -> None:
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise InputError(f"{', '.join(given)} cannot be used with {mode}")


def _read_text(path: Path, source: str, *, hint: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{source} not found; {hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {source}: {exc}") from None


def _parse_json(text: str, source: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # Two values for one key would let two readers see two different documents.
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"key {key!r} appears twice")
            result[key] = value
        return result

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{source} is not valid JSON: {exc}") from None


def _parse_hex_key(text: str, source: str, what: str) -> bytes:
    digits = text.strip().removeprefix("0x")
    if len(digits) != 64 or not _HEX_DIGITS.issuperset(digits):
        raise InputError(f"{source} must be {what}: 64 hex digits (32 bytes); got "
                         f"{len(digits)} characters"
                         + ("" if _HEX_DIGITS.issuperset(digits) else ", not all hex"))
    return bytes.fromhex(digits)
