"""The JSON-RPC method table: names, parameter counts and handlers over a NodeAPI.

A handler takes the request's context and its positional params (padded with None up
to the number declared) and returns a JSON-ready value. Other packages add methods
with ``MethodRegistry.register``; see ``build_eth_methods``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chain.errors import InvalidParams, LimitExceeded, NotFound
from chain.rpc import codec
from chain.rpc.codec import BlockHashRef, BlockRef, BlockTag, FilterParams
from chain.rpc.filters import FilterManager, Subscriptions, encode_filter_changes
from chain.rpc.limits import RpcLimits
from chain.rpc.ports import NodeAPI
from chain.rpc.protocol import MethodNotFound
from chain.types import BlockSelector, LogFilter, LogView

Params = list[Any]


@dataclass(frozen=True)
class RpcContext:
    """What a handler may use while answering one request."""

    node: NodeAPI
    limits: RpcLimits
    filters: FilterManager
    now: float  # the server's clock, for filter expiry
    subscriptions: Subscriptions | None = None  # this WebSocket's; None over HTTP


Handler = Callable[[RpcContext, Params], Any]


@dataclass(frozen=True)
class MethodSpec:
    handler: Handler
    required: tuple[str, ...]  # parameter names, for messages
    optional: tuple[str, ...]
    websocket_only: bool


class MethodRegistry:
    def __init__(self) -> None:
        self._methods: dict[str, MethodSpec] = {}

    def register(
        self,
        name: str,
        handler: Handler,
        *,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
        websocket_only: bool = False,
    ) -> None:
        if name in self._methods:
            raise ValueError(f"JSON-RPC method {name} is already registered")
        self._methods[name] = MethodSpec(handler, required, optional, websocket_only)

    def __contains__(self, name: object) -> bool:
        return name in self._methods

    def names(self) -> list[str]:
        return sorted(self._methods)

    def call(self, name: str, params: Any, context: RpcContext) -> Any:
        spec = self._methods.get(name)
        if spec is None:
            raise MethodNotFound(f"the method {name} does not exist/is not available")
        if spec.websocket_only and context.subscriptions is None:
            raise MethodNotFound(f"the method {name} is only available over WebSocket")
        if not isinstance(params, list):
            raise InvalidParams(f"{name}: params must be an array (by position), not an object")
        names = spec.required + spec.optional
        if len(params) > len(names):
            raise InvalidParams(
                f"{name}: too many params: got {len(params)}, takes at most {len(names)} "
                f"({', '.join(names) or 'none'})"
            )
        if len(params) < len(spec.required):
            missing = len(params)
            raise InvalidParams(
                f"params[{missing}]: missing required parameter {spec.required[missing]} of {name}"
            )
        return spec.handler(context, params + [None] * (len(names) - len(params)))


# --- block resolution ---------------------------------------------------------


def resolve_block_number(context: RpcContext, tag: BlockTag) -> int:
    """A block to read: with QBFT finality latest = safe = finalized = head; pending too."""
    if isinstance(tag, int):
        return tag
    return 0 if tag == "earliest" else context.node.head_number()


def resolve_state_block(context: RpcContext, ref: BlockRef, where: str) -> BlockSelector:
    """A state to query: "pending" stays pending (head state plus pool)."""
    if ref == "pending":
        return "pending"
    if isinstance(ref, BlockHashRef):
        block = context.node.get_block_by_hash(ref.block_hash, False)
        if block is None:
            raise NotFound(f"{where}: block {codec.encode_data(ref.block_hash)} not found")
        return block.number
    number = resolve_block_number(context, ref)
    head = context.node.head_number()
    if number > head:
        raise NotFound(f"{where}: block {hex(number)} not found; the head is {hex(head)}")
    return number


def _block_ref(value: Any, where: str) -> BlockRef:
    return "latest" if value is None else codec.decode_block_ref(value, where)


def _reject_state_overrides(value: Any, where: str) -> None:
    if value is not None:
        raise InvalidParams(f"{where}: state overrides are not supported by this node")


# --- handlers -----------------------------------------------------------------


def client_version(context: RpcContext, params: Params) -> str:
    return context.node.client_version


def net_version(context: RpcContext, params: Params) -> str:
    return str(context.node.chain_id)


def net_listening(context: RpcContext, params: Params) -> bool:
    return True


def net_peer_count(context: RpcContext, params: Params) -> str:
    return hex(context.node.peer_count)


def chain_id(context: RpcContext, params: Params) -> str:
    return hex(context.node.chain_id)


def syncing(context: RpcContext, params: Params) -> Any:
    return codec.encode_sync_status(context.node.syncing())


def block_number(context: RpcContext, params: Params) -> str:
    return hex(context.node.head_number())


def accounts(context: RpcContext, params: Params) -> list[str]:
    return []  # the node holds no keys: clients sign and use eth_sendRawTransaction


def get_block_by_number(context: RpcContext, params: Params) -> Any:
    number = resolve_block_number(context, codec.decode_block_tag(params[0], "params[0]"))
    full = codec.decode_bool(params[1], "params[1]")
    block = context.node.get_block_by_number(number, full)
    return None if block is None else codec.encode_block(block, full)


def get_block_by_hash(context: RpcContext, params: Params) -> Any:
    block_hash = codec.decode_hash(params[0], "params[0]")
    full = codec.decode_bool(params[1], "params[1]")
    block = context.node.get_block_by_hash(block_hash, full)
    return None if block is None else codec.encode_block(block, full)


def get_block_transaction_count_by_number(context: RpcContext, params: Params) -> Any:
    number = resolve_block_number(context, codec.decode_block_tag(params[0], "params[0]"))
    block = context.node.get_block_by_number(number, False)
    return None if block is None else hex(len(block.transactions))


def get_block_transaction_count_by_hash(context: RpcContext, params: Params) -> Any:
    block = context.node.get_block_by_hash(codec.decode_hash(params[0], "params[0]"), False)
    return None if block is None else hex(len(block.transactions))


def get_transaction_by_block_number_and_index(context: RpcContext, params: Params) -> Any:
    number = resolve_block_number(context, codec.decode_block_tag(params[0], "params[0]"))
    index = codec.decode_quantity(params[1], "params[1]")
    block = context.node.get_block_by_number(number, True)
    if block is None or index >= len(block.transactions):
        return None
    return codec.encode_transaction(block.transactions[index])


def get_transaction_by_block_hash_and_index(context: RpcContext, params: Params) -> Any:
    block = context.node.get_block_by_hash(codec.decode_hash(params[0], "params[0]"), True)
    index = codec.decode_quantity(params[1], "params[1]")
    if block is None or index >= len(block.transactions):
        return None
    return codec.encode_transaction(block.transactions[index])


def get_balance(context: RpcContext, params: Params) -> str:
    address = codec.decode_address(params[0], "params[0]")
    block = resolve_state_block(context, _block_ref(params[1], "params[1]"), "params[1]")
    return hex(context.node.get_balance(address, block))


def get_transaction_count(context: RpcContext, params: Params) -> str:
    address = codec.decode_address(params[0], "params[0]")
    block = resolve_state_block(context, _block_ref(params[1], "params[1]"), "params[1]")
    return hex(context.node.get_nonce(address, block))


def get_code(context: RpcContext, params: Params) -> str:
    address = codec.decode_address(params[0], "params[0]")
    block = resolve_state_block(context, _block_ref(params[1], "params[1]"), "params[1]")
    return codec.encode_data(context.node.get_code(address, block))


def get_storage_at(context: RpcContext, params: Params) -> str:
    address = codec.decode_address(params[0], "params[0]")
    slot = codec.decode_storage_slot(params[1], "params[1]")
    block = resolve_state_block(context, _block_ref(params[2], "params[2]"), "params[2]")
    return codec.encode_data(context.node.get_storage_at(address, slot, block))


def call(context: RpcContext, params: Params) -> str:
    request = codec.decode_call_request(params[0], "params[0]")
    block = resolve_state_block(context, _block_ref(params[1], "params[1]"), "params[1]")
    _reject_state_overrides(params[2], "params[2]")
    return codec.encode_data(context.node.call(request, block))


def estimate_gas(context: RpcContext, params: Params) -> str:
    request = codec.decode_call_request(params[0], "params[0]")
    block = resolve_state_block(context, _block_ref(params[1], "params[1]"), "params[1]")
    _reject_state_overrides(params[2], "params[2]")
    return hex(context.node.estimate_gas(request, block))


def gas_price(context: RpcContext, params: Params) -> str:
    return hex(context.node.gas_price())


def max_priority_fee(context: RpcContext, params: Params) -> str:
    return hex(context.node.max_priority_fee())


def fee_history(context: RpcContext, params: Params) -> dict[str, Any]:
    requested = codec.decode_count(params[0], "params[0]")
    newest = resolve_block_number(context, codec.decode_block_tag(params[1], "params[1]"))
    percentiles = codec.decode_reward_percentiles(params[2], "params[2]")
    head = context.node.head_number()
    if newest > head:
        raise NotFound(f"params[1]: block {hex(newest)} is beyond the head {hex(head)}")
    # Capped silently, as geth does: clients ask for more than they need.
    count = min(requested, context.limits.max_fee_history_blocks, newest + 1)
    if count == 0:
        return {"oldestBlock": "0x0", "baseFeePerGas": [], "gasUsedRatio": []}
    return codec.encode_fee_history(context.node.fee_history(count, newest, percentiles))


def send_raw_transaction(context: RpcContext, params: Params) -> str:
    raw = codec.decode_data(params[0], "params[0]")
    if not raw:
        raise InvalidParams("params[0]: expected a signed transaction, got empty data")
    return codec.encode_data(context.node.send_raw_transaction(raw))


def get_transaction_by_hash(context: RpcContext, params: Params) -> Any:
    tx = context.node.get_transaction(codec.decode_hash(params[0], "params[0]"))
    return None if tx is None else codec.encode_transaction(tx)


def get_transaction_receipt(context: RpcContext, params: Params) -> Any:
    receipt = context.node.get_receipt(codec.decode_hash(params[0], "params[0]"))
    return None if receipt is None else codec.encode_receipt(receipt)


def resolve_log_filter(context: RpcContext, criteria: FilterParams, where: str) -> LogFilter | None:
    """The node's LogFilter for criteria, or None when the range lies beyond the head."""
    node = context.node
    if criteria.block_hash is not None:
        block = node.get_block_by_hash(criteria.block_hash, False)
        if block is None:
            raise NotFound(f"{where}.blockHash: block {codec.encode_data(criteria.block_hash)} not found")
        return LogFilter(block.number, block.number, criteria.addresses, criteria.topics,
                         criteria.block_hash)
    head = node.head_number()
    from_block = resolve_block_number(context, criteria.from_block)
    requested_to = resolve_block_number(context, criteria.to_block)
    if from_block > requested_to:
        raise InvalidParams(f"{where}: fromBlock {hex(from_block)} is after toBlock {hex(requested_to)}")
    # The limit applies to the range as asked, so a client learns it before its
    # query breaks on a longer chain.
    span = requested_to - from_block + 1
    if span > node.max_logs_block_range:
        raise LimitExceeded(
            f"{where}: blocks {hex(from_block)}..{hex(requested_to)} span {span} blocks; the limit "
            f"is {node.max_logs_block_range}; split the query into smaller ranges"
        )
    if from_block > head:
        return None
    return LogFilter(from_block, min(requested_to, head), criteria.addresses, criteria.topics)


