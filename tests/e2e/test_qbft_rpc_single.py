"""qbft_* RPC methods, the liveness guard and Prometheus metrics on a real single node."""

from __future__ import annotations

import httpx
import pytest

from chain.devnet import address_of, dev_private_key, write_dev_network
from tests.e2e.node_process import NodeProcess, free_port

pytestmark = pytest.mark.timeout(120)
VALIDATOR = "0x" + address_of(dev_private_key("validator:0")).hex()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("qbft")
    http, ws, metrics = free_port(), free_port(), free_port()
    write_dev_network(folder, http_port=http, ws_port=ws, metrics_port=metrics, empty_block_period=1)
    process = NodeProcess(folder, http, ws)
    process.metrics_port = metrics  # type: ignore[attr-defined]
    process.start()
    yield process
    process.stop()


def test_signer_metrics_and_round_state(node: NodeProcess) -> None:
    import time

    time.sleep(2.5)
    metrics = node.rpc("qbft_getSignerMetrics", ["0x1", "0x2"])["result"]
    assert [m["address"] for m in metrics] == [VALIDATOR]
    assert int(metrics[0]["proposedBlockCount"], 16) == 2
    assert metrics[0]["sealedBlockCount"] == metrics[0]["proposedBlockCount"]
    before = int(node.rpc("eth_blockNumber")["result"], 16)
    state = node.rpc("qbft_getRoundState")["result"]
    after = int(node.rpc("eth_blockNumber")["result"], 16)  # blocks come every second
    assert state["validator"] is True and state["proposer"] == VALIDATOR
    assert before + 1 <= int(state["height"], 16) <= after + 1
    assert state["liveValidators"] == [VALIDATOR]


def test_votes_that_would_halt_the_chain_are_refused(node: NodeProcess) -> None:
    stranger = "0x" + "ab" * 20
    refused = node.rpc("qbft_proposeValidatorVote", [stranger, True])["error"]
    # 1 -> 2 validators needs both live: the newcomer is not running.
    assert refused["code"] == -32602 and "need 2 to agree" in refused["message"] and stranger in refused["message"]
    drop_last = node.rpc("qbft_proposeValidatorVote", [VALIDATOR, False])["error"]
    assert "last validator" in drop_last["message"]
    pointless = node.rpc("qbft_proposeValidatorVote", [VALIDATOR, True])["error"]
    assert "already a validator" in pointless["message"]
    assert node.rpc("qbft_getPendingVotes")["result"] == {}
    assert node.rpc("qbft_discardValidatorVote", [stranger])["result"] is False
    bad = node.rpc("qbft_proposeValidatorVote", ["0x12", True])["error"]
    assert bad["code"] == -32602 and "params[0]" in bad["message"]


def test_prometheus_metrics(node: NodeProcess) -> None:
    text = httpx.get(f"http://127.0.0.1:{node.metrics_port}/metrics").text  # type: ignore[attr-defined]
    values = {line.split()[0]: line.split()[1] for line in text.splitlines() if line and not line.startswith("#")}
    assert int(values["citychain_chain_height"]) >= 1
    assert values["citychain_is_validator"] == "1"
    for name in ("citychain_round_changes_total", "citychain_peers", "citychain_txpool_pending",
                 "citychain_block_interval_seconds", "citychain_finality_latency_seconds"):
        assert name in values
