"""Batch issuance jobs for very large migrations: all-or-nothing, with progress.

The job issues its items in chunks inside ONE transaction, so either every license
is issued or none is; progress is kept in memory while it runs and the outcome is
stored. A job found running at start-up was interrupted by a crash: its transaction
never committed, so it is marked failed with nothing issued. With several API processes
only the one running the background workers does that (``recover_interrupted``): the
others start while its jobs may be running. A job's progress is kept by the process
running it; asked through another process, it shows the stored count until it ends.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from license_registry.errors import LicenseError, NotFound
from trust_api.db import write_transaction
from trust_api.issuance import IssuanceService, IssueRequest
from trust_api.tables import jobs

log = logging.getLogger("citychain.trust_api")
CHUNK = 1000


class JobRunner:
    def __init__(self, engine: Engine, issuance: IssuanceService, *,
                 recover_interrupted: bool = True) -> None:
        self.engine = engine
        self.issuance = issuance
        self._progress: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="license-job")
        if recover_interrupted:
            self.fail_interrupted()

    def fail_interrupted(self) -> None:
        """Mark jobs left queued or running by a stopped process as failed (at start)."""
        with write_transaction(self.engine) as conn:
            conn.execute(update(jobs).where(jobs.c.status.in_(("queued", "running"))).values(
                status="failed", finished_at=int(time.time()),
                error=json.dumps({"code": "interrupted", "message": (
                    "the service stopped while the job ran; nothing was issued: submit it "
                    "again")})))

    def submit(self, department: str, actor: bytes, items: Sequence[IssueRequest],
               now: int) -> dict[str, Any]:
        job_id = str(uuid.uuid4())
        with write_transaction(self.engine) as conn:
            conn.execute(insert(jobs).values(id=job_id, department=department, status="queued",
                                             total=len(items), done=0, created_at=now,
                                             created_by=actor))
        self._pool.submit(self._run, job_id, department, actor, list(items))
        return self.describe(department, job_id)

    def _run(self, job_id: str, department: str, actor: bytes, items: list[IssueRequest]) -> None:
        self._set(job_id, status="running")
        error: dict[str, Any] | None = None
        try:
            now = int(time.time())
            with write_transaction(self.engine) as conn:
                for start in range(0, len(items), CHUNK):
                    chunk = items[start:start + CHUNK]
                    try:
                        self.issuance.issue(department, actor, chunk, now, conn=conn)
                    except LicenseError as exc:
                        if exc.field and exc.field.startswith("items["):
                            inner = int(exc.field[6:exc.field.index("]")])
                            exc.field = f"items[{start + inner}]" + exc.field[exc.field.index("]") + 1:]
                        raise
                    with self._lock:
                        self._progress[job_id] = start + len(chunk)
        except LicenseError as exc:
            error = {"code": exc.code, "message": exc.message, "field": exc.field}
        except IntegrityError as exc:
            error = {"code": "duplicate_license", "message": str(exc.orig)}
        except Exception as exc:  # stored so the caller learns the job failed
            log.exception("license job %s failed", job_id)
            error = {"code": "internal", "message": f"{type(exc).__name__}: {exc}"}
        with self._lock:
            done = 0 if error else self._progress.get(job_id, len(items))
            self._progress.pop(job_id, None)
        self._set(job_id, status="failed" if error else "succeeded", done=done,
                  error=json.dumps(error) if error else None, finished_at=int(time.time()))

    def _set(self, job_id: str, **values: Any) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def describe(self, department: str, job_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None or row.department != department:
            raise NotFound(f"no job {job_id} of department {department}")
        with self._lock:
            progress = self._progress.get(job_id)
        return {"id": row.id, "status": row.status, "total": row.total,
                "done": progress if progress is not None else row.done,
                "error": json.loads(row.error) if row.error else None,
                "createdAt": row.created_at, "finishedAt": row.finished_at}

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
