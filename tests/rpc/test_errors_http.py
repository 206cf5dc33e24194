"""Every error class a client can cause over HTTP; the server keeps serving after each."""

from __future__ import annotations

import json

import pytest

from tests.rpc.conftest import TEST_LIMITS
from tests.rpc.fake_node import ALICE, RAW_BROKEN, RAW_NONCE_TOO_LOW, REVERT_DATA, TOKEN

TOKEN_HEX = "0x" + TOKEN.hex()


@pytest.fixture(autouse=True)
def still_serving(server):
    yield
    assert server.result("eth_blockNumber").startswith("0x")


def post_raw(server, body: bytes | str, content_type: str = "application/json"):
    return server.client.post(server.url, data=body, headers={"Content-Type": content_type},
                              timeout=5)


def test_malformed_json(server):
    response = post_raw(server, b'{"jsonrpc": "2.0", "id": 1, "method": ')
    assert response.status_code == 200
    assert response.json()["error"]["code"] == -32700
    assert response.json()["id"] is None


def test_unknown_method(server):
    assert server.error("eth_mine") == {
        "code": -32601, "message": "the method eth_mine does not exist/is not available"}


def test_subscribe_over_http_is_refused(server):
    assert server.error("eth_subscribe", "newHeads")["code"] == -32601


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("eth_getBalance", ["0x1234", "latest"], "params[0]: expected a 20-byte hex address"),
        ("eth_getBalance", [], "params[0]: missing required parameter address of eth_getBalance"),
        ("eth_getBalance", ["0x" + "aa" * 20, "latest", 1], "too many params: got 3, takes at most 2"),
        ("eth_getBlockByNumber", ["0x01", False], "params[0]: expected a block number"),
        ("eth_getBlockByNumber", ["latest", "yes"], "params[1]: expected true or false"),
        ("eth_getBlockByHash", ["0x" + "aa" * 31, False], "params[0]: expected a 32-byte hex hash"),
        ("eth_call", [{"to": "0x12"}], "params[0].to: expected a 20-byte hex address"),
        ("eth_call", [{"to": TOKEN_HEX}, "latest", {"x": {}}], "params[2]: state overrides"),
        ("eth_getLogs", [{"fromBlock": "0x2", "toBlock": "0x1"}], "fromBlock 0x2 is after toBlock 0x1"),
        ("eth_getLogs", [{"blockHash": "0x" + "11" * 32, "toBlock": "0x1"}], "cannot be combined"),
        ("eth_sendRawTransaction", ["0x"], "expected a signed transaction"),
        ("eth_sendRawTransaction", ["0x123"], "params[0]: expected hex data"),
        ("eth_feeHistory", ["0x1", "latest", [90, 10]], "ascending"),
        ("eth_getFilterChanges", [7], "params[0]: expected a filter id"),
        ("eth_chainId", {"a": 1}, "params must be an array"),
    ],
)
def test_invalid_params(server, method, params, message):
    answer = server.post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
    assert answer["error"]["code"] == -32602
    assert message in answer["error"]["message"]


def test_execution_reverted(server):
    error = server.error("eth_call", {"to": TOKEN_HEX, "data": "0xdead"}, "latest")
    assert error == {"code": 3, "message": "execution reverted: not allowed",
                     "data": "0x" + REVERT_DATA.hex()}
    error = server.error("eth_estimateGas", {"to": TOKEN_HEX, "data": "0xdead"})
    assert error == {"code": 3, "message": "execution reverted", "data": "0x"}


def test_execution_failed(server):
    error = server.error("eth_call", {"to": TOKEN_HEX, "data": "0xfe"})
    assert error == {"code": -32000, "message": "invalid opcode: INVALID"}


def test_transaction_rejected(server):
    error = server.error("eth_sendRawTransaction", "0x" + RAW_NONCE_TOO_LOW.hex())
    assert error == {"code": -32000, "message": "nonce too low: next nonce 3, tx nonce 1",
                     "data": {"reason": "nonce_too_low"}}


