"""POST /v1/verify: a city code or a full credential, with every check and its reason."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from license_registry.errors import InvalidInput
from trust_api.deps import CallerDep, PlatformDep
from trust_api.models import VerifyBody
from trust_api.online import verify_online

router = APIRouter(prefix="/v1", tags=["verification"])


# The verdict is built from checked values as plain JSON types, so it is sent as it is: the
# response model documents its shape, but is not re-validated and re-encoded (which cost a
# thread-pool hop and a walk of the whole verdict per request).
@router.post("/verify", response_model=dict[str, Any])
def verify(body: VerifyBody, caller: CallerDep, platform: PlatformDep) -> JSONResponse:
    """The verdict is ``valid`` only if every check passes; recognition is judged for the
    caller's department. An invalid license is a 200 answer with ``verdict: invalid``."""
    if (body.cityCode is None) == (body.credential is None):
        raise InvalidInput("send exactly one of cityCode or credential", field="cityCode")
    presentation = body.cityCode if body.cityCode is not None else body.credential
    assert presentation is not None
    # The snapshot the caller was authorized against: one snapshot for the whole request.
    verdict = verify_online(presentation, caller.snapshot, int(time.time()), caller.usci,
                            platform.status_source, platform.anchor_source)
    out = verdict.to_json()
    out["trustData"]["ageSeconds"] = round(time.time() - platform.trust.refreshed_at, 1)
    out["verifier"] = caller.usci
    return JSONResponse(out)
