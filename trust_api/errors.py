"""Errors mapped once, at the edge: domain and auth errors to HTTP statuses and bodies.

Every body is ``{"error": {"code", "message", "fields": [{"field", "message"}]}}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from license_registry.errors import (
    Conflict,
    Forbidden,
    FormatError,
    IllegalTransition,
    InvalidInput,
    LicenseError,
    NotFound,
)
from trust_api.auth import AuthError, NonceStoreFull
from trust_api.trust_state import TrustDataUnavailable

log = logging.getLogger("citychain.trust_api")

STATUS = [
    (InvalidInput, 400), (FormatError, 400), (NotFound, 404), (Forbidden, 403),
    (IllegalTransition, 409), (Conflict, 409), (LicenseError, 400),
]


def error_body(code: str, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "fields": fields or []}}


def status_of(exc: LicenseError) -> int:
    return next(status for kind, status in STATUS if isinstance(exc, kind))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LicenseError)
    async def _domain(_request: Request, exc: LicenseError) -> JSONResponse:
        fields = [{"field": exc.field, "message": exc.message}] if exc.field else []
        return JSONResponse(error_body(exc.code, exc.message, fields), status_code=status_of(exc))

    @app.exception_handler(AuthError)
    async def _auth(_request: Request, exc: AuthError) -> JSONResponse:
        fields = [{"field": exc.header, "message": exc.message}] if exc.header else []
        return JSONResponse(error_body(exc.code, exc.message, fields), status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="citychain"'})

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = []
        for error in exc.errors():
            location = [str(p) for p in error.get("loc", ()) if p != "body"]
            fields.append({"field": ".".join(location) or "body", "message": str(error.get("msg"))})
        message = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        return JSONResponse(error_body("invalid_request", message or "invalid request", fields),
                            status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(TrustDataUnavailable)
    async def _unavailable(_request: Request, exc: TrustDataUnavailable) -> JSONResponse:
        return JSONResponse(error_body("trust_data_unavailable", str(exc)), status_code=503)

    @app.exception_handler(RecursionError)
    async def _nested(_request: Request, exc: RecursionError) -> JSONResponse:
        return JSONResponse(error_body("invalid_request", "the JSON body is nested too deeply"),
                            status_code=400)

    @app.exception_handler(NonceStoreFull)
    async def _busy(_request: Request, exc: NonceStoreFull) -> JSONResponse:
        return JSONResponse(error_body("busy", str(exc)), status_code=503,
                            headers={"Retry-After": "1"})
