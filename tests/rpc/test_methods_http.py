"""Every method's happy path over HTTP, with the exact JSON shapes clients format."""

from __future__ import annotations

from tests.rpc.fake_node import (
    ALICE,
    APPROVAL_TOPIC,
    BOB,
    CHAIN_ID,
    CREATED,
    TOKEN,
    TRANSFER_TOPIC,
    VALIDATORS,
    FakeNode,
)

HEADER_KEYS = {
    "number", "hash", "parentHash", "nonce", "sha3Uncles", "logsBloom", "transactionsRoot",
    "stateRoot", "receiptsRoot", "miner", "difficulty", "extraData", "gasLimit", "gasUsed",
    "timestamp", "mixHash", "baseFeePerGas", "withdrawalsRoot", "blobGasUsed", "excessBlobGas",
    "parentBeaconBlockRoot",
}
BLOCK_KEYS = HEADER_KEYS | {"size", "totalDifficulty", "transactions", "uncles", "withdrawals"}
LOG_KEYS = {"address", "topics", "data", "blockNumber", "blockHash", "transactionHash",
            "transactionIndex", "logIndex", "removed"}


def hexed(value: bytes) -> str:
    return "0x" + value.hex()


def test_node_identity(server):
    assert server.result("web3_clientVersion") == "citychain/v0.1.0-test/python3.11"
    assert server.result("net_version") == str(CHAIN_ID)
    assert server.result("net_listening") is True
    assert server.result("net_peerCount") == "0x3"
    assert server.result("eth_chainId") == hex(CHAIN_ID)
    assert server.result("eth_syncing") is False
    assert server.result("eth_blockNumber") == "0x2"
    assert server.result("eth_accounts") == []


def test_block_by_number_with_hashes(server):
    block = server.result("eth_getBlockByNumber", "0x2", False)
    assert set(block) == BLOCK_KEYS
    node_block = server.node.blocks[2]
    assert block["number"] == "0x2"
    assert block["hash"] == hexed(node_block.hash)
    assert block["parentHash"] == hexed(server.node.blocks[1].hash)
    assert block["nonce"] == "0x0000000000000000"
    assert len(block["logsBloom"]) == 2 + 512
    assert block["transactions"] == [hexed(tx.hash) for tx in node_block.transactions]
    assert block["uncles"] == [] and block["withdrawals"] == []
    assert block["baseFeePerGas"] == hex(10**9)
    assert block["totalDifficulty"] == "0x3"


def test_block_tags(server):
    head = server.result("eth_getBlockByNumber", "latest", False)["number"]
    assert head == "0x2"
    for tag in ("safe", "finalized", "pending"):
        assert server.result("eth_getBlockByNumber", tag, False)["number"] == head
    assert server.result("eth_getBlockByNumber", "earliest", False)["number"] == "0x0"


def test_full_transactions_shapes(server):
    block = server.result("eth_getBlockByNumber", "0x2", True)
    dynamic, access_list_tx = block["transactions"]
    assert dynamic["type"] == "0x2"
    assert dynamic["maxFeePerGas"] == hex(3 * 10**9)
    assert dynamic["maxPriorityFeePerGas"] == hex(10**9)
    assert dynamic["gasPrice"] == hex(2 * 10**9)  # the effective price once mined
    assert dynamic["yParity"] == "0x1" and dynamic["v"] == "0x1"
    assert dynamic["chainId"] == hex(CHAIN_ID)
    assert dynamic["accessList"] == []
    assert dynamic["blockNumber"] == "0x2" and dynamic["transactionIndex"] == "0x0"
    assert access_list_tx["type"] == "0x1"
    assert access_list_tx["to"] is None
    assert access_list_tx["accessList"] == [{
        "address": hexed(TOKEN),
        "storageKeys": ["0x" + "00" * 32, "0x" + "00" * 31 + "01"],
    }]
    assert "maxFeePerGas" not in access_list_tx
    legacy = server.result("eth_getBlockByNumber", "0x1", True)["transactions"][0]
    assert legacy["type"] == "0x0"
    assert legacy["v"] == hex(CHAIN_ID * 2 + 35)
    assert legacy["r"] == hex(2**255 + 1)
    assert "yParity" not in legacy and "accessList" not in legacy
    assert legacy["from"] == hexed(ALICE) and legacy["to"] == hexed(BOB)
    assert legacy["value"] == hex(10**18) and legacy["input"] == "0x"