def query_logs(context: RpcContext, criteria: FilterParams, where: str) -> list[dict[str, Any]]:
    log_filter = resolve_log_filter(context, criteria, where)
    logs: list[LogView] = [] if log_filter is None else context.node.get_logs(log_filter)
    if len(logs) > context.limits.max_logs_results:
        raise LimitExceeded(
            f"query returned more than {context.limits.max_logs_results} results; "
            "narrow the block range or the address and topic filters"
        )
    return [codec.encode_log(log) for log in logs]


def get_logs(context: RpcContext, params: Params) -> list[dict[str, Any]]:
    return query_logs(context, codec.decode_filter(params[0], "params[0]"), "params[0]")


def new_filter(context: RpcContext, params: Params) -> str:
    criteria = codec.decode_filter(params[0], "params[0]")
    if criteria.block_hash is not None:
        raise InvalidParams("params[0].blockHash: a filter follows new blocks; use eth_getLogs")
    return context.filters.install_log_filter(criteria, context.now)


def new_block_filter(context: RpcContext, params: Params) -> str:
    return context.filters.install_block_filter(context.now)


def get_filter_changes(context: RpcContext, params: Params) -> list[Any]:
    filter_id = codec.decode_id(params[0], "params[0]")
    return encode_filter_changes(context.filters.take_changes(filter_id, context.now))


