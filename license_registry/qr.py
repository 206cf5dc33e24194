"""QR symbols for city codes, as PNG (apps, print) and SVG (web pages).

The Base45 alphabet plus ``CC1:`` is exactly the QR alphanumeric character set, so the
symbol is forced into alphanumeric mode: 5.5 bits per character instead of 8 in byte
mode, which keeps a ~400-character code at a version phones scan easily.

Error correction: ``M`` for screens, ``Q`` for paper (creases, stains, toner). segno may
raise the level further when that fits in the same symbol version (``boost_error``), so
``error`` is the minimum, never a size cost.
"""

from __future__ import annotations

import io

import segno

from license_registry.errors import InvalidInput

ERROR_LEVELS = ("L", "M", "Q", "H")
SCREEN_ERROR = "M"
PAPER_ERROR = "Q"
QUIET_ZONE_MODULES = 4  # ISO/IEC 18004 minimum; scanners miss codes without it

_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def build_qr(code: str, *, error: str = SCREEN_ERROR) -> segno.QRCode:
    """The QR symbol of ``code`` in alphanumeric mode with at least ``error`` correction."""
    validate_qr_input(code, error)
    try:
        return segno.make_qr(code, error=error, mode="alphanumeric")
    except segno.DataOverflowError as exc:
        raise InvalidInput(
            f"a code of {len(code)} characters does not fit in a QR symbol at level {error}",
            field="code",
        ) from exc


def render_png(code: str, *, scale: int = 4, error: str = SCREEN_ERROR) -> bytes:
    """PNG bytes of the QR symbol; ``scale`` is pixels per module."""
    validate_scale(scale)
    out = io.BytesIO()
    build_qr(code, error=error).save(out, kind="png", scale=scale, border=QUIET_ZONE_MODULES)
    return out.getvalue()


def render_svg(code: str, *, scale: int = 4, error: str = SCREEN_ERROR) -> str:
    """An SVG document of the QR symbol; ``scale`` is user units per module."""
    validate_scale(scale)
    out = io.BytesIO()
    build_qr(code, error=error).save(out, kind="svg", scale=scale, border=QUIET_ZONE_MODULES,
                                     xmldecl=False, encoding="utf-8")
    return out.getvalue().decode("utf-8")


def validate_qr_input(code: str, error: str) -> None:
    if error not in ERROR_LEVELS:
        raise InvalidInput(f"error correction must be one of {ERROR_LEVELS}; got {error!r}",
                           field="error")
    if not isinstance(code, str) or not code:
        raise InvalidInput("the QR content must be a non-empty string", field="code")
    if not _ALPHANUMERIC.issuperset(code):
        bad = sorted(set(code) - _ALPHANUMERIC)
        raise InvalidInput(
            f"characters {bad!r} are outside the QR alphanumeric set; pass a Base45 city "
            "code (CC1:...)",
            field="code",
        )


def validate_scale(scale: int) -> None:
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= 64:
        raise InvalidInput(f"scale must be an integer from 1 to 64 pixels per module; got {scale!r}",
                           field="scale")