def test_block_by_hash_and_counts(server):
    block_hash = hexed(server.node.blocks[2].hash)
    assert server.result("eth_getBlockByHash", block_hash, False)["number"] == "0x2"
    assert server.result("eth_getBlockTransactionCountByNumber", "0x2") == "0x2"
    assert server.result("eth_getBlockTransactionCountByNumber", "earliest") == "0x0"
    assert server.result("eth_getBlockTransactionCountByHash", block_hash) == "0x2"
    by_index = server.result("eth_getTransactionByBlockHashAndIndex", block_hash, "0x1")
    assert by_index["type"] == "0x1"
    assert server.result("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x0")["type"] == "0x0"


def test_unknown_things_are_null(server):
    unknown = "0x" + "99" * 32
    assert server.result("eth_getBlockByNumber", "0x64", False) is None
    assert server.result("eth_getBlockByHash", unknown, True) is None
    assert server.result("eth_getBlockTransactionCountByNumber", "0x64") is None
    assert server.result("eth_getBlockTransactionCountByHash", unknown) is None
    assert server.result("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x5") is None
    assert server.result("eth_getTransactionByHash", unknown) is None
    assert server.result("eth_getTransactionReceipt", unknown) is None


def test_state_queries(server):
    alice, token = hexed(ALICE), hexed(TOKEN)
    assert server.result("eth_getBalance", alice, "latest") == hex(5 * 10**18)
    assert server.result("eth_getBalance", alice) == hex(5 * 10**18)
    assert server.result("eth_getTransactionCount", alice, "0x1") == "0x3"
    assert server.result("eth_getCode", token, "latest") == "0x6080"
    assert server.result("eth_getCode", alice, "latest") == "0x"
    assert server.result("eth_getStorageAt", token, "0x1", "latest") == "0x" + "00" * 31 + "01"
    assert server.result("eth_getStorageAt", token, "0x" + "00" * 31 + "02") == "0x" + "00" * 31 + "02"


def test_block_selectors_reach_the_node_resolved(server):
    alice = hexed(ALICE)
    block_hash = hexed(server.node.blocks[1].hash)
    for tag in ("latest", "safe", "finalized", "pending", "earliest", "0x1", block_hash,
                {"blockHash": block_hash}, {"blockNumber": "0x1"}):
        server.result("eth_getBalance", alice, tag)
    assert [selector for _, selector in server.node.calls] == [
        2, 2, 2, "pending", 0, 1, 1, 1, 1]


def test_pending_nonce_counts_the_pool(server):
    server.result("eth_sendRawTransaction", "0x02f8")
    assert server.result("eth_getTransactionCount", hexed(ALICE), "pending") == "0x4"


def test_call_and_estimate(server):
    call = {"from": hexed(ALICE), "to": hexed(TOKEN), "data": "0x70a08231"}
    assert server.result("eth_call", call, "latest") == "0x" + "00" * 31 + "2a"
    assert server.result("eth_call", call) == "0x" + "00" * 31 + "2a"
    assert server.result("eth_estimateGas", call) == hex(21_000 + 16 * 4)
    assert server.result("eth_estimateGas", {"to": hexed(BOB), "value": "0x1"}) == hex(21_000)


def test_fees(server):
    assert server.result("eth_gasPrice") == hex(2 * 10**9)
    assert server.result("eth_maxPriorityFeePerGas") == hex(10**9)
    history = server.result("eth_feeHistory", "0x2", "latest", [25, 75])
    assert history == {
        "oldestBlock": "0x1",
        "baseFeePerGas": [hex(10**9)] * 3,
        "gasUsedRatio": [0.5, 0.5],
        "reward": [[hex(10**9)] * 2] * 2,
    }
    assert "reward" not in server.result("eth_feeHistory", "0x1", "latest", [])