def test_internal_error_does_not_leak(server):
    error = server.error("eth_sendRawTransaction", "0x" + RAW_BROKEN.hex())
    assert error["code"] == -32603
    assert "pool" not in error["message"] and "Traceback" not in error["message"]


def test_state_of_future_block(server):
    error = server.error("eth_getBalance", "0x" + ALICE.hex(), "0x64")
    assert error["code"] == -32000
    assert "block 0x64 not found; the head is 0x2" in error["message"]
    error = server.error("eth_getBalance", "0x" + ALICE.hex(), {"blockHash": "0x" + "11" * 32})
    assert error["code"] == -32000


def test_log_limits(server):
    # The limit applies to the range as asked, even beyond the head...
    too_wide = server.error("eth_getLogs", {"fromBlock": "0x0", "toBlock": "0x3e8"})
    assert too_wide["code"] == -32005 and "span 1001 blocks; the limit is 100" in too_wide["message"]
    # ...and a toBlock beyond the head within the limit is clamped to the head.
    assert len(server.result("eth_getLogs", {"fromBlock": "0x0", "toBlock": "0x50"})) == 2
    for _ in range(100):
        server.on_loop(lambda: server.node.commit_block([]))
    error = server.error("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
    assert error["code"] == -32005
    assert "span 103 blocks; the limit is 100" in error["message"]


def test_log_result_limit(server):
    node = server.node
    for nonce in range(30):  # two logs each: 60 > 50
        server.on_loop(lambda n=nonce: node.commit_block([node.token_transfer(nonce=50 + n)]))
    error = server.error("eth_getLogs", {"fromBlock": "0x0"})
    assert error == {"code": -32005, "message": "query returned more than 50 results; "
                     "narrow the block range or the address and topic filters"}


def test_unknown_filter(server):
    error = server.error("eth_getFilterChanges", "0x1234")
    assert error["code"] == -32000
    assert "filter 0x1234 not found" in error["message"]


def test_oversized_body(server):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId",
                       "params": ["x" * TEST_LIMITS.max_request_bytes]})
    response = post_raw(server, body)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == -32600
    assert f"request body of {len(body)} bytes exceeds the limit of 65536 bytes" == error["message"]


def test_oversized_chunked_body(server):
    def chunks():
        for _ in range(20):
            yield b" " * 8192

    response = server.client.post(server.url, data=chunks(),
                                  headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 413
    assert "more than 65536 bytes" in response.json()["error"]["message"]


def test_batch_too_long(server):
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(11)]
    error = server.post(batch).json()["error"]
    assert error["code"] == -32600
    assert "batch of 11 requests exceeds the limit of 10" in error["message"]


def test_empty_batch(server):
    assert server.post([]).json() == {
        "jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request: empty batch"}}


def test_batch_mixing_good_and_bad(server):
    answers = server.post([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_nope"},
        {"jsonrpc": "2.0", "method": "eth_chainId"},  # notification: no answer
        {"jsonrpc": "2.0", "id": 3, "method": "eth_getBalance", "params": ["0x12"]},
        {"jsonrpc": "2.0", "id": 4, "method": "eth_call", "params": [{"to": TOKEN_HEX, "data": "0xdead"}]},
        "junk",
    ]).json()
    assert [a.get("id") for a in answers] == [1, 2, 3, 4, None]
    assert answers[0]["result"] == hex(1337)
    assert [a["error"]["code"] for a in answers[1:]] == [-32601, -32602, 3, -32600]


def test_notifications_get_no_body(server):
    response = server.post({"jsonrpc": "2.0", "method": "eth_chainId"})
    assert response.status_code == 204 and response.content == b""
    response = server.post([{"jsonrpc": "2.0", "method": "eth_chainId"}])
    assert response.status_code == 204


def test_wrong_content_type(server):
    response = post_raw(server, b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', "text/plain")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == -32600


def test_plain_get_is_refused(server):
    response = server.client.get(server.url, timeout=5)
    assert response.status_code == 405
