"""web3.py's own formatters accept what the server returns."""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.middleware import ExtraDataToPOAMiddleware

from tests.rpc.fake_node import ALICE, CHAIN_ID, CREATED, TOKEN, TRANSFER_TOPIC


@pytest.fixture
def w3(server) -> Web3:
    w3 = Web3(Web3.HTTPProvider(server.url))
    # QBFT extraData holds validators and seals, longer than web3's 32-byte default.
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def test_basics(w3):
    assert w3.is_connected()
    assert w3.eth.chain_id == CHAIN_ID
    assert w3.eth.block_number == 2
    assert w3.eth.gas_price == 2 * 10**9
    assert w3.eth.max_priority_fee == 10**9
    assert w3.eth.get_balance(Web3.to_checksum_address(ALICE)) == 5 * 10**18
    assert w3.eth.syncing is False
    assert w3.net.version == str(CHAIN_ID)


def test_full_block(w3, server):
    block = w3.eth.get_block("latest", full_transactions=True)
    assert block.number == 2
    assert block.hash == server.node.blocks[2].hash
    assert block.proofOfAuthorityData == server.node.blocks[2].extra_data
    dynamic, creation = block.transactions
    assert dynamic["type"] == 2 and dynamic["maxFeePerGas"] == 3 * 10**9
    assert dynamic["to"] == Web3.to_checksum_address(TOKEN)
    assert creation["to"] is None
    assert creation["accessList"][0]["address"] == Web3.to_checksum_address(TOKEN)
    legacy = w3.eth.get_block(1, full_transactions=True).transactions[0]
    assert legacy["v"] == CHAIN_ID * 2 + 35


def test_receipt_and_transaction(w3, server):
    creation = server.node.blocks[2].transactions[1]
    receipt = w3.eth.get_transaction_receipt(creation.hash)
    assert receipt.status == 1
    assert receipt.contractAddress == Web3.to_checksum_address(CREATED)
    assert receipt.effectiveGasPrice == 2 * 10**9
    assert w3.eth.get_transaction(creation.hash).nonce == 2


def test_get_logs(w3):
    logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest",
                            "address": Web3.to_checksum_address(TOKEN),
                            "topics": [TRANSFER_TOPIC]})
    assert len(logs) == 1
    assert logs[0].topics[0] == TRANSFER_TOPIC
    assert logs[0].logIndex == 0 and logs[0].blockNumber == 2


def test_fee_history(w3):
    history = w3.eth.fee_history(2, "latest", [50])
    assert history.oldestBlock == 1
    assert history.reward == [[10**9], [10**9]]


def test_revert_reason(w3):
    with pytest.raises(ContractLogicError, match="not allowed"):
        w3.eth.call({"to": Web3.to_checksum_address(TOKEN), "data": "0xdead"})


def test_block_filter(w3, server):
    block_filter = w3.eth.filter("latest")
    block = server.on_loop(lambda: server.node.commit_block([]))
    assert block_filter.get_new_entries() == [block.hash]
