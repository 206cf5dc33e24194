"""SQLAlchemy storage for logs, witness state and signed checkpoints.

SQLite by default, PostgreSQL through a URL (psycopg 3). The schema comes from the
Alembic migration in ``anchoring/migrations`` (``anchoring.migrations.upgrade``);
the tables below mirror it for queries. An append is one transaction: lock the
log (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), read
the right edge, insert leaves and newly complete nodes, bump the size. Leaf hashes
are the level-0 nodes, so the nodes table holds levels 1 and up.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    event,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from anchoring.checkpoint import Checkpoint, parse_checkpoint_body
from anchoring.errors import LogError
from anchoring.tiles import NodeId, compact_range, extend_edge, fold_right
from anchoring.witness import TreeHead

metadata = MetaData()

logs = Table(
    "anchoring_logs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(255), nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
)
leaves = Table(
    "anchoring_leaves", metadata,
    Column("log_id", Integer, ForeignKey("anchoring_logs.id"), primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("entry", LargeBinary, nullable=True),
)
nodes = Table(
    "anchoring_nodes", metadata,
    Column("log_id", Integer, ForeignKey("anchoring_logs.id"), primary_key=True),
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)
witness_heads = Table(
    "anchoring_witness_heads", metadata,
    Column("origin", String(255), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
)
# Checkpoints waiting to be anchored on chain (the outbox); one row per signed checkpoint.
outbox = Table(
    "anchoring_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(255), nullable=False),
    Column("log_id", LargeBinary(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("key_id", LargeBinary(8), nullable=False),
    Column("checkpoint", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("outcome", String(32), nullable=True),
    Column("tx_hash", LargeBinary(32), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(1000), nullable=True),
    UniqueConstraint("origin", "size", name="uq_anchoring_outbox_origin_size"),
    Index("ix_anchoring_outbox_pending", "status", "log_id", "size"),
)
signed_checkpoints = Table(
    "anchoring_signed_checkpoints", metadata,
    Column("origin", String(255), primary_key=True),
    Column("body", LargeBinary, nullable=False),
)

_WRITE = "anchoring_write"


def make_engine(url: str = "sqlite:///anchoring.db", **kwargs: Any) -> Engine:
    """An engine for SQLite (writers serialized by BEGIN IMMEDIATE) or PostgreSQL."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _serialize_sqlite_writers(engine)
    return engine


def _serialize_sqlite_writers(engine: Engine) -> None:
    # pysqlite's own BEGIN handling is switched off so a write transaction can take
    # the database's writer lock up front (BEGIN IMMEDIATE), not on its first write.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def _fetch_nodes(conn: Connection, log_id: int, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
    wanted = set(ids)
    found: dict[NodeId, bytes] = {}
    leaf_idx = sorted(index for level, index in wanted if level == 0)
    if leaf_idx:
        rows = conn.execute(
            select(leaves.c.idx, leaves.c.leaf_hash)
            .where(leaves.c.log_id == log_id, leaves.c.idx.in_(leaf_idx))
        )
        found.update({(0, row.idx): bytes(row.leaf_hash) for row in rows})
    by_level: dict[int, list[int]] = {}
    for level, index in sorted(wanted):
        if level > 0:
            by_level.setdefault(level, []).append(index)
    if by_level:
        # One indexed SELECT per level in a UNION ALL: SQLite uses only the log_id
        # prefix of the primary key for a row-value IN or an OR across levels.
        per_level = [
            select(nodes.c.level, nodes.c.idx, nodes.c.hash)
            .where(nodes.c.log_id == log_id, nodes.c.level == level, nodes.c.idx.in_(idx))
            for level, idx in by_level.items()
        ]
        rows = conn.execute(per_level[0] if len(per_level) == 1 else union_all(*per_level))
        found.update({(row.level, row.idx): bytes(row.hash) for row in rows})
    return found


TILE = 256  # nodes per tile read by a cached store's miss


