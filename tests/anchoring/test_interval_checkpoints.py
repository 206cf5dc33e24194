"""Leaves appended inside a caller's transaction; one checkpoint per interval."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from anchoring.anchored_log import AnchoredLog, SqlOutbox
from anchoring.merkle import leaf_hash, root_from_leaf_hashes
from anchoring.note import Ed25519Signer
from anchoring.store_sql import outbox, write_transaction

ORIGIN = "city.example/interval-test"


def test_appends_without_checkpoints_then_one_checkpoint(engine: Engine) -> None:
    log = AnchoredLog(engine, ORIGIN, Ed25519Signer.generate(ORIGIN))
    with write_transaction(engine) as conn:
        assert log.append_in(conn, [b"a", b"b"]) == 0
    with write_transaction(engine) as conn:
        assert log.append_in(conn, [b"c"]) == 2
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0
    appended = log.checkpoint()
    assert appended is not None
    assert appended.checkpoint.size == 3
    assert appended.checkpoint.root == root_from_leaf_hashes([leaf_hash(e) for e in (b"a", b"b", b"c")])
    assert log.checkpoint() is None  # nothing new: no second checkpoint of the same size
    assert [p.size for p in SqlOutbox(engine).pending(10)] == [3]


def test_a_rolled_back_request_leaves_no_leaf(engine: Engine) -> None:
    log = AnchoredLog(engine, ORIGIN, Ed25519Signer.generate(ORIGIN))
    try:
        with write_transaction(engine) as conn:
            log.append_in(conn, [b"lost"])
            raise RuntimeError("the request failed after appending")
    except RuntimeError:
        pass
    assert log.store.size() == 0
    assert log.checkpoint() is None
