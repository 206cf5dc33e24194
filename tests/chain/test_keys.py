"""Keys at rest: encrypted keystore, passphrase from env, dev keys marked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chain.keys import PASSPHRASE_ENV, KeyError_, load_private_key, write_dev_key, write_keystore

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


def test_keystore_round_trip_and_file_is_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_keystore(path, KEY, "correct horse battery")
    text = path.read_text()
    assert KEY.hex() not in text and json.loads(text)["crypto"]["kdf"]
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_private_key(path, "correct horse battery") == KEY


def test_passphrase_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k.json"
    write_keystore(path, KEY, "from the environment")
    monkeypatch.setenv(PASSPHRASE_ENV, "from the environment")
    assert load_private_key(path) == KEY


def test_wrong_passphrase_short_passphrase_and_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_keystore(path, KEY, "the right one!")
    with pytest.raises(KeyError_, match="wrong passphrase"):
        load_private_key(path, "the wrong one")
    with pytest.raises(KeyError_, match="at least 8"):
        write_keystore(tmp_path / "short.json", KEY, "short")
    with pytest.raises(KeyError_, match="cannot read"):
        load_private_key(tmp_path / "absent.json", "x")
    (tmp_path / "garbage.json").write_text("{")
    with pytest.raises(KeyError_, match="not JSON"):
        load_private_key(tmp_path / "garbage.json", "x")


def test_dev_keys_are_marked_and_load_without_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    write_dev_key(path, KEY)
    document = json.loads(path.read_text())
    assert document["devOnly"] is True and "DEV ONLY" in document["warning"]
    assert load_private_key(path) == KEY
