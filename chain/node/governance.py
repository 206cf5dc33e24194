"""Validator governance on one node: the operator's votes and the liveness guard.

Operators of other QBFT chains halted their networks by voting in validators that
were not running (a 1->2 change needs both live) or by dropping one while another
was down. A vote is refused here when, after the change, fewer validators than a
quorum would be known to be live: having sealed a recent block, or (for a new one)
being a connected, synced peer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chain.consensus import block_encoding as qbft
from chain.consensus.voting import is_vote_meaningful
from chain.errors import InvalidParams
from chain.node.chain import Chain

LIVENESS_WINDOW_FACTOR = 2  # look at the seals of the last 2·n blocks


@dataclass(frozen=True)
class SignerMetrics:
    address: bytes
    proposed_blocks: int
    last_proposed_block: int | None
    sealed_blocks: int


def recent_sealers(chain: Chain, blocks: int) -> set[bytes]:
    sealers: set[bytes] = set()
    for number in range(max(1, chain.head_number - blocks + 1), chain.head_number + 1):
        block_hash = chain.store.canonical_hash(number)
        header_rlp = chain.store.header_rlp(block_hash) if block_hash else None
        if header_rlp:
            sealers.update(qbft.recover_seal_authors(header_rlp))
    return sealers


def signer_metrics(chain: Chain, first: int, last: int) -> list[SignerMetrics]:
    proposed: dict[bytes, list[int]] = {}
    sealed: dict[bytes, int] = {}
    for number in range(max(1, first), min(last, chain.head_number) + 1):
        block_hash = chain.store.canonical_hash(number)
        header_rlp = chain.store.header_rlp(block_hash) if block_hash else None
        if not header_rlp:
            continue
        header = qbft.header_fields(header_rlp)
        proposed.setdefault(header.coinbase, []).append(number)
        for author in qbft.recover_seal_authors(header_rlp):
            sealed[author] = sealed.get(author, 0) + 1
    current = set(chain.validators_after(chain.head))
    addresses = sorted(current | set(proposed) | set(sealed))
    return [
        SignerMetrics(
            address=address,
            proposed_blocks=len(proposed.get(address, [])),
            last_proposed_block=max(proposed[address]) if address in proposed else None,
            sealed_blocks=sealed.get(address, 0),
        )
        for address in addresses
    ]


class Governance:
    def __init__(
        self,
        chain: Chain,
        own_address: bytes,
        synced_peers: Callable[[], set[bytes]] = set,
    ) -> None:
        self.chain = chain
        self.own_address = own_address
        self.synced_peers = synced_peers  # validator addresses of connected, synced peers

    def live_validators(self) -> set[bytes]:
        validators = self.chain.validators_after(self.chain.head)
        window = LIVENESS_WINDOW_FACTOR * len(validators) + 1
        live = recent_sealers(self.chain, window) | self.synced_peers()
        if self.own_address in validators:
            live.add(self.own_address)
        return live

    def propose(self, address: bytes, add: bool) -> None:
        validators = self.chain.validators_after(self.chain.head)
        vote = qbft.Vote(address=address, add=add)
        if not is_vote_meaningful(vote, validators):
            state = "already a validator" if add else "not a validator"
            raise InvalidParams(f"0x{address.hex()} is {state}; this vote would change nothing")
        after = set(validators) | {address} if add else set(validators) - {address}
        if not after:
            raise InvalidParams("refused: dropping the last validator would halt the chain")
        live = self.live_validators() & after
        needed = qbft.quorum(len(after))
        if len(live) < needed:
            missing = sorted(after - live)
            raise InvalidParams(
                f"refused: after this change {len(after)} validators need {needed} to agree, but only "
                f"{len(live)} are known to be live; not live: "
                + ", ".join("0x" + m.hex() for m in missing)
                + ". Start and sync them (or remove dead ones) first."
            )
        self.chain.proposed_votes[address] = add

    def discard(self, address: bytes) -> bool:
        return self.chain.proposed_votes.pop(address, None) is not None

    def pending(self) -> dict[bytes, bool]:
        return dict(self.chain.proposed_votes)