def get_filter_logs(context: RpcContext, params: Params) -> list[dict[str, Any]]:
    criteria = context.filters.criteria(codec.decode_id(params[0], "params[0]"), context.now)
    return query_logs(context, criteria, "filter")


def uninstall_filter(context: RpcContext, params: Params) -> bool:
    return context.filters.uninstall(codec.decode_id(params[0], "params[0]"), context.now)


def _connection_subscriptions(context: RpcContext) -> Subscriptions:
    if context.subscriptions is None:
        raise MethodNotFound("subscriptions are only available over WebSocket")
    return context.subscriptions


def subscribe(context: RpcContext, params: Params) -> str:
    subscriptions = _connection_subscriptions(context)
    kind = params[0]
    if kind == "newHeads":
        if params[1] is not None:
            raise InvalidParams("params[1]: newHeads takes no options")
        return subscriptions.subscribe(None)
    if kind == "logs":
        options = {} if params[1] is None else params[1]
        if isinstance(options, dict) and {"fromBlock", "toBlock", "blockHash"} & set(options):
            raise InvalidParams(
                "params[1]: a logs subscription follows new blocks only; "
                "omit fromBlock, toBlock and blockHash and use eth_getLogs for history"
            )
        return subscriptions.subscribe(codec.decode_filter(options, "params[1]"))
    raise InvalidParams(f"params[0]: unsupported subscription {kind!r}; use newHeads or logs")


