"""web3.py, unmodified, against a real node process over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from web3 import AsyncWeb3, Web3, WebSocketProvider
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware

from chain.devnet import DEV_ACCOUNTS, PERMISSIONING_ADDRESS
from contracts.artifacts import load_artifact
from tests.e2e.node_process import NodeProcess, dev_node

ADMIN, DEPARTMENT, SERVICE, OUTSIDER = DEV_ACCOUNTS

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    process = dev_node(tmp_path_factory.mktemp("node"))
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def w3(node: NodeProcess) -> Web3:
    web3 = Web3(Web3.HTTPProvider(node.http_url))
    web3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return web3


def _send(w3: Web3, key: bytes, tx: dict) -> dict:
    account = Account.from_key(key)
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    tx.setdefault("chainId", w3.eth.chain_id)
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.2)


def _deploy_board(w3: Web3, key: bytes = DEPARTMENT.private_key):
    artifact = load_artifact("NoticeBoard")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    account = Account.from_key(key)
    tx = factory.constructor().build_transaction({"from": account.address, "gasPrice": 0, "nonce": w3.eth.get_transaction_count(account.address, "pending")})
    receipt = _send(w3, key, tx)
    assert receipt.status == 1 and receipt.contractAddress
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)


def test_chain_identity(w3: Web3, node: NodeProcess) -> None:
    assert w3.eth.chain_id == 20211
    assert w3.net.version == "20211"
    assert w3.client_version.startswith("citychain/")
    assert w3.eth.syncing is False
    validators = node.rpc("qbft_getValidatorsByBlockNumber", ["latest"])["result"]
    assert len(validators) == 1
    block = w3.eth.get_block("latest")
    assert block.miner.lower() == validators[0].lower()
    assert block.difficulty == 1


def test_deploy_transact_receipt_and_logs(w3: Web3) -> None:
    board = _deploy_board(w3)
    assert w3.eth.get_code(board.address) == load_artifact("NoticeBoard").deployed_bytecode
    account = Account.from_key(DEPARTMENT.private_key)
    tx = board.functions.post("hello city").build_transaction({"from": account.address, "gasPrice": 0, "nonce": w3.eth.get_transaction_count(account.address, "pending")})
    receipt = _send(w3, DEPARTMENT.private_key, tx)
    assert receipt.status == 1
    events = board.events.Posted().process_receipt(receipt)
    assert events[0].args.text == "hello city" and events[0].args.id == 1
    assert board.functions.count().call() == 1
    assert board.functions.notes(1).call() == "hello city"
    logs = w3.eth.get_logs({"fromBlock": receipt.blockNumber, "toBlock": receipt.blockNumber, "address": board.address})
    assert len(logs) == 1 and logs[0].transactionHash == receipt.transactionHash
    topic = w3.keccak(text="Posted(address,uint256,string)")
    by_topic = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "topics": [topic]})
    assert receipt.transactionHash in {entry.transactionHash for entry in by_topic}
    block = w3.eth.get_block(receipt.blockNumber, full_transactions=True)
    assert receipt.transactionHash in {t.hash for t in block.transactions}
    assert w3.eth.get_transaction(receipt.transactionHash).blockNumber == receipt.blockNumber
    slot0 = w3.eth.get_storage_at(board.address, 0)
    assert int.from_bytes(slot0, "big") == 1  # count


def test_all_three_transaction_types(w3: Web3) -> None:
    account = Account.from_key(ADMIN.private_key)
    recipient = "0x" + "22" * 20
    before = w3.eth.get_balance(recipient)
    base = {"to": recipient, "value": 10, "gas": 21_000}
    legacy = _send(w3, ADMIN.private_key, dict(base, gasPrice=0))
    access_list = _send(w3, ADMIN.private_key, dict(base, gasPrice=0, accessList=[{"address": recipient, "storageKeys": []}], gas=30_000))
    dynamic = _send(w3, ADMIN.private_key, dict(base, maxFeePerGas=0, maxPriorityFeePerGas=0))
    assert [legacy.type, access_list.type, dynamic.type] == [0, 1, 2]
    assert all(r.status == 1 for r in (legacy, access_list, dynamic))
    assert w3.eth.get_balance(recipient) == before + 30
    assert w3.eth.get_transaction(dynamic.transactionHash).type == 2
    assert w3.eth.get_transaction_count(account.address) >= 3


def test_revert_reasons_reach_web3(w3: Web3) -> None:
    board = _deploy_board(w3)
    with pytest.raises(ContractLogicError, match="NoticeBoard: empty text"):
        board.functions.post("").call()
    with pytest.raises(ContractLogicError, match="NoticeBoard: empty text"):
        board.functions.post("").estimate_gas()
    with pytest.raises(ContractCustomError):
        board.functions.failWithCustomError().call()
    reply = httpx.post(str(w3.provider.endpoint_uri), json={
        "jsonrpc": "2.0", "id": 1, "method": "eth_call",
        "params": [{"to": board.address, "data": board.encode_abi("post", [""])}, "latest"]}).json()
    assert reply["error"]["code"] == 3
    assert reply["error"]["message"] == "execution reverted: NoticeBoard: empty text"
    assert reply["error"]["data"].startswith("0x08c379a0")


def test_estimate_gas_and_fees(w3: Web3) -> None:
    board = _deploy_board(w3)
    gas = board.functions.post("x" * 100).estimate_gas({"from": Account.from_key(DEPARTMENT.private_key).address})
    assert 40_000 < gas < 200_000
    assert w3.eth.gas_price == 0
    assert w3.eth.max_priority_fee == 0
    history = w3.eth.fee_history(3, "latest", [50])
    assert len(history.baseFeePerGas) == len(history.gasUsedRatio) + 1


def test_unpermitted_account_is_refused_with_a_clear_error(w3: Web3) -> None:
    outsider = Account.from_key(OUTSIDER.private_key)
    signed = outsider.sign_transaction({"to": "0x" + "33" * 20, "value": 1, "gas": 21_000, "gasPrice": 0, "nonce": 0, "chainId": w3.eth.chain_id})
    with pytest.raises(Web3RPCError, match="not permitted"):
        w3.eth.send_raw_transaction(signed.raw_transaction)


def test_admin_grants_a_role_and_the_account_may_then_transact(w3: Web3) -> None:
    permissioning = w3.eth.contract(address=Web3.to_checksum_address(PERMISSIONING_ADDRESS), abi=load_artifact("Permissioning").abi)
    newcomer = Account.create()
    admin = Account.from_key(ADMIN.private_key)
    tx = permissioning.functions.setAccountRole(newcomer.address, 3).build_transaction({"from": admin.address, "gasPrice": 0, "nonce": w3.eth.get_transaction_count(admin.address, "pending")})
    receipt = _send(w3, ADMIN.private_key, tx)
    changed = permissioning.events.AccountRoleChanged().process_receipt(receipt)[0].args
    assert (changed.account, changed.previousRole, changed.newRole) == (newcomer.address, 0, 3)
    assert permissioning.functions.isAccountAllowed(newcomer.address).call()
    ok = _send(w3, newcomer.key, {"to": "0x" + "44" * 20, "value": 0, "gas": 21_000, "gasPrice": 0})
    assert ok.status == 1
    dept = Account.from_key(DEPARTMENT.private_key)
    with pytest.raises(ContractLogicError, match="caller is not a city admin"):
        permissioning.functions.setAccountRole(newcomer.address, 0).call({"from": dept.address})


def test_filters_poll_new_blocks_and_logs(w3: Web3) -> None:
    board = _deploy_board(w3)
    block_filter = w3.eth.filter("latest")
    log_filter = w3.eth.filter({"address": board.address})
    account = Account.from_key(DEPARTMENT.private_key)
    tx = board.functions.post("filtered").build_transaction({"from": account.address, "gasPrice": 0, "nonce": w3.eth.get_transaction_count(account.address, "pending")})
    receipt = _send(w3, DEPARTMENT.private_key, tx)
    assert receipt.blockHash in block_filter.get_new_entries()
    entries = log_filter.get_new_entries()
    assert [e.transactionHash for e in entries] == [receipt.transactionHash]
    assert log_filter.get_new_entries() == []
    assert len(w3.eth.get_filter_logs(log_filter.filter_id)) == 1
    assert w3.eth.uninstall_filter(log_filter.filter_id) is True


def test_websocket_subscriptions_deliver_heads_and_logs(w3: Web3, node: NodeProcess) -> None:
    board = _deploy_board(w3)

    async def scenario() -> tuple[list, list]:
        async with AsyncWeb3(WebSocketProvider(node.ws_url)) as aw3:
            aw3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
            assert await aw3.eth.chain_id == 20211
            heads_id = await aw3.eth.subscribe("newHeads")
            logs_id = await aw3.eth.subscribe("logs", {"address": board.address})
            account = Account.from_key(DEPARTMENT.private_key)
            tx = board.functions.post("over websocket").build_transaction({"from": account.address, "gasPrice": 0, "nonce": w3.eth.get_transaction_count(account.address, "pending")})
            await asyncio.to_thread(_send, w3, DEPARTMENT.private_key, tx)
            heads, logs = [], []

            async def collect() -> None:
                async for message in aw3.socket.process_subscriptions():
                    if message["subscription"] == heads_id:
                        heads.append(message["result"])
                    elif message["subscription"] == logs_id:
                        logs.append(message["result"])
                    if heads and logs:
                        return

            await asyncio.wait_for(collect(), 30)
            assert await aw3.eth.unsubscribe(logs_id) is True
            return heads, logs

    heads, logs = asyncio.run(scenario())
    assert heads[0]["number"] >= 1
    posted = board.events.Posted().process_log(logs[0])
    assert posted.args.text == "over websocket"


def test_bad_input_gets_named_errors_and_the_node_keeps_serving(w3: Web3, node: NodeProcess) -> None:
    url = node.http_url
    chain_id = w3.eth.chain_id
    admin = Account.from_key(ADMIN.private_key)
    # Make sure the admin has a mined transaction, so nonce 0 is "too low" whatever ran before.
    _send(w3, ADMIN.private_key, {"to": "0x" + "55" * 20, "value": 1, "gas": 21_000, "gasPrice": 0})
    nonce = w3.eth.get_transaction_count(admin.address, "pending")

    def raw(tx: dict, key: bytes = ADMIN.private_key) -> str:
        base = {"to": "0x" + "55" * 20, "value": 1, "gas": 21_000, "gasPrice": 0, "nonce": nonce, "chainId": chain_id}
        base.update(tx)
        return "0x" + bytes(Account.sign_transaction(base, key).raw_transaction).hex()

    def send_raw(data: str) -> dict:
        return httpx.post(url, json={"jsonrpc": "2.0", "id": 7, "method": "eth_sendRawTransaction", "params": [data]}).json()["error"]

    malformed = httpx.post(url, content=b"{not json", headers={"content-type": "application/json"}).json()
    assert malformed["error"]["code"] == -32700
    unknown = node.rpc("eth_mine")
    assert unknown["error"]["code"] == -32601 and "eth_mine" in unknown["error"]["message"]
    wrong_type = node.rpc("eth_getBalance", [12, "latest"])
    assert wrong_type["error"]["code"] == -32602 and "params[0]" in wrong_type["error"]["message"]
    oversized = httpx.post(url, content=b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":["' + b"a" * (6 * 1024 * 1024) + b'"]}', headers={"content-type": "application/json"})
    assert oversized.status_code == 413 and oversized.json()["error"]["code"] == -32600
    batch = httpx.post(url, json=[{"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber"} for i in range(101)]).json()
    assert batch["error"]["code"] == -32600 and "100" in batch["error"]["message"]
    assert send_raw("0xf86c")["code"] == -32000  # truncated RLP
    assert "decode" in send_raw("0xf86c")["message"]
    good = bytearray.fromhex(raw({})[2:])
    good[-40] ^= 0x01  # corrupt the signature's s value
    bad_sig = send_raw("0x" + good.hex())
    assert bad_sig["code"] == -32000 and bad_sig["data"]["reason"] in ("invalid_signature", "not_permitted")
    cases = {
        "wrong_chain_id": raw({"chainId": chain_id + 1}),
        "nonce_too_low": raw({"nonce": 0}),
        "nonce_too_high": raw({"nonce": nonce + 10_000}),
        "gas_limit_exceeded": raw({"gas": 40_000_000}),
        "insufficient_funds": raw({"gasPrice": 10**9, "value": w3.eth.get_balance(admin.address)}),
        "intrinsic_gas_too_low": raw({"gas": 20_000}),
    }
    for reason, data in cases.items():
        error = send_raw(data)
        assert error["data"]["reason"] == reason, (reason, error)
        assert error["message"]
    too_wide = node.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(10**6)}])
    assert too_wide["error"]["code"] == -32005 and "limit" in too_wide["error"]["message"]
    assert w3.eth.block_number >= 1  # still serving
    assert json.loads(json.dumps(node.rpc("eth_chainId")))["result"] == hex(chain_id)


def test_restart_resumes_the_same_chain(tmp_path: Path) -> None:
    process = dev_node(tmp_path)
    process.start()
    try:
        web3 = Web3(Web3.HTTPProvider(process.http_url))
        web3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        receipt = _send(web3, ADMIN.private_key, {"to": "0x" + "66" * 20, "value": 5, "gas": 21_000, "gasPrice": 0})
    finally:
        process.stop()
    process.start()
    try:
        again = Web3(Web3.HTTPProvider(process.http_url))
        again.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        stored = again.eth.get_transaction_receipt(receipt.transactionHash)
        assert stored.blockHash == receipt.blockHash
        assert again.eth.get_balance("0x" + "66" * 20) == 5
    finally:
        process.stop()
