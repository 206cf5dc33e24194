"""eth_subscribe over WebSocket, with the websockets client."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.rpc.conftest import TEST_LIMITS
from tests.rpc.fake_node import TOKEN, TRANSFER_TOPIC


def call(ws, method, *params, request_id=1):
    ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}))
    return json.loads(ws.recv(timeout=5))


def test_plain_calls_and_batches(server):
    with connect(server.ws_url) as ws:
        assert call(ws, "eth_chainId") == {"jsonrpc": "2.0", "id": 1, "result": hex(1337)}
        ws.send(json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"},
                            {"jsonrpc": "2.0", "id": 2, "method": "eth_nope"}]))
        answers = json.loads(ws.recv(timeout=5))
        assert answers[0]["result"] == "0x2" and answers[1]["error"]["code"] == -32601
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=5))["error"]["code"] == -32700
        assert call(ws, "eth_blockNumber")["result"] == "0x2"


def test_new_heads(server):
    with connect(server.ws_url) as ws:
        subscription = call(ws, "eth_subscribe", "newHeads")["result"]
        assert subscription.startswith("0x")
        blocks = [server.on_loop(lambda: server.node.commit_block([])) for _ in range(2)]
        for block in blocks:
            message = json.loads(ws.recv(timeout=5))
            assert message["method"] == "eth_subscription"
            assert message["params"]["subscription"] == subscription
            head = message["params"]["result"]
            assert head["number"] == hex(block.number)
            assert head["hash"] == "0x" + block.hash.hex()
            assert "transactions" not in head
        assert call(ws, "eth_unsubscribe", subscription)["result"] is True
        assert call(ws, "eth_unsubscribe", subscription)["result"] is False


def test_logs_subscription_matches_filter_in_order(server):
    node = server.node
    with connect(server.ws_url) as ws:
        subscription = call(ws, "eth_subscribe", "logs",
                            {"address": "0x" + TOKEN.hex(), "topics": ["0x" + TRANSFER_TOPIC.hex()]})["result"]
        everything = call(ws, "eth_subscribe", "logs", request_id=2)["result"]
        server.on_loop(lambda: node.commit_block([node.token_transfer(nonce=20),
                                                  node.token_transfer(nonce=21)]))
        messages = [json.loads(ws.recv(timeout=5)) for _ in range(6)]
    transfers = [m["params"]["result"] for m in messages if m["params"]["subscription"] == subscription]
    assert [log["logIndex"] for log in transfers] == ["0x0", "0x2"]
    assert all(log["topics"][0] == "0x" + TRANSFER_TOPIC.hex() for log in transfers)
    logs = [m["params"]["result"] for m in messages if m["params"]["subscription"] == everything]
    assert [log["logIndex"] for log in logs] == ["0x0", "0x1", "0x2", "0x3"]


def test_subscription_errors(server):
    with connect(server.ws_url) as ws:
        assert call(ws, "eth_subscribe", "newPendingTransactions")["error"]["code"] == -32602
        error = call(ws, "eth_subscribe", "logs", {"fromBlock": "0x0"})["error"]
        assert error["code"] == -32602 and "use eth_getLogs for history" in error["message"]


def test_subscriptions_die_with_the_connection(server):
    with connect(server.ws_url) as ws:
        call(ws, "eth_subscribe", "newHeads")
    server.on_loop(lambda: server.node.commit_block([]))  # nothing to deliver, nothing breaks
    with connect(server.ws_url) as ws:
        assert call(ws, "eth_blockNumber")["result"] == "0x3"


def test_oversized_message_closes_only_that_connection(server):
    with connect(server.ws_url, max_size=None) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId",
                            "params": ["x" * TEST_LIMITS.max_ws_message_bytes]}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1009
    with connect(server.ws_url) as ws:
        assert call(ws, "eth_chainId")["result"] == hex(1337)
