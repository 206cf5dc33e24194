"""Public resources: tokens, status lists, the trust bundle, health."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from license_registry.errors import Forbidden, NotFound
from license_registry.identifiers import validate_usci
from trust_api.auth import issue_token
from trust_api.deps import CallerDep, PlatformDep
from trust_api.status_store import latest_publication

router = APIRouter(tags=["public"])


@router.post("/v1/auth/token", tags=["auth"])
def token(caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """A short-lived bearer token, for a request signed by a department account."""
    if caller.auth.scheme != "signature":
        raise Forbidden("a token is obtained with a signed request, not with another token")
    now = int(time.time())
    ttl = platform.settings.token_ttl
    return {"token": issue_token(platform.token_secret, caller.address, now,
                                 ttl),
            "expiresAt": now + ttl, "department": caller.usci}


@router.get("/v1/status-lists/{department}/{number}/{purpose}")
def status_list(department: str, number: int, purpose: Literal["revocation", "suspension"],
                platform: PlatformDep) -> Response:
    usci = validate_usci(department, "department")
    with platform.engine.connect() as conn:
        text = latest_publication(conn, usci, number, purpose)
    if text is None:
        raise NotFound(f"no {purpose} list {number} has been published for {usci}")
    return Response(text, media_type="application/vc+ld+json")


@router.get("/v1/trust-bundle")
def trust_bundle(platform: PlatformDep) -> dict[str, Any]:
    """The signed trust bundle for offline verifiers."""
    return platform.bundles.current()


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def ready(request: Request, platform: PlatformDep) -> Response:
    try:
        snapshot = platform.trust.current()
    except Exception as exc:
        return Response(f'{{"status":"not ready","reason":"{type(exc).__name__}"}}',
                        status_code=503, media_type="application/json")
    age = time.time() - platform.trust.refreshed_at
    return Response(f'{{"status":"ready","block":{snapshot.block_number},'
                    f'"trustDataAgeSeconds":{age:.1f}}}', media_type="application/json")
