"""``citychain verify``: output and exit codes (0 valid, 1 invalid, 2 no verdict)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

import trust_api.client
from chain.cli import main
from tests.license_registry.test_trust_bundle import (
    BUNDLE,
    ISSUER,
    NOW,
    PLATFORM_KEY,
    REVOKED_INDEX,
    STRANGER,
    VERIFIER,
    make_city_code,
    make_credential,
)
from trust_api.verify_cli import verify_command

CODE = make_city_code()


@pytest.fixture
def bundle_file(tmp_path: Path) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(BUNDLE, ensure_ascii=False), encoding="utf-8")
    return path


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(verify_command, list(args), input=stdin)


def offline(bundle: Path, *args: str, key: str = PLATFORM_KEY.hex()) -> list[str]:
    return ["--offline", "--bundle", str(bundle), "--platform-key", key, "--now", str(NOW),
            *args]


def test_a_valid_code_prints_every_check_and_the_trust_data_age(bundle_file: Path) -> None:
    result = run(CODE, *offline(bundle_file, "--department", VERIFIER))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"VALID  CN-BL FZ-2024-000123 held by 91110000600037341L, issued by {ISSUER}"
    assert lines[1].split()[:3] == ["format", "pass", "-"]
    assert any(line.split()[:2] == ["anchoring", "skipped"] for line in lines)
    assert any(line.split()[:2] == ["recognition", "pass"] for line in lines)
    assert lines[-1] == "trust data age: 600 s (block 1234)"


def test_the_command_is_registered_in_the_main_cli(bundle_file: Path) -> None:
    result = CliRunner().invoke(main, ["verify", CODE, *offline(bundle_file)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("args", "reason"), [
    ((make_city_code(REVOKED_INDEX),), "revoked"),
    ((CODE, "--department", STRANGER), "not_recognized"),
    ((make_city_code(seed=bytes(32)),), "unknown_key"),
    (("CC1:NOT-A-CODE",), "bad_base45"),
])
def test_an_invalid_license_exits_1_naming_the_reason(bundle_file: Path, args: tuple[str, ...],
                                                      reason: str) -> None:
    result = run(args[0], *offline(bundle_file, *args[1:]))
    assert result.exit_code == 1, result.output
    assert result.output.startswith("INVALID")
    assert any(reason in line and "fail" in line.split() for line in result.output.splitlines())


def test_json_output_is_the_verdict(bundle_file: Path) -> None:
    result = run(make_city_code(REVOKED_INDEX), *offline(bundle_file, "--json"))
    assert result.exit_code == 1
    verdict = json.loads(result.output)
    assert (verdict["verdict"], verdict["mode"], verdict["reasons"]) == (
        "invalid", "offline", ["revoked"])
    assert verdict["trustBundle"]["ageSeconds"] == 600
    assert verdict["trustBundle"]["block"] == 1234


def test_a_code_or_a_credential_can_come_from_stdin_or_a_file(bundle_file: Path,
                                                              tmp_path: Path) -> None:
    assert run("-", *offline(bundle_file), stdin=CODE + "\n").exit_code == 0
    credential = tmp_path / "credential.json"
    credential.write_text(json.dumps(make_credential(), ensure_ascii=False), encoding="utf-8")
    result = run(str(credential), *offline(bundle_file, "--json"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["checks"][0]["detail"] == "credential"
    assert run("-", *offline(bundle_file), stdin=credential.read_text()).exit_code == 0


def test_bundle_warnings_are_shown(bundle_file: Path) -> None:
    result = run(CODE, *offline(bundle_file, "--now", str(NOW - 7200)))
    assert result.output.splitlines()[-1].startswith("warning: the bundle was generated")


@pytest.mark.parametrize(("make_args", "message"), [
    (lambda d: [CODE, "--offline", "--bundle", str(d / "missing.json"), "--platform-key",
                PLATFORM_KEY.hex()], "bundle file {d}/missing.json not found"),
    (lambda d: [CODE, "--offline", "--bundle", str(d / "bundle.json"), "--platform-key",
                "abc"], "--platform-key must be the platform's Ed25519 public key: 64 hex "
                        "digits (32 bytes); got 3 characters"),
    (lambda d: [CODE, "--offline", "--bundle", str(d / "bundle.json"), "--platform-key",
                "zz" * 32], "got 64 characters, not all hex"),
    (lambda d: [CODE, "--offline", "--bundle", str(d / "bundle.json"), "--platform-key",
                "00" * 32], "(bundle_signature_invalid)"),
    (lambda d: [CODE, "--offline", "--bundle", str(d / "not-json.json"), "--platform-key",
                PLATFORM_KEY.hex()], "bundle file {d}/not-json.json is not valid JSON"),
    (lambda d: [CODE, "--offline", "--bundle", str(d / "bundle.json")],
     "--offline needs --bundle FILE (the signed trust bundle) and --platform-key HEX"),
    (lambda d: [CODE, "--offline", "--bundle", str(d / "bundle.json"), "--platform-key",
                PLATFORM_KEY.hex(), "--department", "91350100M000100Y44"], "--department:"),
    (lambda d: [CODE, "--offline", "--bundle", str(d / "bundle.json"), "--platform-key",
                PLATFORM_KEY.hex(), "--max-age", "60", "--now", str(NOW)],
     "(bundle_too_old)"),
    (lambda d: [CODE, "--offline", "--bundle", str(d / "bundle.json"), "--platform-key",
                PLATFORM_KEY.hex(), "--api", "http://x"], "--api cannot be used with --offline"),
    (lambda d: [str(d / "no-credential.json"), "--offline", "--bundle", str(d / "bundle.json"),
                "--platform-key", PLATFORM_KEY.hex()],
     "credential file {d}/no-credential.json not found"),
    (lambda d: [str(d / "list.json"), "--offline", "--bundle", str(d / "bundle.json"),
                "--platform-key", PLATFORM_KEY.hex()], "holds a JSON list, not a credential"),
    (lambda d: [CODE], "give --offline with --bundle and --platform-key, or --api URL"),
    (lambda d: [CODE, "--api", "http://127.0.0.1:9"], "online verification needs --key-file"),
    (lambda d: [CODE, "--api", "http://127.0.0.1:9", "--key-file", str(d / "k"), "--department",
                VERIFIER], "--department cannot be used with online verification"),
], ids=["bundle missing", "key too short", "key not hex", "wrong platform key",
        "bundle not JSON", "no platform key", "bad department", "bundle too old",
        "online option offline", "credential missing", "credential not an object",
        "no mode", "no key file", "offline option online"])
def test_unusable_input_exits_2_saying_what_is_wrong(tmp_path: Path, bundle_file: Path,
                                                     make_args: Any, message: str) -> None:
    (tmp_path / "not-json.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    result = run(*make_args(tmp_path))
    assert result.exit_code == 2, result.output
    assert message.format(d=tmp_path) in result.output


def test_duplicate_json_keys_are_refused(tmp_path: Path, bundle_file: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text('{"id": "a", "id": "b"}')
    result = run(str(path), *offline(bundle_file))
    assert result.exit_code == 2
    assert "key 'id' appears twice" in result.output


# --- online mode: the trust API behind an in-memory transport --------------------------


def online_client(monkeypatch: pytest.MonkeyPatch, answer: httpx.Response,
                  seen: list[httpx.Request]) -> None:
    real = trust_api.client.TrustApiClient

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    def client(base_url: str, key: bytes) -> trust_api.client.TrustApiClient:
        return real(base_url, key, http=httpx.Client(transport=httpx.MockTransport(handler)))

    monkeypatch.setattr(trust_api.client, "TrustApiClient", client)


def test_online_mode_posts_a_signed_request(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    key_file = tmp_path / "account.key"
    key_file.write_text("0x" + "01" * 32 + "\n")
    verdict = {"verdict": "valid", "mode": "online", "reasons": [], "license": None,
               "checks": [{"name": "anchoring", "outcome": "pass", "reason": None,
                           "detail": "in checkpoint of size 17"}],
               "trustData": {"block": 1300, "blockTime": NOW, "ageSeconds": 2.5}}
    seen: list[httpx.Request] = []
    online_client(monkeypatch, httpx.Response(200, json=verdict), seen)
    result = run(CODE, "--api", "https://trust.city.example", "--key-file", str(key_file))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "trust data age: 2.5 s (block 1300)"
    assert seen[0].url.path == "/v1/verify"
    assert json.loads(seen[0].content) == {"cityCode": CODE}
    assert any(name.lower().startswith("x-") or name.lower() == "authorization"
               for name in seen[0].headers)


@pytest.mark.parametrize(("key_text", "answer", "message"), [
    ("01" * 32, httpx.Response(403, json={"code": "forbidden", "message": "not a verifier"}),
     "the trust API gave no verdict (HTTP 403): not a verifier"),
    ("01" * 32, httpx.Response(200, text="<html>"), "the trust API gave no verdict (HTTP 200)"),
    ("not a key", httpx.Response(200), "must be a secp256k1 private key"),
])
def test_online_failures_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_text: str,
                                answer: httpx.Response, message: str) -> None:
    key_file = tmp_path / "account.key"
    key_file.write_text(key_text)
    online_client(monkeypatch, answer, [])
    result = run(CODE, "--api", "https://trust.city.example", "--key-file", str(key_file))
    assert result.exit_code == 2, result.output
    assert message in result.output
