"""Human-readable reasons from EVM revert data (Error(string), Panic(uint256))."""

from __future__ import annotations

ERROR_SELECTOR = bytes.fromhex("08c379a0")
PANIC_SELECTOR = bytes.fromhex("4e487b71")

PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to a zero-initialized function",
}


def decode_revert_reason(data: bytes) -> str | None:
    """The reason string of ``Error(string)``, a description of ``Panic``, else None."""
    if data[:4] == ERROR_SELECTOR and len(data) >= 4 + 64:
        body = data[4:]
        offset = int.from_bytes(body[:32], "big")
        if offset + 32 > len(body):
            return None
        length = int.from_bytes(body[offset : offset + 32], "big")
        raw = body[offset + 32 : offset + 32 + length]
        if len(raw) != length:
            return None
        return raw.decode("utf-8", errors="replace")
    if data[:4] == PANIC_SELECTOR and len(data) == 36:
        code = int.from_bytes(data[4:], "big")
        return f"panic 0x{code:02x}: {PANIC_CODES.get(code, 'unknown panic code')}"
    return None
