"""Status list rows: random index allocation, status bits, and publication.

Each department has numbered lists of LIST_SIZE entries; a credential takes one
random free index (n, i) used in both the revocation and the suspension list n. A
list stops taking new credentials at FILL_LIMIT so random picks stay cheap and the
index still says little about issue order. Publication signs both lists of a
changed row with the department's current key and queues their digests for the
StatusRegistry in the same transaction.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from sqlalchemy import Connection, insert, select, update

from license_registry.data_integrity import create_proof
from license_registry.jcs import canonicalize
from license_registry.presented import datetime_text
from license_registry.status_list import StatusBitstring, build_status_list_credential
from trust_api.keystore import enqueue_chain_write
from trust_api.tables import status_lists, status_publications

LIST_SIZE = 131_072
FILL_LIMIT = LIST_SIZE // 2
PURPOSES = ("revocation", "suspension")


def list_url(base_url: str, department: str, number: int, purpose: str) -> str:
    return f"{base_url}/v1/status-lists/{department}/{number}/{purpose}"


def list_id(url: str) -> bytes:
    return hashlib.sha256(url.encode()).digest()


def is_set(bits: bytes | bytearray, index: int) -> bool:
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def _set(bits: bytearray, index: int, value: bool) -> None:
    if value:
        bits[index >> 3] |= 0x80 >> (index & 7)
    else:
        bits[index >> 3] &= ~(0x80 >> (index & 7)) & 0xFF


def allocate(conn: Connection, department: str, count: int, rng: random.Random) -> list[tuple[int, int]]:
    """``count`` fresh (list number, index) pairs, random within each list."""
    result: list[tuple[int, int]] = []
    while len(result) < count:
        row = conn.execute(
            select(status_lists).where(status_lists.c.department == department)
            .order_by(status_lists.c.number.desc()).limit(1).with_for_update()
        ).first()
        if row is None or row.allocated_count >= FILL_LIMIT:
            number = 0 if row is None else row.number + 1
            empty = bytes(LIST_SIZE // 8)
            conn.execute(insert(status_lists).values(
                department=department, number=number, size=LIST_SIZE, allocated=empty,
                allocated_count=0, revocation=empty, suspension=empty, changed=True, version=0))
            continue
        used = bytearray(row.allocated)
        take = min(count - len(result), FILL_LIMIT - row.allocated_count)
        for _ in range(take):
            while True:
                index = rng.randrange(LIST_SIZE)
                if not is_set(used, index):
                    break
            _set(used, index, True)
            result.append((row.number, index))
        conn.execute(update(status_lists).where(status_lists.c.id == row.id).values(
            allocated=bytes(used), allocated_count=row.allocated_count + take))
    return result


def set_status(conn: Connection, department: str, number: int, index: int, purpose: str,
               value: bool) -> None:
    column = status_lists.c.revocation if purpose == "revocation" else status_lists.c.suspension
    row = conn.execute(select(status_lists.c.id, column).where(
        status_lists.c.department == department, status_lists.c.number == number)
        .with_for_update()).one()
    bits = bytearray(row[1])
    _set(bits, index, value)
    conn.execute(update(status_lists).where(status_lists.c.id == row.id)
                 .values({column.name: bytes(bits), "changed": True}))


def read_status(conn: Connection, department: str, number: int, index: int) -> dict[str, bool] | None:
    row = conn.execute(select(status_lists.c.revocation, status_lists.c.suspension).where(
        status_lists.c.department == department, status_lists.c.number == number)).first()
    if row is None:
        return None
    return {"revocation": is_set(row.revocation, index), "suspension": is_set(row.suspension, index)}


Signer = Callable[[str], tuple[bytes, bytes]]  # department -> (kid, seed) valid now


def publish_changed(conn: Connection, base_url: str, signer: Signer, now: int) -> int:
    """Sign and store a new version of every changed list; queue digests for the chain."""
    rows = conn.execute(select(status_lists).where(status_lists.c.changed.is_(True))
                        .with_for_update()).all()
    published = 0
    for row in rows:
        kid, seed = signer(row.department)
        version = int(row.version) + 1
        for purpose in PURPOSES:
            url = list_url(base_url, row.department, row.number, purpose)
            bits = row.revocation if purpose == "revocation" else row.suspension
            encoded = StatusBitstring.from_bytes(bytes(bits)).encode()
            unsigned = build_status_list_credential(
                url, f"did:citychain:{row.department}", purpose, encoded, datetime_text(now))
            signed = create_proof(unsigned, seed, f"did:citychain:{row.department}#{kid.hex()}",
                                  datetime_text(now))
            text = canonicalize(signed).decode()
            digest = hashlib.sha256(text.encode()).digest()
            conn.execute(insert(status_publications).values(
                department=row.department, number=row.number, purpose=purpose, version=version,
                url=url, list_id=list_id(url), digest=digest, credential=text, published_at=now))
            enqueue_chain_write(conn, "publish_status_list", row.department, {
                "listId": list_id(url).hex(), "digest": digest.hex(), "version": version}, now)
        conn.execute(update(status_lists).where(status_lists.c.id == row.id)
                     .values(changed=False, version=version))
        published += 1
    return published


def latest_publication(conn: Connection, department: str, number: int, purpose: str) -> str | None:
    row = conn.execute(select(status_publications.c.credential).where(
        status_publications.c.department == department, status_publications.c.number == number,
        status_publications.c.purpose == purpose).order_by(status_publications.c.version.desc())
        .limit(1)).first()
    return None if row is None else str(row.credential)


def latest_publications(conn: Connection) -> list[dict[str, object]]:
    """The newest publication of every list, for the trust bundle."""
    rows = conn.execute(select(status_publications).order_by(
        status_publications.c.department, status_publications.c.number,
        status_publications.c.purpose, status_publications.c.version.desc())).all()
    seen: set[tuple[str, int, str]] = set()
    out: list[dict[str, object]] = []
    for r in rows:
        key = (r.department, r.number, r.purpose)
        if key in seen:
            continue
        seen.add(key)
        out.append({"department": r.department, "number": r.number, "purpose": r.purpose,
                    "version": r.version, "url": r.url, "credential": r.credential})
    return out