def test_fee_history_block_count_is_capped(server):
    for _ in range(3):
        server.on_loop(lambda: server.node.commit_block([]))
    history = server.result("eth_feeHistory", 5000, "latest")
    assert history["oldestBlock"] == "0x0"  # capped to the blocks there are
    assert len(history["gasUsedRatio"]) == 6
    assert server.result("eth_feeHistory", "0x0", "latest")["baseFeePerGas"] == []


def test_send_raw_transaction_and_lookup(server):
    tx_hash = server.result("eth_sendRawTransaction", "0x02f86c")
    pending = server.result("eth_getTransactionByHash", tx_hash)
    assert pending["hash"] == tx_hash
    assert pending["blockHash"] is None and pending["blockNumber"] is None
    assert pending["transactionIndex"] is None


def test_receipts(server):
    create = server.node.blocks[2].transactions[1]
    receipt = server.result("eth_getTransactionReceipt", hexed(create.hash))
    assert receipt == {
        "transactionHash": hexed(create.hash),
        "transactionIndex": "0x1",
        "blockHash": hexed(server.node.blocks[2].hash),
        "blockNumber": "0x2",
        "from": hexed(ALICE),
        "to": None,
        "contractAddress": hexed(CREATED),
        "cumulativeGasUsed": hex(42_000),
        "gasUsed": hex(21_000),
        "effectiveGasPrice": hex(2 * 10**9),
        "status": "0x1",
        "logs": [],
        "logsBloom": "0x" + "00" * 256,
        "type": "0x1",
    }
    transfer = server.node.blocks[2].transactions[0]
    logs = server.result("eth_getTransactionReceipt", hexed(transfer.hash))["logs"]
    assert [set(log) for log in logs] == [LOG_KEYS, LOG_KEYS]
    assert [log["logIndex"] for log in logs] == ["0x0", "0x1"]


def test_get_logs(server):
    everything = server.result("eth_getLogs", {"fromBlock": "earliest", "toBlock": "latest"})
    assert len(everything) == 2
    first = everything[0]
    assert set(first) == LOG_KEYS
    assert first["address"] == hexed(TOKEN)
    assert first["topics"][0] == hexed(TRANSFER_TOPIC)
    assert first["data"] == "0x" + (1000).to_bytes(32, "big").hex()
    assert first["removed"] is False
    assert server.result("eth_getLogs", {}) == everything  # latest..latest is block 2
    approvals = server.result("eth_getLogs", {"fromBlock": "0x0", "address": [hexed(TOKEN)],
                                              "topics": [[hexed(APPROVAL_TOPIC)]]})
    assert [log["topics"][0] for log in approvals] == [hexed(APPROVAL_TOPIC)]
    by_hash = server.result("eth_getLogs", {"blockHash": hexed(server.node.blocks[2].hash)})
    assert by_hash == everything
    assert server.result("eth_getLogs", {"fromBlock": "0x10", "toBlock": "0x20"}) == []
    assert server.result("eth_getLogs", {"address": hexed(BOB), "fromBlock": "0x0"}) == []


def test_poll_filters(server):
    block_filter = server.result("eth_newBlockFilter")
    log_filter = server.result("eth_newFilter", {"address": hexed(TOKEN)})
    assert server.result("eth_getFilterChanges", block_filter) == []
    node: FakeNode = server.node
    block = server.on_loop(lambda: node.commit_block([node.token_transfer(nonce=9)]))
    assert server.result("eth_getFilterChanges", block_filter) == [hexed(block.hash)]
    changes = server.result("eth_getFilterChanges", log_filter)
    assert [log["blockNumber"] for log in changes] == ["0x3", "0x3"]
    assert server.result("eth_getFilterChanges", log_filter) == []
    history = server.result("eth_getFilterLogs", server.result(
        "eth_newFilter", {"fromBlock": "earliest", "address": hexed(TOKEN)}))
    assert [log["blockNumber"] for log in history] == ["0x2", "0x2", "0x3", "0x3"]
    assert server.result("eth_uninstallFilter", block_filter) is True
    assert server.result("eth_uninstallFilter", block_filter) is False


def test_validators(server):
    expected = [hexed(v) for v in VALIDATORS]
    assert server.result("qbft_getValidatorsByBlockNumber", "latest") == expected
    assert server.result("qbft_getValidatorsByBlockNumber", "0x1") == expected
