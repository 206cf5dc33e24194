"""kill -9 the node while transactions stream in; restart; nothing acknowledged is lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from chain.devnet import DEV_ACCOUNTS
from chain.genesis import load_genesis
from chain.node.chain import Chain
from chain.storage.lmdb_store import LmdbStore
from tests.e2e.node_process import dev_node

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SENDERS = DEV_ACCOUNTS[:3]


def _rpc(url: str, method: str, params: list) -> dict:
    return httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=5).json()


class Streamer(threading.Thread):
    """Sends transfers from several accounts; records what the node acknowledged."""

    def __init__(self, url: str, chain_id: int) -> None:
        super().__init__(daemon=True)
        self.url, self.chain_id = url, chain_id
        self.acknowledged: list[str] = []
        self.receipts: dict[str, dict] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        nonces = {a.label: 0 for a in SENDERS}
        while not self.stop.is_set():
            for account in SENDERS:
                tx = {"to": "0x" + "77" * 20, "value": 1, "gas": 21_000, "gasPrice": 0,
                      "nonce": nonces[account.label], "chainId": self.chain_id}
                raw = "0x" + bytes(Account.sign_transaction(tx, account.private_key).raw_transaction).hex()
                try:
                    reply = _rpc(self.url, "eth_sendRawTransaction", [raw])
                except httpx.HTTPError:
                    return  # the node died
                if "result" in reply:
                    self.acknowledged.append(reply["result"])
                    nonces[account.label] += 1
            for tx_hash in self.acknowledged[-6:]:
                try:
                    reply = _rpc(self.url, "eth_getTransactionReceipt", [tx_hash])
                except httpx.HTTPError:
                    return
                if reply.get("result"):
                    self.receipts[tx_hash] = reply["result"]
            time.sleep(0.02)


@pytest.mark.parametrize("kill_after", [2.5, 4.2])
def test_kill9_while_streaming_loses_nothing_acknowledged(tmp_path: Path, kill_after: float) -> None:
    node = dev_node(tmp_path)
    node.start()
    streamer = Streamer(node.http_url, 20211)
    streamer.start()
    time.sleep(kill_after)
    node.kill9()
    streamer.stop.set()
    streamer.join(10)
    assert streamer.acknowledged and streamer.receipts, node.log()
    print(f"acknowledged {len(streamer.acknowledged)}, receipts {len(streamer.receipts)}")

    # What the store holds right after the crash: a consistent head with its state.
    store = LmdbStore(tmp_path / "data" / "chain")
    chain = Chain(store, load_genesis(tmp_path / "genesis.json"))
    crashed_head, crashed_root = chain.head_hash, chain.head.state_root
    crashed_number = chain.head_number
    store.close()

    node.start()
    try:
        block = _rpc(node.http_url, "eth_getBlockByNumber", [hex(crashed_number), False])["result"]
        assert block["hash"] == "0x" + crashed_head.hex()
        assert block["stateRoot"] == "0x" + crashed_root.hex()
        # Every receipt the node had given out is still there, in the same block.
        for tx_hash, receipt in streamer.receipts.items():
            again = _rpc(node.http_url, "eth_getTransactionReceipt", [tx_hash])["result"]
            assert again is not None, tx_hash
            assert (again["blockHash"], again["status"]) == (receipt["blockHash"], receipt["status"])
        # Every acknowledged transaction was kept (the pool is durable) and gets mined.
        deadline = time.monotonic() + 60
        missing = set(streamer.acknowledged)
        while missing and time.monotonic() < deadline:
            missing = {h for h in missing if not _rpc(node.http_url, "eth_getTransactionReceipt", [h])["result"]}
            time.sleep(0.5)
        assert not missing, f"{len(missing)} acknowledged transactions lost"
    finally:
        node.stop()
