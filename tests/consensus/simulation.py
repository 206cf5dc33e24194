"""A deterministic, seeded, in-memory network of QBFT cores with virtual time.

Honest nodes run ``QbftCore`` behind a fake shell (block builder, importer, block
gossip and sync). The network delays, loses, reorders, duplicates and partitions
messages until ``heal_at``; after it, delivery is prompt and lossless (GST).
Byzantine validators run a core too, but an adversary rewrites what they send:
equivocating proposals, conflicting prepares and commits, bad signatures and
seals, wrong heights and rounds, replays, silence.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import rlp
from eth_hash.auto import keccak

from chain.consensus.block_encoding import (
    EMPTY_TRIE_ROOT,
    EXTRA_DATA,
    MIX_HASH,
    NONCE,
    QbftExtraData,
    block_hash,
    chain_hash,
    commit_seal_hash,
    decode_header,
    header_fields,
    validate_finalized_header,
)
from chain.consensus.core import QbftCore
from chain.consensus.crypto import address_of, sign
from chain.consensus.events import (
    BlockBuilt,
    Broadcast,
    BuildBlock,
    ChainHead,
    CommitBlock,
    Effect,
    Event,
    MessageReceived,
    NewChainHead,
    QbftConfig,
    RoundChanged,
    Tick,
)
from chain.consensus.messages import (
    Commit,
    Prepare,
    Proposal,
    ProposedBlock,
    RoundChange,
    build_commit,
    build_prepare,
    build_proposal,
    build_round_change,
    decode_message,
)

ZERO32 = b"\x00" * 32
EMPTY_UNCLES = keccak(rlp.encode([]))

DEFAULT_CONFIG = QbftConfig(
    block_period=1.0,
    empty_block_period=3.0,
    request_timeout=2.0,
    max_round_timeout=16.0,
    future_message_buffer=256,
    round_change_rebroadcast=2.0,
)


def make_key(seed: int, index: int) -> bytes:
    return keccak(f"citychain-sim-{seed}-{index}".encode())


def make_header(
    *,
    parent_hash: bytes,
    coinbase: bytes,
    number: int,
    timestamp: int,
    extra: bytes,
    transaction_root: bytes = EMPTY_TRIE_ROOT,
    state_root: bytes = ZERO32,
) -> bytes:
    """A Cancun header built by hand, as the shell would hand it over."""
    return rlp.encode(
        [
            parent_hash,
            EMPTY_UNCLES,
            coinbase,
            state_root,
            transaction_root,
            EMPTY_TRIE_ROOT,
            b"\x00" * 256,
            1,
            number,
            30_000_000,
            0 if transaction_root == EMPTY_TRIE_ROOT else 21_000,
            timestamp,
            extra,
            MIX_HASH,
            NONCE,
            7,
            EMPTY_TRIE_ROOT,
            0,
            0,
            ZERO32,
        ]
    )


def genesis_header(validators: tuple[bytes, ...]) -> bytes:
    extra = QbftExtraData(ZERO32, validators, None, 0, ()).encode()
    return make_header(
        parent_hash=ZERO32, coinbase=b"\x00" * 20, number=0, timestamp=0, extra=extra
    )


@dataclass
class SimNode:
    index: int
    key: bytes
    address: bytes
    byzantine: bool
    core: QbftCore
    chain: list[tuple[bytes, bytes]]  # (header_rlp, body) by block number
    max_round: int = 0

    @property
    def height(self) -> int:
        return len(self.chain)


@dataclass
class NetworkModel:
    loss: float = 0.15
    duplicate: float = 0.05
    max_delay: float = 1.5
    heal_at: float = 12.0
    partitions: list[tuple[float, float, frozenset[int]]] = field(default_factory=list)

    def connected(self, a: int, b: int, now: float) -> bool:
        return not any(
            start <= now < end and ((a in side) != (b in side))
            for start, end, side in self.partitions
        )


class Simulation:
    def __init__(
        self,
        seed: int,
        n: int,
        byzantine: int = 0,
        *,
        network: NetworkModel | None = None,
        config: QbftConfig = DEFAULT_CONFIG,
        invalid_block_rate: float = 0.0,
        random_partitions: bool = True,
    ) -> None:
        self.rng = random.Random(seed)
        self.config = config
        self.network = network or NetworkModel()
        self.invalid_block_rate = invalid_block_rate
        keys = [make_key(seed, i) for i in range(n)]
        self.validators = tuple(sorted(address_of(k) for k in keys))
        genesis = genesis_header(self.validators)
        byzantine_indices = set(self.rng.sample(range(n), byzantine))
        self.nodes: list[SimNode] = []
        for i, key in enumerate(keys):
            head = ChainHead(genesis, self.validators, b"\x00" * 20)
            core = QbftCore(config, key, head, self._validator_for(i))
            self.nodes.append(
                SimNode(i, key, address_of(key), i in byzantine_indices, core, [(genesis, b"")])
            )
        if random_partitions:
            self._random_partitions()
        self.now = 0.0
        self._queue: list[tuple[float, int, int, str, object]] = []
        self._seq = 0
        self._txs: dict[int, bool] = {}
        self.finalized: dict[int, set[bytes]] = {}  # honest view: height -> block hashes
        self.finalized_round: dict[int, int] = {}
        self.log: list[bytes] = []  # every raw message sent, for replays
        self.adversary = Adversary(self)
        # Tests drop chosen deliveries with this: (src, dst, kind, payload) -> drop?
        self.drop: Callable[[int, int, str, object], bool] | None = None
        for node in self.nodes:
            self._schedule(self.rng.uniform(0, 0.25), node.index, "tick", None)
            self._schedule(1.0 + self.rng.uniform(0, 1), node.index, "sync", None)

    # --- scheduling -------------------------------------------------------------

    def _random_partitions(self) -> None:
        n = len(self.nodes)
        for _ in range(self.rng.randint(0, 2)):
            start = self.rng.uniform(0, self.network.heal_at)
            end = self.rng.uniform(start, self.network.heal_at)
            side = frozenset(self.rng.sample(range(n), self.rng.randint(1, n - 1)))
            self.network.partitions.append((start, end, side))

    def _schedule(self, delay: float, node: int, kind: str, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (self.now + delay, self._seq, node, kind, payload))

    def honest(self) -> list[SimNode]:
        return [n for n in self.nodes if not n.byzantine]

    def send(self, src: int, dst: int, kind: str, payload: object) -> None:
        healed = self.now >= self.network.heal_at
        if not self.network.connected(src, dst, self.now):
            return
        if self.drop is not None and self.drop(src, dst, kind, payload):
            return
        if not healed and self.rng.random() < self.network.loss:
            return
        copies = 2 if self.rng.random() < self.network.duplicate else 1
        max_delay = 0.2 if healed else self.network.max_delay
        for _ in range(copies):
            self._schedule(self.rng.uniform(0.005, max_delay), dst, kind, payload)

    def pool_has_transactions(self, height: int) -> bool:
        if height not in self._txs:
            self._txs[height] = self.rng.random() < 0.5
        return self._txs[height]

    # --- running -------------------------------------------------------------------

    def run(self, until: float, stop: Callable[[], bool] | None = None) -> None:
        while self._queue and self._queue[0][0] <= until:
            self.now, _, index, kind, payload = heapq.heappop(self._queue)
            node = self.nodes[index]
            if kind == "tick":
                pool = self.pool_has_transactions(node.height)
                self.dispatch(node, Tick(self.now, pool))
                self._schedule(0.25, index, "tick", None)
            elif kind == "msg":
                assert isinstance(payload, bytes)
                self.dispatch(node, MessageReceived(payload, self.now))
            elif kind == "built":
                assert isinstance(payload, ProposedBlock)
                self.dispatch(node, BlockBuilt(payload, self.now))
            elif kind == "block":
                assert isinstance(payload, tuple)
                self.import_block(node, payload[0], payload[1])
            elif kind == "sync":
                self._sync(node)
                self._schedule(1.0, index, "sync", None)
            if stop is not None and stop():
                return
        self.now = max(self.now, until)

    def dispatch(self, node: SimNode, event: Event) -> None:
        pending: list[Event] = [event]
        while pending:
            for effect in node.core.handle(pending.pop(0)):
                pending.extend(self._apply(node, effect))

    def _apply(self, node: SimNode, effect: Effect) -> list[Event]:
        if isinstance(effect, Broadcast):
            self.log.append(effect.raw)
            if node.byzantine:
                for dst, raw in self.adversary.rewrite(node, effect.raw):
                    self.send(node.index, dst, "msg", raw)
            else:
                for other in self.nodes:
                    if other is not node:
                        self.send(node.index, other.index, "msg", effect.raw)
        elif isinstance(effect, BuildBlock):
            block = self.build_block(node, effect)
            self._schedule(self.rng.uniform(0.01, 0.1), node.index, "built", block)
        elif isinstance(effect, CommitBlock):
            fields = header_fields(effect.header_rlp)
            if not node.byzantine:
                self.finalized_round[fields.number] = max(
                    self.finalized_round.get(fields.number, 0), fields.extra.round
                )
                for other in self.nodes:
                    if other is not node:
                        self.send(
                            node.index, other.index, "block", (effect.header_rlp, effect.body)
                        )
            return self._append(node, effect.header_rlp, effect.body)
        elif isinstance(effect, RoundChanged):
            node.max_round = max(node.max_round, effect.round)
        return []

    # --- the fake shell ----------------------------------------------------------------

    def build_block(self, node: SimNode, request: BuildBlock) -> ProposedBlock:
        empty = not self.pool_has_transactions(request.height)
        body = b"" if empty else self.rng.randbytes(self.rng.randint(8, 64))
        if self.rng.random() < self.invalid_block_rate:
            body, empty = b"BAD" + body, False
        extra = QbftExtraData(ZERO32, self.validators, None, 0, ()).encode()
        header = make_header(
            parent_hash=request.parent_hash,
            coinbase=node.address,
            number=request.height,
            timestamp=request.timestamp,
            extra=extra,
            transaction_root=EMPTY_TRIE_ROOT if empty else keccak(body),
            state_root=keccak(body + request.parent_hash),
        )
        return ProposedBlock(header, body)

    def _validator_for(self, index: int) -> Callable[[ProposedBlock], bool]:
        def validate(block: ProposedBlock) -> bool:
            return not block.body.startswith(b"BAD")

        return validate

    def _append(self, node: SimNode, header: bytes, body: bytes) -> list[Event]:
        """Import a finalized block (own commit or received); checks safety."""
        number = header_fields(header).number
        digest = block_hash(header)
        if not node.byzantine:
            self.finalized.setdefault(number, set()).add(digest)
        if number < node.height:
            return []
        if number > node.height:
            return []  # a gap: sync fills it
        validate_finalized_header(header, self.validators)
        if header_fields(header).parent_hash != chain_hash(node.chain[-1][0]):
            raise AssertionError("finalized block does not extend the importer's head")
        node.chain.append((header, body))
        head = ChainHead(header, self.validators, header_fields(header).coinbase)
        return [NewChainHead(head, self.now)]

    def import_block(self, node: SimNode, header: bytes, body: bytes) -> None:
        if header_fields(header).number != node.height:
            return
        for event in self._append(node, header, body):
            self.dispatch(node, event)

    def _sync(self, node: SimNode) -> None:
        peers = [
            p
            for p in self.honest()
            if p is not node
            and self.network.connected(node.index, p.index, self.now)
            and not (self.drop is not None and self.drop(p.index, node.index, "sync", None))
        ]
        if not peers:
            return
        peer = self.rng.choice(peers)
        for header, body in peer.chain[node.height : node.height + 5]:
            self.import_block(node, header, body)

    # --- properties ----------------------------------------------------------------

    def min_honest_height(self) -> int:
        return min(n.height for n in self.honest())

    def run_until_progress(self, blocks: int, within: float) -> bool:
        """Run until every honest node has ``blocks`` more blocks, or ``within`` passes."""
        target = self.min_honest_height() + blocks
        self.run(self.now + within, stop=lambda: self.min_honest_height() >= target)
        return self.min_honest_height() >= target

    def check_safety(self) -> None:
        for height, hashes in self.finalized.items():
            if len(hashes) > 1:
                raise AssertionError(f"SAFETY: {len(hashes)} blocks finalized at {height}")
        honest = self.honest()
        for height in range(1, min(n.height for n in honest)):
            hashes = {block_hash(n.chain[height][0]) for n in honest}
            if len(hashes) != 1:
                raise AssertionError(f"SAFETY: honest chains differ at {height}")


class Adversary:
    """Rewrites what a Byzantine validator broadcasts.

    An equivocating proposal sends block B to a random group and the honest
    block A to the rest; later PREPAREs and COMMITs of that round then vouch for B
    to B's group and for A to the others, the strongest split a single author
    can attempt.
    """

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.rng = sim.rng
        # (author, height, round) -> (alternative header, the peers that got it)
        self.splits: dict[tuple[bytes, int, int], tuple[bytes, set[int]]] = {}

    def rewrite(self, node: SimNode, raw: bytes) -> list[tuple[int, bytes]]:
        sim, rng = self.sim, self.rng
        peers = [p.index for p in sim.nodes if p is not node]
        message = decode_message(raw)
        mode = rng.choice(
            ["honest", "silent", "equivocate", "equivocate", "corrupt", "skew", "replay"]
        )
        split = self.splits.get((node.address, message.height, message.round))
        if split is not None and mode != "silent" and not isinstance(message, RoundChange):
            mode = "follow-split"
        out: list[tuple[int, bytes]] = []
        if mode == "silent":
            return out
        if mode == "follow-split" and split is not None:
            alternative = self._vouch(node, message, split[0])
            out.extend((p, alternative if p in split[1] else raw) for p in peers)
        if mode in ("honest", "replay", "skew", "corrupt"):
            out.extend((p, raw) for p in peers)
        if mode == "equivocate":
            group = set(rng.sample(peers, rng.randint(1, len(peers) - 1))) if peers else set()
            alternative = self._conflicting(node, message, group)
            out.extend((p, alternative if p in group else raw) for p in peers)
        if mode == "corrupt":
            bad = bytearray(raw)
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
            out.extend((p, bytes(bad)) for p in rng.sample(peers, len(peers) // 2 + 1))
        if mode == "skew":
            out.extend((p, self._skewed(node, message)) for p in peers)
        if mode == "replay" and sim.log:
            for _ in range(3):
                out.append((rng.choice(peers), rng.choice(sim.log)))
        return out

    def _random_hash(self) -> bytes:
        return self.rng.randbytes(32)

    def _vouch(self, node: SimNode, message: object, header: bytes) -> bytes:
        """A PREPARE or COMMIT for the alternative block of an equivocation."""
        key = node.key
        if isinstance(message, Prepare):
            return build_prepare(key, message.height, message.round, block_hash(header)).raw
        if isinstance(message, Commit):
            seal = sign(key, commit_seal_hash(header))
            return build_commit(key, message.height, message.round, block_hash(header), seal).raw
        if isinstance(message, Proposal):
            block = ProposedBlock(header, message.block.body)
            return build_proposal(
                key, message.height, message.round, block, message.round_changes, message.prepares
            ).raw
        raise AssertionError("unknown message")

    def _conflicting(self, node: SimNode, message: object, group: set[int]) -> bytes:
        key, rng = node.key, self.rng
        if isinstance(message, Proposal):
            items = decode_header(message.block.header_rlp)
            extra = QbftExtraData.decode(items[EXTRA_DATA])
            items[EXTRA_DATA] = QbftExtraData(
                rng.randbytes(32), extra.validators, extra.vote, extra.round, ()
            ).encode()
            header = rlp.encode(items)
            self.splits[(node.address, message.height, message.round)] = (header, group)
            return self._vouch(node, message, header)
        if isinstance(message, Prepare):
            return build_prepare(key, message.height, message.round, self._random_hash()).raw
        if isinstance(message, Commit):
            if rng.random() < 0.5:  # right block, seal over something else
                seal = sign(key, self._random_hash())
                return build_commit(
                    key, message.height, message.round, message.block_hash, seal
                ).raw
            digest = self._random_hash()
            return build_commit(key, message.height, message.round, digest, sign(key, digest)).raw
        if isinstance(message, RoundChange):
            fake = ProposedBlock(b"\xc0", b"")
            return build_round_change(
                key, message.height, message.round, (0, self._random_hash(), fake, ())
            ).raw
        raise AssertionError("unknown message")

    def _skewed(self, node: SimNode, message: object) -> bytes:
        key, rng = node.key, self.rng
        height = max(getattr(message, "height", 1) + rng.choice([-1, 0, 1, 2]), 0)
        round_ = getattr(message, "round", 0) + rng.choice([0, 1, 3, 50])
        if rng.random() < 0.5:
            return build_round_change(key, height, max(round_, 1), None).raw
        return build_prepare(key, height, round_, self._random_hash()).raw
