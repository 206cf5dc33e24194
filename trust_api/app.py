"""``create_app(settings)``: the trust API. Nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from trust_api.errors import install_error_handlers
from trust_api.limits import RequestLimits, bound_recursion
from trust_api.platform import Platform
from trust_api.routes import audit, credit, keys, licenses, public, verify
from trust_api.settings import Settings

log = logging.getLogger("citychain.trust_api")


def create_app(settings: Settings, *, platform: Platform | None = None) -> FastAPI:
    bound_recursion()
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

    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes)

    # Verification first: it is the most frequent request, and routes are matched in
    # order (no other path can match /v1/verify, so the order changes no routing).
    for module in (verify, public, keys, licenses, credit, audit):
        app.include_router(module.router)
    return app