def unsubscribe(context: RpcContext, params: Params) -> bool:
    return _connection_subscriptions(context).unsubscribe(codec.decode_id(params[0], "params[0]"))


def validators_by_block_number(context: RpcContext, params: Params) -> list[str]:
    number = resolve_block_number(context, codec.decode_block_tag(params[0], "params[0]"))
    head = context.node.head_number()
    if number > head:
        raise NotFound(f"params[0]: block {hex(number)} not found; the head is {hex(head)}")
    return [codec.encode_data(address) for address in context.node.validators_at(number)]


def build_eth_methods() -> MethodRegistry:
    """The standard web3/net/eth methods and the QBFT validator query."""
    registry = MethodRegistry()
    add = registry.register
    add("web3_clientVersion", client_version)
    add("net_version", net_version)
    add("net_listening", net_listening)
    add("net_peerCount", net_peer_count)
    add("eth_chainId", chain_id)
    add("eth_syncing", syncing)
    add("eth_blockNumber", block_number)
    add("eth_accounts", accounts)
    add("eth_getBlockByNumber", get_block_by_number, required=("block", "fullTransactions"))
    add("eth_getBlockByHash", get_block_by_hash, required=("blockHash", "fullTransactions"))
    add("eth_getBlockTransactionCountByNumber", get_block_transaction_count_by_number,
        required=("block",))
    add("eth_getBlockTransactionCountByHash", get_block_transaction_count_by_hash,
        required=("blockHash",))
    add("eth_getTransactionByBlockNumberAndIndex", get_transaction_by_block_number_and_index,
        required=("block", "index"))
    add("eth_getTransactionByBlockHashAndIndex", get_transaction_by_block_hash_and_index,
        required=("blockHash", "index"))
    add("eth_getBalance", get_balance, required=("address",), optional=("block",))
    add("eth_getTransactionCount", get_transaction_count, required=("address",), optional=("block",))
    add("eth_getCode", get_code, required=("address",), optional=("block",))
    add("eth_getStorageAt", get_storage_at, required=("address", "slot"), optional=("block",))
    add("eth_call", call, required=("call",), optional=("block", "stateOverrides"))
    add("eth_estimateGas", estimate_gas, required=("call",), optional=("block", "stateOverrides"))
    add("eth_gasPrice", gas_price)
    add("eth_maxPriorityFeePerGas", max_priority_fee)
    add("eth_feeHistory", fee_history, required=("blockCount", "newestBlock"),
        optional=("rewardPercentiles",))
    add("eth_sendRawTransaction", send_raw_transaction, required=("signedTransaction",))
    add("eth_getTransactionByHash", get_transaction_by_hash, required=("transactionHash",))
    add("eth_getTransactionReceipt", get_transaction_receipt, required=("transactionHash",))
    add("eth_getLogs", get_logs, required=("filter",))
    add("eth_newFilter", new_filter, required=("filter",))
    add("eth_newBlockFilter", new_block_filter)
    add("eth_getFilterChanges", get_filter_changes, required=("filterId",))
    add("eth_getFilterLogs", get_filter_logs, required=("filterId",))
    add("eth_uninstallFilter", uninstall_filter, required=("filterId",))
    add("eth_subscribe", subscribe, required=("kind",), optional=("options",), websocket_only=True)
    add("eth_unsubscribe", unsubscribe, required=("subscriptionId",), websocket_only=True)
    add("qbft_getValidatorsByBlockNumber", validators_by_block_number, required=("block",))
    return registry
