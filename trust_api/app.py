"""``create_app(settings)``: the trust API. Nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from trust_api.errors import error_body, install_error_handlers
from trust_api.platform import Platform
from trust_api.routes import audit, credit, keys, licenses, public, verify
from trust_api.settings import Settings

log = logging.getLogger("citychain.trust_api")


def create_app(settings: Settings, *, platform: Platform | None = None) -> FastAPI:
    platform = platform or Platform(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            platform.trust.refresh(force=True)
        except Exception as exc:  # the chain may start later: the refresher keeps trying
            log.warning("no trust snapshot yet: %s", exc)
        if settings.run_workers:
            platform.start_workers()
        yield
        platform.stop()

    app = FastAPI(
        title="citychain trust API",
        version="1.0",
        description=(
            "E-licenses as W3C Verifiable Credentials and QR city codes: issue, verify online "
            "and offline, revoke and suspend, rotate keys, mutual recognition. Every caller "
            "signs its requests with an account registered on chain for its department "
            "(X-CityChain-* headers) or uses a short-lived token from POST /v1/auth/token."),
        lifespan=lifespan,
    )
    app.state.platform = platform
    install_error_handlers(app)

    @app.middleware("http")
    async def limit_body(request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if "\x00" in request.scope["path"]:  # no id has one; PostgreSQL text cannot hold one
            return JSONResponse(error_body("not_found", "no resource has a NUL character in "
                                           "its path"), status_code=404)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return JSONResponse(error_body(
                "too_large", f"request bodies are limited to {settings.max_body_bytes} bytes"),
                status_code=413)
        return await call_next(request)

    for module in (public, keys, licenses, verify, credit, audit):
        app.include_router(module.router)
    return app
