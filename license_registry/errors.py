"""One small error hierarchy: each error has a stable ``code`` and says what to do."""

from __future__ import annotations


class LicenseError(Exception):
    """Base: a request the domain refuses. ``code`` is stable; ``field`` names the input at fault."""

    code = "license_error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class InvalidInput(LicenseError):
    """Malformed or out-of-range input (HTTP 400)."""

    code = "invalid_input"


class InvalidIdentifier(InvalidInput):
    code = "invalid_identifier"


class IllegalTransition(LicenseError):
    """A lifecycle change the license's state does not allow (HTTP 409)."""

    code = "illegal_transition"


class NotFound(LicenseError):
    code = "not_found"


class Forbidden(LicenseError):
    """The caller is authenticated but not entitled (HTTP 403)."""

    code = "forbidden"


class Conflict(LicenseError):
    code = "conflict"


class FormatError(LicenseError):
    """A credential, city code, status list or bundle that cannot be parsed or verified."""

    code = "format_error"