def _fetch_tiles(conn: Connection, log_id: int, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """Every stored node in the tiles holding ``ids``: per level, the aligned runs of TILE
    indices that contain a wanted one (only existing rows come back)."""
    tiles = sorted({(level, index // TILE) for level, index in ids})
    parts = []
    for level, tile in tiles:
        first, last = tile * TILE, tile * TILE + TILE - 1
        if level == 0:
            parts.append(select(literal_column("0", SmallInteger).label("level"), leaves.c.idx,
                                leaves.c.leaf_hash.label("hash"))
                         .where(leaves.c.log_id == log_id, leaves.c.idx.between(first, last)))
        else:
            parts.append(select(nodes.c.level, nodes.c.idx, nodes.c.hash)
                         .where(nodes.c.log_id == log_id, nodes.c.level == level,
                                nodes.c.idx.between(first, last)))
    if not parts:
        return {}
    rows = conn.execute(parts[0] if len(parts) == 1 else union_all(*parts))
    return {(int(row.level), int(row.idx)): bytes(row.hash) for row in rows}


@dataclass(frozen=True)
class AppendResult:
    old_size: int
    new_size: int
    root: bytes


def append_in(
    conn: Connection, log_id: int, leaf_hashes: Sequence[bytes], entries: Sequence[bytes] | None = None
) -> AppendResult:
    """Append inside the caller's write transaction (so an outbox row can join it)."""
    if entries is not None and len(entries) != len(leaf_hashes):
        raise LogError(f"{len(entries)} entries for {len(leaf_hashes)} leaf hashes")
    row = conn.execute(
        select(logs.c.size, logs.c.root).where(logs.c.id == log_id).with_for_update()
    ).one()
    size = int(row.size)
    if not leaf_hashes:
        return AppendResult(size, size, bytes(row.root))
    ids = compact_range(size)
    edge = _fetch_nodes(conn, log_id, ids)
    appended = extend_edge(size, [edge[n] for n in ids], leaf_hashes)
    conn.execute(leaves.insert(), [
        {"log_id": log_id, "idx": size + i, "leaf_hash": h,
         "entry": entries[i] if entries is not None else None}
        for i, h in enumerate(leaf_hashes)
    ])
    node_rows = [
        {"log_id": log_id, "level": level, "idx": idx, "hash": h}
        for (level, idx), h in appended.nodes if level > 0
    ]
    if node_rows:
        conn.execute(nodes.insert(), node_rows)
    root = fold_right(appended.edge)
    conn.execute(update(logs).where(logs.c.id == log_id).values(size=appended.new_size, root=root))
    return AppendResult(size, appended.new_size, root)


class NodeCache:
    """A bounded LRU of stored Merkle nodes, keyed by (log id, level, index); one per
    process, shared by the logs that opt in.

    Exact because a stored node never changes: the log is append-only, a leaf (level 0)
    is written once, and the nodes table holds only *complete* subtrees, whose hash is
    final. Only values read from committed rows are cached (``SqlNodeStore.get_nodes``
    reads outside any write transaction), so a rolled-back append is never cached.

    Opt-in: a cached store answers from memory what the database held when the node was
    first read, so whoever must see the tables as they are now — the regulator's audit
    looking for edited rows, tests that edit them — reads through a store without one.
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        if max_entries < 1:
            raise ValueError("a node cache holds at least one node")
        self.max_entries = max_entries
        self._nodes: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._nodes)

    def lookup(self, log_id: int, ids: Iterable[NodeId]) -> tuple[dict[NodeId, bytes],
                                                                   list[NodeId]]:
        """The cached nodes among ``ids``, and the ids not cached (marked most recent)."""
        found: dict[NodeId, bytes] = {}
        missing: list[NodeId] = []
        nodes = self._nodes
        with self._lock:
            for level, index in ids:
                key = (log_id, level, index)
                value = nodes.get(key)
                if value is None:
                    missing.append((level, index))
                else:
                    nodes.move_to_end(key)
                    found[(level, index)] = value
            self.hits += len(found)
            self.misses += len(missing)
        return found, missing

    def store(self, log_id: int, found: dict[NodeId, bytes],
              wanted: Iterable[NodeId] = ()) -> None:
        """Remember committed nodes, evicting the least recently used beyond the bound;
        the ``wanted`` ones (what a reader asked for, among its tiles) count as the most
        recent."""
        nodes = self._nodes
        with self._lock:
            for (level, index), value in found.items():
                nodes[(log_id, level, index)] = value
                nodes.move_to_end((log_id, level, index))
            for level, index in wanted:
                if (log_id, level, index) in nodes:
                    nodes.move_to_end((log_id, level, index))
            while len(nodes) > self.max_entries:
                nodes.popitem(last=False)


class SqlLogStore:
    """The logs in one database; each log is served by a ``SqlNodeStore``."""

    def __init__(self, engine: Engine, cache: NodeCache | None = None) -> None:
        self.engine = engine
        self.cache = cache

    def create_log(self, origin: str) -> SqlNodeStore:
        try:
            with self.engine.begin() as conn:
                conn.execute(logs.insert().values(origin=origin, size=0, root=fold_right([])))
        except IntegrityError:
            raise LogError(f"a log with origin {origin!r} already exists") from None
        return self.open_log(origin)

    def open_log(self, origin: str) -> SqlNodeStore:
        with self.engine.connect() as conn:
            log_id = conn.execute(select(logs.c.id).where(logs.c.origin == origin)).scalar()
        if log_id is None:
            raise LogError(f"no log with origin {origin!r}; create it first")
        return SqlNodeStore(self.engine, log_id, self.cache)


class SqlNodeStore:
    """NodeStore of one log in SQL; with a ``NodeCache``, stored nodes are read once."""

    def __init__(self, engine: Engine, log_id: int, cache: NodeCache | None = None) -> None:
        self.engine = engine
        self.log_id = log_id
        self.cache = cache

    def size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(logs.c.size).where(logs.c.id == self.log_id)).scalar_one())

    def head(self) -> TreeHead:
        """The current size and root, read together."""
        with self.engine.connect() as conn:
            row = conn.execute(select(logs.c.size, logs.c.root).where(logs.c.id == self.log_id)).one()
        return TreeHead(int(row.size), bytes(row.root))

    def get_nodes(self, ids: Iterable[NodeId], conn: Connection | None = None
                  ) -> dict[NodeId, bytes]:
        """Stored hashes for the ids that exist. ``conn``: a connection to read on (not
        one inside a write transaction when the store has a cache: what it reads is
        cached, and must be committed)."""
        cache = self.cache
        if cache is None:
            return self._read(_fetch_nodes, ids, conn)
        ids = list(ids)
        found, missing = cache.lookup(self.log_id, ids)
        if missing:
            # A miss reads the whole tile around each missing node: the stored nodes of
            # its level in the aligned run of TILE indices (proofs of neighbouring leaves
            # share most of them, and a stored node never changes).
            fetched = self._read(_fetch_tiles, missing, conn)
            cache.store(self.log_id, fetched, ids)
            found.update((node, fetched[node]) for node in missing if node in fetched)
        return found

    def _read(self, fetch: Callable[[Connection, int, Iterable[NodeId]], dict[NodeId, bytes]],
              ids: Iterable[NodeId], conn: Connection | None) -> dict[NodeId, bytes]:
        if conn is not None:
            return fetch(conn, self.log_id, ids)
        with self.engine.connect() as own:
            return fetch(own, self.log_id, ids)

    def append(self, leaf_hashes: Sequence[bytes], entries: Sequence[bytes] | None = None) -> int:
        with write_transaction(self.engine) as conn:
            return append_in(conn, self.log_id, leaf_hashes, entries).old_size

    def get_entry(self, index: int) -> bytes | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(leaves.c.entry).where(leaves.c.log_id == self.log_id, leaves.c.idx == index)
            ).first()
        if row is None:
            raise LogError(f"leaf index {index} is not in log {self.log_id}")
        return None if row.entry is None else bytes(row.entry)


class SqlWitnessState:
    """WitnessStateStore in SQL: compare-and-set is a conditional UPDATE (or INSERT)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest(self, origin: str) -> TreeHead | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(witness_heads.c.size, witness_heads.c.root).where(witness_heads.c.origin == origin)
            ).first()
        return None if row is None else TreeHead(int(row.size), bytes(row.root))

    def compare_and_set(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        try:
            with write_transaction(self.engine) as conn:
                if expected is None:
                    conn.execute(witness_heads.insert().values(origin=origin, size=new.size, root=new.root))
                    return True
                result = conn.execute(
                    update(witness_heads)
                    .where(witness_heads.c.origin == origin, witness_heads.c.size == expected.size,
                           witness_heads.c.root == expected.root)
                    .values(size=new.size, root=new.root)
                )
                return result.rowcount == 1
        except IntegrityError:
            return False


class SqlSignedCheckpointStore:
    """SignedCheckpointStore in SQL, keyed by origin, holding the signed body."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest(self, origin: str) -> Checkpoint | None:
        with self.engine.connect() as conn:
            body = conn.execute(
                select(signed_checkpoints.c.body).where(signed_checkpoints.c.origin == origin)
            ).scalar()
        return None if body is None else parse_checkpoint_body(bytes(body))

    def compare_and_set(self, expected: Checkpoint | None, new: Checkpoint) -> bool:
        try:
            with write_transaction(self.engine) as conn:
                if expected is None:
                    conn.execute(signed_checkpoints.insert().values(origin=new.origin, body=new.body()))
                    return True
                result = conn.execute(
                    update(signed_checkpoints)
                    .where(signed_checkpoints.c.origin == new.origin,
                           signed_checkpoints.c.body == expected.body())
                    .values(body=new.body())
                )
                return result.rowcount == 1
        except IntegrityError:
            return False
