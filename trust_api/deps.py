"""Request dependencies: the platform services and the authenticated caller."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from license_registry.errors import Forbidden
from license_registry.trust import DepartmentInfo, TrustSnapshot
from trust_api.auth import AuthenticatedCaller, authenticate

if TYPE_CHECKING:
    from trust_api.platform import Platform

ROLE_NAMES = {1: "ISSUER", 2: "VERIFIER", 4: "REGULATOR", 8: "BANK", 16: "SERVICE_MODULE"}


async def get_platform(request: Request) -> Platform:
    # async: FastAPI runs a plain-def dependency in the thread pool, a hop per request.
    return request.app.state.platform  # type: ignore[no-any-return]


PlatformDep = Annotated["Platform", Depends(get_platform)]


@dataclass(frozen=True)
class Caller:
    auth: AuthenticatedCaller
    department: DepartmentInfo
    # The trust snapshot the caller was authorized against; a route may judge with it too
    # (one snapshot for the whole request).
    snapshot: TrustSnapshot

    @property
    def address(self) -> bytes:
        return self.auth.address

    @property
    def usci(self) -> str:
        return self.department.usci

    def require(self, role: int, doing: str) -> None:
        if not self.department.has_roles(role):
            raise Forbidden(
                f"{doing} needs the {ROLE_NAMES[role]} role; department {self.usci} does not "
                "hold it on chain (DepartmentRegistry)", code="missing_role")


async def get_caller(request: Request) -> Caller:
    platform: Platform = request.app.state.platform
    body = await request.body()
    settings = platform.settings
    arguments = (
        # The path as sent (decoded, with its root path): request.url would re-parse a
        # decoded "?" or "#" inside an id and sign-check a truncated path.
        request.headers, request.method,
        request.scope.get("root_path", "") + request.scope["path"], request.url.query,
        body, int(time.time()), platform.nonces, platform.token_secret)
    if "authorization" in request.headers:
        # A bearer token (or a refused mix with signed headers): an HMAC and no I/O, so
        # checked here rather than through a thread-pool hop.
        auth = authenticate(*arguments, max_skew=settings.max_clock_skew)
    else:  # a signed request: signature recovery and the nonce written to the database
        auth = await run_in_threadpool(authenticate, *arguments,
                                       max_skew=settings.max_clock_skew)
    snapshot = platform.trust.current()
    department = snapshot.department_of_account(auth.address)
    if department is None or not department.active:
        raise Forbidden(
            f"account {auth.address_hex} is not an account of an active department on chain: "
            "a department admin adds it (DepartmentRegistry.addOperator)", code="unknown_account")
    return Caller(auth, department, snapshot)


CallerDep = Annotated[Caller, Depends(get_caller)]
