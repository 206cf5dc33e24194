"""Node keys at rest: the standard encrypted Ethereum keystore (eth-account).

Dev keys are the one exception: stored in clear, and marked ``"devOnly": true``
so that nothing mistakes them for production keys.
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

from eth_account import Account

PASSPHRASE_ENV = "CITYCHAIN_KEY_PASSPHRASE"


class KeyError_(ValueError):
    """A key file cannot be read or decrypted; the message says why."""


def write_keystore(path: Path, private_key: bytes, passphrase: str) -> None:
    if len(passphrase) < 8:
        raise KeyError_("the keystore passphrase must be at least 8 characters")
    document = Account.encrypt(private_key, passphrase)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    path.chmod(0o600)


def write_dev_key(path: Path, private_key: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "devOnly": True,
        "warning": "DEV ONLY: this private key is public. Never use it on a real network.",
        "address": Account.from_key(private_key).address,
        "privateKey": "0x" + private_key.hex(),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def load_private_key(path: Path, passphrase: str | None = None) -> bytes:
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise KeyError_(f"cannot read key file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise KeyError_(f"key file {path} is not JSON: {exc}") from exc
    if isinstance(document, dict) and document.get("devOnly") is True:
        try:
            return bytes.fromhex(str(document["privateKey"]).removeprefix("0x"))
        except (KeyError, ValueError) as exc:
            raise KeyError_(f"dev key file {path} has no valid privateKey") from exc
    if passphrase is None:
        passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase is None:
        passphrase = getpass.getpass(f"Passphrase for {path}: ")
    try:
        return bytes(Account.decrypt(document, passphrase))
    except ValueError as exc:
        raise KeyError_(f"cannot decrypt keystore {path}: wrong passphrase or damaged file") from exc
