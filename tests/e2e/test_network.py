"""A real 4-validator network of separate processes on loopback, with faults."""

from __future__ import annotations

import random
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from chain.network_init import NodeLayout, init_network
from chain.p2p.pki import create_ca, issue_node_certificate
from tests.e2e.node_process import NodeProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _free_base(count: int) -> tuple[int, int]:
    """Base ports for init_network: http base + 10·i (+0..2) and p2p base + i, all free."""
    rng = random.Random()
    for _ in range(200):
        http, p2p = rng.randrange(20_000, 40_000, 10), rng.randrange(41_000, 60_000)
        ports = [http + 10 * i + k for i in range(count) for k in range(3)] + [p2p + i for i in range(count)]
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return http, p2p
    raise RuntimeError("no free port range")


class Network:
    def __init__(self, folder: Path, layouts: list[NodeLayout]) -> None:
        self.folder = folder
        self.layouts = layouts
        self.nodes = [NodeProcess(layout.folder, layout.http_port, layout.ws_port) for layout in layouts]

    def rpc(self, index: int, method: str, *params: object) -> object:
        reply = httpx.post(self.nodes[index].http_url, timeout=10,
                           json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).json()
        if "error" in reply:
            raise AssertionError(f"node {index} {method}: {reply['error']}")
        return reply["result"]

    def head(self, index: int) -> int:
        return int(str(self.rpc(index, "eth_blockNumber")), 16)

    def block_hash(self, index: int, number: int) -> str | None:
        block = self.rpc(index, "eth_getBlockByNumber", hex(number), False)
        return None if block is None else str(block["hash"])  # type: ignore[index]

    def validators(self, index: int) -> list[str]:
        return list(self.rpc(index, "qbft_getValidatorsByBlockNumber", "latest"))  # type: ignore[arg-type]

    def wait(self, what: str, condition: Callable[[], bool], timeout: float = 60) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if condition():
                    return time.monotonic() - started
            except (httpx.HTTPError, AssertionError):
                pass
            time.sleep(0.5)
        logs = "\n".join(f"--- node {i}\n{n.log()[-1500:]}" for i, n in enumerate(self.nodes))
        raise AssertionError(f"timed out after {timeout}s waiting for: {what}\n{logs}")

    def assert_same_chain(self, indexes: list[int]) -> None:
        common = min(self.head(i) for i in indexes)
        for number in {1, common // 2, common}:
            hashes = {self.block_hash(i, number) for i in indexes}
            assert len(hashes) == 1, f"fork at block {number}: {hashes}"


def _admin_transfer(network: Network) -> str:
    from eth_account import Account

    from chain.keys import load_private_key

    key = load_private_key(network.folder / "admin" / "city-admin.json")
    tx = {"to": "0x" + "99" * 20, "value": 1, "gas": 21_000, "gasPrice": 0, "nonce": 0, "chainId": 20211}
    return "0x" + bytes(Account.sign_transaction(tx, key).raw_transaction).hex()


@pytest.fixture
def network(tmp_path: Path):
    http, p2p = _free_base(5)
    layouts = init_network(tmp_path, validators=4, observers=1, dev_keys=True, block_period=1,
                           empty_block_period=1, base_http_port=http, base_p2p_port=p2p)
    net = Network(tmp_path, layouts)
    yield net
    for node in net.nodes:
        node.stop()


def test_four_validators_survive_faults_resync_and_change_membership(network: Network) -> None:
    for index in range(5):
        network.nodes[index].start()
    network.wait("all nodes past block 3", lambda: all(network.head(i) >= 3 for i in range(5)))
    network.assert_same_chain([0, 1, 2, 3, 4])

    # Any node's RPC accepts transactions, the observer's too: they are forwarded.
    tx_hash = network.rpc(4, "eth_sendRawTransaction", _admin_transfer(network))
    network.wait("forwarded transaction mined", lambda: network.rpc(0, "eth_getTransactionReceipt", tx_hash) is not None)

    # One validator down (f = 1 of 4): finality continues.
    network.nodes[3].kill9()
    start = network.head(0)
    network.wait("finality with one validator down", lambda: network.head(0) >= start + 3, timeout=60)

    # Two down: no quorum, so no new blocks -- and no fork.
    network.nodes[2].kill9()
    time.sleep(4)  # let any block in flight settle
    stalled = network.head(0)
    time.sleep(8)
    assert network.head(0) == stalled and network.head(1) == stalled
    network.assert_same_chain([0, 1, 4])

    # Restart both: they sync and finalization resumes within a bounded time.
    network.nodes[2].start()
    network.nodes[3].start()
    resumed = network.wait("finalization resumes", lambda: network.head(0) >= stalled + 3, timeout=90)
    network.wait("restarted nodes catch up", lambda: min(network.head(2), network.head(3)) >= stalled + 3)
    network.assert_same_chain([0, 1, 2, 3, 4])
    print(f"finalization resumed {resumed:.1f}s after restarting the two validators")

    # A validator restarted on an empty data directory syncs back.
    network.nodes[1].kill9()
    shutil.rmtree(network.layouts[1].folder / "data")
    network.nodes[1].start()
    network.wait("empty data dir resyncs", lambda: network.head(1) >= network.head(0) - 1, timeout=90)
    network.assert_same_chain([0, 1, 2, 3])

    # The observer becomes a 5th validator by vote, then validator 3 is voted out.
    newcomer = "0x" + network.layouts[4].address.hex()
    for index in (0, 1, 2):
        assert network.rpc(index, "qbft_proposeValidatorVote", newcomer, True) is True
    network.wait("5 validators", lambda: len(network.validators(0)) == 5, timeout=60)
    after_add = network.head(0)
    network.wait("finality with 5 validators", lambda: network.head(4) >= after_add + 3)
    leaving = "0x" + network.layouts[3].address.hex()
    for index in (0, 1, 4):
        assert network.rpc(index, "qbft_proposeValidatorVote", leaving, False) is True
    network.wait("validator 3 removed", lambda: leaving not in network.validators(0), timeout=60)
    after_remove = network.head(0)
    network.wait("finality after removal", lambda: network.head(0) >= after_remove + 3)
    assert len(network.validators(0)) == 4
    network.assert_same_chain([0, 1, 2, 3, 4])


def test_a_node_with_a_certificate_from_another_ca_cannot_connect(network: Network) -> None:
    for index in range(4):
        network.nodes[index].start()
    network.wait("validators finalize", lambda: network.head(0) >= 2)
    # Give the observer a certificate for its own node id, but from a foreign CA.
    from chain.devnet import node_id_of
    from chain.keys import load_private_key

    node_key = load_private_key(network.layouts[4].folder / "keys" / "node.json")
    foreign_key, foreign_ca = create_ca("not the consortium")
    tls_key, tls_cert = issue_node_certificate(foreign_key, foreign_ca, node_id_of(node_key), "intruder")
    tls = network.layouts[4].folder / "tls"
    (tls / "node.key").write_bytes(tls_key)
    (tls / "node.pem").write_bytes(tls_cert)
    network.nodes[4].start()
    time.sleep(6)
    assert network.head(4) == 0
    assert int(str(network.rpc(4, "net_peerCount")), 16) == 0
    assert network.head(0) >= 4
    refusals = "".join(network.nodes[i].log() for i in range(4))
    assert "certificate" in refusals.lower() and "refus" in refusals.lower()


def test_devnet_command_runs_four_processes_and_stops_them_all_on_ctrl_c(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    http, p2p = _free_base(4)
    devnet = subprocess.Popen(
        [sys.executable, "-m", "chain.cli", "devnet", "--validators", "4", "--dir", str(tmp_path),
         "--base-http-port", str(http), "--base-p2p-port", str(p2p)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        url = f"http://127.0.0.1:{http + 30}"  # node 3

        def finalized() -> bool:
            reply = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}, timeout=2)
            return int(reply.json()["result"], 16) >= 2

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if finalized():
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError("the devnet did not finalize blocks")
    finally:
        devnet.send_signal(signal.SIGINT)
        output, _ = devnet.communicate(timeout=60)
    assert devnet.returncode == 0, output
    for index in range(4):
        assert f"node-{index}: http://127.0.0.1:{http + 10 * index}" in output
    assert "all nodes stopped" in output
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert leftover.strip() == "", f"node processes still running: {leftover}"
