"""JSON-RPC 2.0 envelopes and the error mapping, without a transport."""

from __future__ import annotations

import json
import logging

import pytest

from chain.errors import (
    ExecutionFailed,
    ExecutionReverted,
    InvalidParams,
    LimitExceeded,
    NotFound,
    StorageCorrupted,
    TransactionRejected,
)
from chain.rpc.protocol import MethodNotFound, error_object, handle_message


def dispatch(method, params):
    if method == "echo":
        return params
    if method == "boom":
        raise RuntimeError("secret internals at /var/lib/node")
    raise MethodNotFound(f"the method {method} does not exist/is not available")


def answer(payload):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    text = handle_message(body, dispatch, max_batch_length=3)
    return None if text is None else json.loads(text)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (InvalidParams("params[0]: expected x"), {"code": -32602, "message": "params[0]: expected x"}),
        (ExecutionReverted(b"\x01\x02", "no"),
         {"code": 3, "message": "execution reverted: no", "data": "0x0102"}),
        (ExecutionReverted(b"", None), {"code": 3, "message": "execution reverted", "data": "0x"}),
        (TransactionRejected("nonce_too_low", "nonce too low: next nonce 3, tx nonce 1"),
         {"code": -32000, "message": "nonce too low: next nonce 3, tx nonce 1",
          "data": {"reason": "nonce_too_low"}}),
        (LimitExceeded("too many"), {"code": -32005, "message": "too many"}),
        (ExecutionFailed("out of gas"), {"code": -32000, "message": "out of gas"}),
        (NotFound("header not found"), {"code": -32000, "message": "header not found"}),
    ],
)
def test_error_mapping(exc, expected):
    assert error_object(exc) == expected


@pytest.mark.parametrize("exc", [RuntimeError("at /secret"), StorageCorrupted("db at /secret")])
def test_internal_errors_hide_details_and_are_logged(exc, caplog):
    with caplog.at_level(logging.ERROR):
        error = error_object(exc)
    assert error["code"] == -32603
    assert "secret" not in error["message"]
    assert "secret" in caplog.text


def test_single_request():
    assert answer({"jsonrpc": "2.0", "id": "a", "method": "echo", "params": [1]}) == {
        "jsonrpc": "2.0", "id": "a", "result": [1]}


def test_params_default_to_empty_list():
    assert answer({"jsonrpc": "2.0", "id": 1, "method": "echo"})["result"] == []


@pytest.mark.parametrize("body", ["{", "", "nul", b"\xff\xfe", '{"a": NaN}', "[" * 100_000])
def test_parse_error(body):
    response = answer(body)
    assert response["id"] is None
    assert response["error"]["code"] == -32700


@pytest.mark.parametrize(
    "request_object",
    [
        "5",
        '"x"',
        {"id": 1, "method": "echo"},  # no jsonrpc
        {"jsonrpc": "1.0", "id": 1, "method": "echo"},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "id": 1, "method": 7},
        {"jsonrpc": "2.0", "id": 1, "method": "echo", "params": "x"},
        {"jsonrpc": "2.0", "id": [1], "method": "echo"},
    ],
)
def test_invalid_request(request_object):
    assert answer(request_object)["error"]["code"] == -32600


def test_invalid_request_keeps_a_valid_id():
    assert answer({"jsonrpc": "2.0", "id": 9})["id"] == 9


def test_method_not_found_names_the_method():
    error = answer({"jsonrpc": "2.0", "id": 1, "method": "eth_mine"})["error"]
    assert error == {"code": -32601, "message": "the method eth_mine does not exist/is not available"}


def test_notification_gets_no_response_even_on_error():
    assert answer({"jsonrpc": "2.0", "method": "echo", "params": []}) is None
    assert answer({"jsonrpc": "2.0", "method": "boom"}) is None


def test_null_id_is_a_request_not_a_notification():
    assert answer({"jsonrpc": "2.0", "id": None, "method": "echo"})["id"] is None


def test_empty_batch_is_one_invalid_request():
    assert answer([]) == {"jsonrpc": "2.0", "id": None,
                          "error": {"code": -32600, "message": "invalid request: empty batch"}}


def test_batch_over_limit_names_the_limit():
    response = answer([{"jsonrpc": "2.0", "id": i, "method": "echo"} for i in range(4)])
    assert response["error"]["code"] == -32600
    assert "4 requests exceeds the limit of 3" in response["error"]["message"]


def test_batch_elements_answered_independently():
    response = answer([
        {"jsonrpc": "2.0", "id": 1, "method": "echo", "params": ["ok"]},
        {"jsonrpc": "2.0", "id": 2, "method": "boom"},
        1,
    ])
    assert response[0] == {"jsonrpc": "2.0", "id": 1, "result": ["ok"]}
    assert response[1]["error"]["code"] == -32603
    assert response[2] == {"jsonrpc": "2.0", "id": None,
                           "error": {"code": -32600, "message": "invalid request: expected a JSON object"}}


def test_batch_of_notifications_gets_no_response():
    assert answer([{"jsonrpc": "2.0", "method": "echo"}, {"jsonrpc": "2.0", "method": "boom"}]) is None


def test_deep_nesting_is_refused_before_decoding():
    # Imported py-evm raises the recursion limit; the C decoder would crash instead.
    response = answer("[" * 1_000_000)
    assert response["error"] == {"code": -32700,
                                 "message": "parse error: JSON nests deeper than 128 levels"}


def test_brackets_inside_strings_do_not_count_as_nesting():
    params = ["[" * 500, '{\\"' * 100]
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "echo", "params": params})
    assert answer(body)["result"] == params
