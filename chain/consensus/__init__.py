"""Sans-IO QBFT consensus core (EEA QBFT rules, Hyperledger Besu encodings).

The shell (node runner) owns clocks, sockets, storage and py-evm, and drives one
``QbftCore`` per node:

- ``Tick(now, pool_has_transactions)`` every ~100-250 ms;
- ``MessageReceived(raw, now)`` for every consensus message from a peer;
- ``BlockBuilt(block, now)`` answering a ``BuildBlock`` effect;
- ``NewChainHead(head, now)`` after importing the block at the core's height
  (its own ``CommitBlock`` or one received by sync, checked with
  ``validate_finalized_header`` and executed).

It performs the returned effects in order: ``Broadcast`` (send to every other
validator), ``BuildBlock`` (build on the head with extraData round 0, no seals,
coinbase = this node), ``CommitBlock`` (import, persist, gossip the block), and
``RoundChanged`` (metrics). ``QbftCore.round_state()`` serves the round-state RPC.
"""

from chain.consensus.block_encoding import (
    MIX_HASH,
    QbftExtraData,
    Vote,
    block_hash,
    commit_seal_hash,
    header_fields,
    max_faulty,
    proposer_for_round,
    quorum,
    validate_finalized_header,
    with_round_and_seals,
)
from chain.consensus.core import QbftCore
from chain.consensus.events import (
    BlockBuilt,
    BlockValidator,
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
    RoundState,
    Tick,
)
from chain.consensus.messages import ProposedBlock

__all__ = [
    "MIX_HASH",
    "BlockBuilt",
    "BlockValidator",
    "Broadcast",
    "BuildBlock",
    "ChainHead",
    "CommitBlock",
    "Effect",
    "Event",
    "MessageReceived",
    "NewChainHead",
    "ProposedBlock",
    "QbftConfig",
    "QbftCore",
    "QbftExtraData",
    "RoundChanged",
    "RoundState",
    "Tick",
    "Vote",
    "block_hash",
    "commit_seal_hash",
    "header_fields",
    "max_faulty",
    "proposer_for_round",
    "quorum",
    "validate_finalized_header",
    "with_round_and_seals",
]
