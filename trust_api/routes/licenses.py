"""Licenses: issue (one, a batch, or a job), read, render the city code, change state."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError

from license_registry.errors import Conflict, InvalidInput
from license_registry.lifecycle import Action
from license_registry.qr import render_png, render_svg
from license_registry.trust import ROLE_ISSUER
from trust_api.deps import CallerDep, PlatformDep
from trust_api.models import BatchBody, JobBody, LicenseBody, ReasonBody, RenewBody

router = APIRouter(prefix="/v1", tags=["licenses"])


def _duplicate(exc: IntegrityError) -> Conflict:
    return Conflict(f"a license in this request was issued concurrently: {exc.orig}",
                    code="duplicate_license")


@router.post("/licenses", status_code=201)
def issue_license(body: LicenseBody, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    caller.require(ROLE_ISSUER, "issuing a license")
    try:
        issued = platform.issuance.issue(caller.usci, caller.address, [body.to_request()],
                                         int(time.time()))
    except IntegrityError as exc:
        raise _duplicate(exc) from exc
    return issued[0].to_json()


@router.post("/licenses/batch", status_code=201)
def issue_batch(body: BatchBody, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """All or nothing: either every item is issued, or none and the error names the item."""
    caller.require(ROLE_ISSUER, "issuing licenses")
    if len(body.items) > platform.settings.max_batch_items:
        raise InvalidInput(f"at most {platform.settings.max_batch_items} items per batch; use "
                           "POST /v1/license-jobs for more", field="items")
    try:
        issued = platform.issuance.issue(caller.usci, caller.address,
                                         [item.to_request() for item in body.items],
                                         int(time.time()))
    except IntegrityError as exc:
        raise _duplicate(exc) from exc
    return {"issued": len(issued), "licenses": [i.to_json(with_credential=False) for i in issued]}


@router.post("/license-jobs", status_code=202)
def submit_job(body: JobBody, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    caller.require(ROLE_ISSUER, "issuing licenses")
    if len(body.items) > platform.settings.max_job_items:
        raise InvalidInput(f"at most {platform.settings.max_job_items} items per job",
                           field="items")
    return platform.jobs.submit(caller.usci, caller.address,
                                [item.to_request() for item in body.items], int(time.time()))


@router.get("/license-jobs/{job_id}")
def get_job(job_id: str, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    return platform.jobs.describe(caller.usci, job_id)


@router.get("/licenses/{license_id}")
def get_license(license_id: str, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    return platform.lifecycle.describe(caller.usci, license_id, int(time.time()))


@router.get("/licenses/{license_id}/qr.{fmt}")
def get_qr(license_id: str, fmt: Literal["png", "svg"], caller: CallerDep,
           platform: PlatformDep, error: Annotated[Literal["M", "Q"], Query()] = "M",
           scale: Annotated[int, Query(ge=1, le=20)] = 4) -> Response:
    """The city code as a QR image: ECC M for screens, Q for paper."""
    code = platform.lifecycle.describe(caller.usci, license_id, int(time.time()))["cityCode"]
    if fmt == "png":
        return Response(render_png(code, scale=scale, error=error), media_type="image/png")
    return Response(render_svg(code, scale=scale, error=error), media_type="image/svg+xml")


@router.get("/licenses/{license_id}/proof")
def get_proof(license_id: str, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """The credential's inclusion proof against the department log's newest checkpoint."""
    described = platform.lifecycle.describe(caller.usci, license_id, int(time.time()))
    return platform.logs.of(caller.usci).proof_bundle(described["logIndex"])


def _change(action: Action):  # type: ignore[no-untyped-def]
    def change(license_id: str, body: ReasonBody, caller: CallerDep,
               platform: PlatformDep) -> dict[str, Any]:
        caller.require(ROLE_ISSUER, f"{action.value} of a license")
        return platform.lifecycle.change(caller.usci, caller.address, license_id, action,
                                         body.reason, int(time.time()))
    change.__name__ = f"{action.value}_license"
    return change


for _action in (Action.SUSPEND, Action.REINSTATE, Action.REVOKE):
    router.add_api_route(f"/licenses/{{license_id}}/{_action.value}", _change(_action),
                         methods=["POST"], name=f"{_action.value}_license")


@router.post("/licenses/{license_id}/renew", status_code=201)
def renew(license_id: str, body: RenewBody, caller: CallerDep,
          platform: PlatformDep) -> dict[str, Any]:
    caller.require(ROLE_ISSUER, "renewing a license")
    issued = platform.lifecycle.renew(caller.usci, caller.address, license_id, body.reason,
                                      body.validUntil, int(time.time()))
    return issued.to_json()
