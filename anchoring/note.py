"""C2SP signed-note: Ed25519 note signatures, cosignatures, and their keys.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <name> base64(key_id[4] ‖ signature)``. Keys travel as vkeys
``name+hex(key_id)+base64(type ‖ public key)`` (type 0x01 Ed25519 note key, 0x04
Ed25519 tlog cosignature key) and signing keys as Go's
``PRIVATE+KEY+name+hex(key_id)+base64(type ‖ seed)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from anchoring.errors import MalformedNote, SignatureError

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "— "
_MAX_SIGNATURES = 100


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard padded base64 (RFC 4648 §4) only; anything else is malformed."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise MalformedNote(f"{what} is not standard base64: {text!r}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise MalformedNote(f"{what} is not canonical base64: {text!r}")
    return raw


def validate_key_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise MalformedNote(f"key name {name!r} must be non-empty, without spaces or '+'")


def calculate_key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ alg ‖ public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    """What a tlog cosignature/v1 signs: header, time line, then the checkpoint body."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class Note:
    text: bytes
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        return self.text + b"\n" + "".join(s.line() for s in self.signatures).encode()


class Verifier(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True)
class Ed25519Verifier:
    """A note verifier key: type 0x01 signs the note text, 0x04 a cosignature/v1 message."""

    name: str
    public_key: bytes
    alg: int = ALG_ED25519

    def __post_init__(self) -> None:
        validate_key_name(self.name)
        if self.alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise MalformedNote(f"key type {self.alg:#04x} is not Ed25519 (0x01) or cosignature (0x04)")
        if len(self.public_key) != 32:
            raise MalformedNote(f"Ed25519 public key is {len(self.public_key)} bytes, want 32")

    @property
    def key_id(self) -> bytes:
        return calculate_key_id(self.name, self.alg, self.public_key)

    def vkey(self) -> str:
        blob = base64.b64encode(bytes([self.alg]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        if self.alg == ALG_COSIGNATURE_V1:
            if len(signature) != 8 + 64:
                return False
            timestamp = int.from_bytes(signature[:8], "big")
            if timestamp >= 2**63:
                return False
            message, signature = cosignature_message(text, timestamp), signature[8:]
        else:
            if len(signature) != 64:
                return False
            message = text
        try:
            VerifyKey(self.public_key).verify(message, signature)
        except BadSignatureError:
            return False
        return True


def parse_vkey(vkey: str) -> Ed25519Verifier:
    """Parse ``name+hex(key_id)+base64(type ‖ key)``; the key id must match."""
    parts = vkey.split("+", 2)
    if len(parts) != 3 or len(parts[1]) != 8:
        raise MalformedNote(f"verifier key {vkey!r} is not name+keyid+base64")
    name, hex_id, blob = parts
    raw = b64decode_strict(blob, "verifier key")
    if not raw:
        raise MalformedNote("verifier key has no key material")
    verifier = Ed25519Verifier(name, raw[1:], raw[0])
    if verifier.key_id.hex() != hex_id.lower() or hex_id != hex_id.lower():
        raise MalformedNote(f"verifier key {name!r}: key id {hex_id} does not match the key")
    return verifier


@dataclass(frozen=True)
class Ed25519Signer:
    """Signs notes (0x01) or, with ``alg=0x04``, tlog cosignatures at a given time."""

    name: str
    signing_key: SigningKey
    alg: int = ALG_ED25519

    def __post_init__(self) -> None:
        validate_key_name(self.name)

    @classmethod
    def generate(cls, name: str, alg: int = ALG_ED25519) -> Ed25519Signer:
        return cls(name, SigningKey.generate(), alg)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.name, bytes(self.signing_key.verify_key), self.alg)

    @property
    def key_id(self) -> bytes:
        return self.verifier().key_id

    def skey(self) -> str:
        blob = base64.b64encode(bytes([self.alg]) + bytes(self.signing_key)).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{blob}"

    def sign(self, text: bytes, timestamp: int | None = None) -> NoteSignature:
        """A signature on ``text``; cosigners need ``timestamp`` (no clock in here)."""
        validate_note_text(text)
        if self.alg == ALG_COSIGNATURE_V1:
            if timestamp is None or not 0 <= timestamp < 2**63:
                raise MalformedNote(f"a cosignature needs a timestamp in 0..2^63-1, got {timestamp}")
            sig = self.signing_key.sign(cosignature_message(text, timestamp)).signature
            return NoteSignature(self.name, self.key_id, timestamp.to_bytes(8, "big") + sig)
        return NoteSignature(self.name, self.key_id, self.signing_key.sign(text).signature)


def parse_skey(skey: str) -> Ed25519Signer:
    parts = skey.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise MalformedNote("signing key is not PRIVATE+KEY+name+keyid+base64")
    _, _, name, hex_id, blob = parts
    raw = b64decode_strict(blob, "signing key")
    if len(raw) != 33:
        raise MalformedNote(f"signing key material is {len(raw)} bytes, want 1 + 32")
    signer = Ed25519Signer(name, SigningKey(raw[1:]), raw[0])
    if signer.key_id.hex() != hex_id:
        raise MalformedNote(f"signing key {name!r}: key id {hex_id} does not match the key")
    return signer


def validate_note_text(text: bytes) -> None:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNote("note text is not UTF-8") from None
    if not decoded.endswith("\n"):
        raise MalformedNote("note text must end with a newline")
    if "\n\n" in decoded:
        raise MalformedNote("note text must not contain a blank line")
    if any((ord(ch) < 0x20 and ch != "\n") or ord(ch) == 0x7F for ch in decoded):
        raise MalformedNote("note text contains a control character")


def parse_note(message: bytes) -> Note:
    """Split a signed note into text and signature lines (no verification)."""
    split = message.rfind(b"\n\n")
    if split < 0:
        raise MalformedNote("note has no blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    validate_note_text(text)
    if not block.endswith(b"\n"):
        raise MalformedNote("note signatures must end with a newline")
    try:
        lines = block.decode("utf-8")[:-1].split("\n")
    except UnicodeDecodeError:
        raise MalformedNote("note signatures are not UTF-8") from None
    if len(lines) > _MAX_SIGNATURES:
        raise MalformedNote(f"note has {len(lines)} signatures, at most {_MAX_SIGNATURES}")
    signatures = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise MalformedNote(f"signature line {line!r} does not start with '— '")
        name, sep, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not sep:
            raise MalformedNote(f"signature line {line!r} has no base64 signature")
        validate_key_name(name)
        raw = b64decode_strict(blob, f"signature of {name!r}")
        if len(raw) < 5:
            raise MalformedNote(f"signature of {name!r} is too short")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return Note(text, tuple(signatures))


def open_note(message: bytes, verifiers: Iterable[Verifier]) -> tuple[Note, list[NoteSignature]]:
    """Parse and verify a note; return it with the signatures a trusted key verified.

    Signatures from unknown keys are ignored; a signature under a trusted name and
    key id that fails is an error (it is a forgery or corruption, not a stranger).
    """
    note = parse_note(message)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[NoteSignature] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(note.text, sig.signature):
            raise SignatureError(f"invalid signature by trusted key {sig.name!r} ({sig.key_id.hex()})")
        verified.append(sig)
    if not verified:
        raise SignatureError("no signature on the note is from a trusted key")
    return note, verified


def sign_note(text: bytes, signers: Sequence[Ed25519Signer], timestamp: int | None = None) -> bytes:
    return Note(text, tuple(s.sign(text, timestamp) for s in signers)).to_bytes()
