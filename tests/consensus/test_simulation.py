"""Seeded simulations: SAFETY under arbitrary faults, LIVENESS after the network heals."""

from __future__ import annotations

import pytest

from chain.consensus.block_encoding import max_faulty
from tests.consensus.simulation import NetworkModel, Simulation

# After GST every height needs at most a few rounds: timeouts are capped at 16 s and
# at most f proposers in a row are Byzantine, so 3 new blocks fit well within this
# (virtual seconds).
LIVENESS_WINDOW = 150.0


def run_faulty(seed: int, n: int, *, invalid_block_rate: float = 0.0) -> Simulation:
    """Faults until heal_at; then every honest node must gain 3 blocks in few rounds."""
    f = max_faulty(n)
    sim = Simulation(seed, n, f, invalid_block_rate=invalid_block_rate)
    sim.run(sim.network.heal_at)
    sim.check_safety()
    first_new = sim.min_honest_height()
    round_at_heal = max(node.core.round for node in sim.honest())
    progressed = sim.run_until_progress(3, LIVENESS_WINDOW)
    sim.check_safety()
    assert progressed, (
        f"LIVENESS: seed {seed} n={n}: heights {[x.height for x in sim.nodes]}, "
        f"rounds {[x.max_round for x in sim.nodes]}"
    )
    # Bounded rounds: the first height may carry the partition's rounds; after it, at
    # most f Byzantine proposers in a row (plus one unlucky round) stand in the way,
    # more when honest proposers build blocks the others refuse.
    slack = 8 if invalid_block_rate else 0
    rounds = [sim.finalized_round.get(h, 0) for h in range(first_new, first_new + 3)]
    assert rounds[0] <= round_at_heal + 2 * f + 2 + slack, f"seed {seed}: rounds {rounds}"
    assert max(rounds[1:]) <= f + 2 + slack, f"seed {seed}: rounds {rounds}"
    return sim


@pytest.mark.parametrize("seed", range(250))
def test_four_validators_one_byzantine(seed: int) -> None:
    run_faulty(seed, 4)


@pytest.mark.parametrize("seed", range(120))
def test_seven_validators_two_byzantine(seed: int) -> None:
    run_faulty(seed, 7)


@pytest.mark.parametrize("seed", range(40))
def test_invalid_blocks_are_skipped(seed: int) -> None:
    run_faulty(1000 + seed, 4, invalid_block_rate=0.3)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10])
def test_perfect_network_finalizes_every_height_in_round_zero(n: int) -> None:
    network = NetworkModel(loss=0.0, duplicate=0.0, max_delay=0.1, heal_at=0.0)
    sim = Simulation(7, n, network=network, random_partitions=False)
    sim.run(20.0)
    sim.check_safety()
    assert sim.min_honest_height() >= 5
    assert all(node.max_round == 0 for node in sim.nodes)


def test_idle_chain_makes_empty_blocks_at_the_empty_block_period() -> None:
    network = NetworkModel(loss=0.0, duplicate=0.0, max_delay=0.1, heal_at=0.0)
    sim = Simulation(3, 4, network=network, random_partitions=False)
    sim._txs = {h: False for h in range(100)}  # the pool stays empty
    sim.run(31.0)
    sim.check_safety()
    # empty_block_period = 3 s: ten empty blocks in 31 s, no round changes.
    assert sim.min_honest_height() == 11
    assert all(node.max_round == 0 for node in sim.nodes)


def quiet_network() -> NetworkModel:
    return NetworkModel(loss=0.0, duplicate=0.0, max_delay=0.1, heal_at=0.0)


def is_commit(kind: str, payload: object) -> bool:
    return kind == "msg" and isinstance(payload, bytes) and payload[2:3] == b"\x14"


@pytest.mark.parametrize("seed", range(10))
def test_lost_commits_lead_to_re_proposal_of_the_prepared_block(seed: int) -> None:
    sim = Simulation(seed, 4, network=quiet_network(), random_partitions=False)
    sim.drop = lambda src, dst, kind, payload: is_commit(kind, payload) and sim.now < 6.0
    sim.run(30.0)
    sim.check_safety()
    assert sim.finalized_round[1] >= 1  # height 1 needed a round change
    assert sim.min_honest_height() >= 3


@pytest.mark.parametrize("seed", range(10))
def test_block_finalized_by_one_isolated_node_is_the_one_re_proposed(seed: int) -> None:
    """The locking rule: node 0 alone sees the commits, finalizes, and is cut off.

    The others hold the prepared block; whoever proposes in the next round must
    re-propose it, or node 0's chain and theirs diverge when the partition heals.
    """
    sim = Simulation(seed, 4, network=quiet_network(), random_partitions=False)
    lone = sim.nodes[0]

    def drop(src: int, dst: int, kind: str, payload: object) -> bool:
        if sim.now >= 25.0:
            return False
        if lone.height >= 2 or kind in ("block", "sync"):
            return lone.index in (src, dst)
        return is_commit(kind, payload) and dst != lone.index

    sim.drop = drop
    sim.run(60.0)
    sim.check_safety()
    assert lone.chain[1][0] != b"" and sim.min_honest_height() >= 4
    assert sim.finalized_round[1] >= 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("n", "first_seed"),
    [(4, 10_000 + 500 * chunk) for chunk in range(4)]
    + [(7, 20_000 + 250 * chunk) for chunk in range(4)],
)
def test_sweep_thousands_of_seeds(n: int, first_seed: int) -> None:
    """2,000 seeds at n=4 and 1,000 at n=7, in chunks that each fit the test timeout."""
    for seed in range(first_seed, first_seed + (500 if n == 4 else 250)):
        run_faulty(seed, n, invalid_block_rate=0.1 if seed % 5 == 0 else 0.0)
