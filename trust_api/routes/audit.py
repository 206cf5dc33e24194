"""Regulatory traces, data exchanges, and the regulator's audit."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from fastapi.responses import HTMLResponse, Response

from audit_trail.report_html import render_report_html
from license_registry.trust import ROLE_REGULATOR
from trust_api.deps import CallerDep, PlatformDep

router = APIRouter(prefix="/v1", tags=["audit"])
Json = Annotated[dict[str, Any], Body()]
LogName = Literal["traces", "exchanges", "credit", "consents"]


@router.post("/traces", status_code=201)
def append_trace(body: Json, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    return platform.audit.append_trace(caller.usci, body, int(time.time()))


@router.get("/traces/{kind}/{subject_id}")
def get_trace(kind: str, subject_id: str, caller: CallerDep,
              platform: PlatformDep) -> dict[str, Any]:
    return platform.audit.trace(caller.usci, caller.department.has_roles(ROLE_REGULATOR), kind,
                                subject_id)


@router.post("/exchanges", status_code=201)
def record_exchange(body: Json, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """A department records a data exchange it made (it is the requester)."""
    return platform.exchanges.record(caller.usci, body, int(time.time()))


@router.get("/audit/{log}/entries")
def entries(log: LogName, caller: CallerDep, platform: PlatformDep,
            subjectKind: Annotated[str | None, Query(max_length=32)] = None,
            subjectId: Annotated[str | None, Query(max_length=64)] = None,
            subjectHash: Annotated[str | None, Query(max_length=64)] = None,
            department: Annotated[str | None, Query(max_length=18)] = None,
            dataset: Annotated[str | None, Query(max_length=64)] = None,
            kind: Annotated[str | None, Query(max_length=16)] = None,
            timeFrom: Annotated[int | None, Query(ge=0, le=2**40)] = None,
            timeUntil: Annotated[int | None, Query(ge=0, le=2**40)] = None) -> dict[str, Any]:
    caller.require(ROLE_REGULATOR, "reading audit logs")
    query = {"subjectKind": subjectKind, "subjectId": subjectId, "subjectHash": subjectHash,
             "department": department, "dataset": dataset, "kind": kind,
             "timeFrom": timeFrom, "timeUntil": timeUntil}
    return {"log": log, "entries": platform.audit.entries(log, query)}


@router.post("/audit/{log}/verify")
def verify(log: LogName, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """Integrity and completeness of the whole log against its anchored checkpoint."""
    caller.require(ROLE_REGULATOR, "auditing a log")
    result = platform.audit.verify(log)
    return {"log": log, "verified": result.verified, "logSize": result.log_size,
            "entriesChecked": result.entries_checked, "anchoredSize": result.anchored_size,
            "checkpointsVerified": result.checkpoints_verified,
            "findings": [f.to_json() for f in result.findings]}


@router.post("/audit/{log}/reports", status_code=201)
def create_report(log: LogName, body: Json, caller: CallerDep,
                  platform: PlatformDep) -> dict[str, Any]:
    caller.require(ROLE_REGULATOR, "exporting an audit report")
    return platform.audit.report(caller.usci, log, body, int(time.time()))


@router.get("/audit/reports/{report_id}")
def get_report(report_id: str, caller: CallerDep, platform: PlatformDep,
               format: Literal["json", "html"] = "json") -> Response:
    caller.require(ROLE_REGULATOR, "reading an audit report")
    report = platform.audit.stored_report(caller.usci, report_id)
    if format == "html":
        return HTMLResponse(render_report_html(report))
    import json

    return Response(json.dumps(report, ensure_ascii=False), media_type="application/json")
