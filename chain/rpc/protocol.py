"""JSON-RPC 2.0 envelopes: requests in, response text out, and the one error mapping.

Transport-free: the HTTP and WebSocket shells hand in a message body and a
``dispatch(method, params)`` callable and send back whatever text comes out.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from chain.errors import (
    ChainError,
    ExecutionFailed,
    ExecutionReverted,
    InvalidParams,
    LimitExceeded,
    NotFound,
    StorageCorrupted,
    TransactionRejected,
)

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
EXECUTION_REVERTED = 3
SERVER_ERROR = -32000  # geth's code for node-side failures: rejected tx, unknown block
LIMIT_EXCEEDED = -32005

Dispatch = Callable[[str, Any], Any]

# py-evm and py_ecc raise the recursion limit to 100000 when imported, so the C JSON
# decoder would overflow the C stack (a segfault) on deeply nested input before it
# raised RecursionError. Nesting is bounded before decoding instead.
MAX_JSON_DEPTH = 128
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class RpcError(Exception):
    """A fault in the JSON-RPC envelope itself, found by this layer."""

    code = INTERNAL_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ParseError(RpcError):
    code = PARSE_ERROR


class InvalidRequest(RpcError):
    code = INVALID_REQUEST


class MethodNotFound(RpcError):
    code = METHOD_NOT_FOUND


def error_object(exc: BaseException) -> dict[str, Any]:
    """The JSON-RPC error for an exception: the single place errors get codes."""
    match exc:
        case RpcError():
            return {"code": exc.code, "message": exc.message}
        case InvalidParams():
            return {"code": INVALID_PARAMS, "message": str(exc)}
        case ExecutionReverted():
            return {"code": EXECUTION_REVERTED, "message": str(exc), "data": "0x" + exc.data.hex()}
        case TransactionRejected():
            return {"code": SERVER_ERROR, "message": exc.message, "data": {"reason": exc.reason}}
        case LimitExceeded():
            return {"code": LIMIT_EXCEEDED, "message": str(exc)}
        case ExecutionFailed() | NotFound():
            return {"code": SERVER_ERROR, "message": str(exc)}
        case ChainError() if not isinstance(exc, StorageCorrupted):
            return {"code": SERVER_ERROR, "message": str(exc)}
    log.error("internal error answering a JSON-RPC request", exc_info=exc)
    return {"code": INTERNAL_ERROR, "message": "internal error; details are in the node's log"}


def error_response(request_id: Any, exc: BaseException) -> str:
    return encode_json({"jsonrpc": "2.0", "id": request_id, "error": error_object(exc)})


def encode_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_nesting_depth(body: bytes) -> int:
    """How deep arrays and objects nest, ignoring brackets inside strings."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # too few brackets to nest too deep: the common case, checked cheaply
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b'""', body))
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def decode_json(body: bytes | str) -> Any:
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if json_nesting_depth(raw) > MAX_JSON_DEPTH:
        raise ParseError(f"parse error: JSON nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise ParseError(f"parse error: the body is not valid JSON ({exc})") from None


def _is_valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


def handle_request_object(request: Any, dispatch: Dispatch) -> str | None:
    """Answer one request object; None for a notification (no ``id`` member)."""
    if not isinstance(request, dict):
        return error_response(None, InvalidRequest("invalid request: expected a JSON object"))
    is_notification = "id" not in request
    request_id = request.get("id")
    if not _is_valid_id(request_id):
        return error_response(None, InvalidRequest("invalid request: id must be a string, number or null"))
    method = request.get("method")
    if request.get("jsonrpc") != "2.0":
        exc: RpcError = InvalidRequest('invalid request: "jsonrpc" must be "2.0"')
        return None if is_notification else error_response(request_id, exc)
    if not isinstance(method, str):
        exc = InvalidRequest('invalid request: "method" must be a string')
        return None if is_notification else error_response(request_id, exc)
    params = request.get("params", [])
    if not isinstance(params, list | dict):
        exc = InvalidRequest('invalid request: "params" must be an array')
        return None if is_notification else error_response(request_id, exc)
    try:
        result = dispatch(method, params)
        text = encode_json({"jsonrpc": "2.0", "id": request_id, "result": result})
    except Exception as exc:  # every failure becomes this request's error, never the server's
        return None if is_notification else error_response(request_id, exc)
    return None if is_notification else text


def handle_message(body: bytes | str, dispatch: Dispatch, max_batch_length: int) -> str | None:
    """Answer a single request or a batch; None when nothing is to be sent back."""
    try:
        payload = decode_json(body)
    except ParseError as exc:
        return error_response(None, exc)
    if not isinstance(payload, list):
        return handle_request_object(payload, dispatch)
    if not payload:
        return error_response(None, InvalidRequest("invalid request: empty batch"))
    if len(payload) > max_batch_length:
        return error_response(None, InvalidRequest(
            f"batch of {len(payload)} requests exceeds the limit of {max_batch_length}; "
            "split it into smaller batches"
        ))
    answers = [handle_request_object(request, dispatch) for request in payload]
    sent = [answer for answer in answers if answer is not None]
    return "[" + ",".join(sent) + "]" if sent else None
