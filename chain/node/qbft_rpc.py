"""The qbft_* JSON-RPC methods: validator governance and round-state observability."""

from __future__ import annotations

import time
from typing import Any

from chain.node.driver import ConsensusDriver
from chain.node.governance import Governance, signer_metrics
from chain.rpc import codec
from chain.rpc.methods import MethodRegistry, RpcContext, build_eth_methods, resolve_block_number

SIGNER_METRICS_DEFAULT_BLOCKS = 100


def build_methods(governance: Governance, driver: ConsensusDriver | None) -> MethodRegistry:
    registry = build_eth_methods()
    chain = governance.chain

    def propose_vote(context: RpcContext, params: list[Any]) -> bool:
        address = codec.decode_address(params[0], "params[0]")
        add = codec.decode_bool(params[1], "params[1]")
        governance.propose(address, add)
        return True

    def discard_vote(context: RpcContext, params: list[Any]) -> bool:
        return governance.discard(codec.decode_address(params[0], "params[0]"))

    def pending_votes(context: RpcContext, params: list[Any]) -> dict[str, bool]:
        return {codec.encode_data(a): add for a, add in sorted(governance.pending().items())}

    def metrics(context: RpcContext, params: list[Any]) -> list[dict[str, Any]]:
        head = chain.head_number
        last = head if params[1] is None else resolve_block_number(context, codec.decode_block_tag(params[1], "params[1]"))
        first = (
            max(1, last - SIGNER_METRICS_DEFAULT_BLOCKS + 1)
            if params[0] is None
            else resolve_block_number(context, codec.decode_block_tag(params[0], "params[0]"))
        )
        return [
            {
                "address": codec.encode_data(m.address),
                "proposedBlockCount": codec.encode_quantity(m.proposed_blocks),
                "lastProposedBlockNumber": codec.encode_quantity(m.last_proposed_block or 0),
                "sealedBlockCount": codec.encode_quantity(m.sealed_blocks),
            }
            for m in signer_metrics(chain, first, last)
        ]

    def round_state(context: RpcContext, params: list[Any]) -> dict[str, Any]:
        if driver is None:
            return {"validator": False, "height": codec.encode_quantity(chain.head_number + 1)}
        state = driver.round_state()
        return {
            "validator": driver.is_validator,
            "height": codec.encode_quantity(state.height),
            "round": codec.encode_quantity(state.round),
            "proposer": codec.encode_data(state.proposer),
            "acceptedProposalHash": None
            if state.accepted_proposal_hash is None
            else codec.encode_data(state.accepted_proposal_hash),
            "preparedRound": None if state.prepared_round is None else codec.encode_quantity(state.prepared_round),
            "preparesFrom": [codec.encode_data(a) for a in state.prepares_from],
            "commitsFrom": [codec.encode_data(a) for a in state.commits_from],
            "roundChangesFrom": [codec.encode_data(a) for a in state.round_changes_from],
            "secondsToTimeout": None
            if state.next_timeout is None
            else round(max(0.0, state.next_timeout - time.time()), 3),
            "finalized": state.finalized,
            "liveValidators": sorted(codec.encode_data(a) for a in governance.live_validators()),
        }

    registry.register("qbft_proposeValidatorVote", propose_vote, required=("address", "add"))
    registry.register("qbft_discardValidatorVote", discard_vote, required=("address",))
    registry.register("qbft_getPendingVotes", pending_votes)
    registry.register("qbft_getSignerMetrics", metrics, optional=("fromBlock", "toBlock"))
    registry.register("qbft_getRoundState", round_state)
    return registry
