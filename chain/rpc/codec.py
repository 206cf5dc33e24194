"""Strict decoding of JSON-RPC parameters and encoding of chain views to Ethereum JSON.

Decoders take the raw JSON value and ``where`` — the parameter's position, such as
``params[0].to`` — and raise InvalidParams naming it and what was expected. They are
pure: block tags stay tags here; ``chain.rpc.methods`` resolves them against the node.
Encoders produce the exact shapes geth returns, which web3.py and ethers format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from chain.errors import InvalidParams
from chain.types import (
    Address,
    BlockView,
    CallRequest,
    FeeHistory,
    Hash32,
    LogView,
    ReceiptView,
    SyncStatus,
    TransactionView,
)

MAX_QUANTITY_BITS = 256
MAX_FILTER_ADDRESSES = 1000
MAX_FILTER_TOPICS = 4
MAX_TOPIC_ALTERNATIVES = 1000

_HEX = re.compile(r"0x[0-9a-fA-F]*")
_QUANTITY = re.compile(r"0x(?:0|[1-9a-fA-F][0-9a-fA-F]*)")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")

BlockTagName = Literal["latest", "earliest", "pending", "safe", "finalized"]
BLOCK_TAG_NAMES: tuple[BlockTagName, ...] = ("latest", "earliest", "pending", "safe", "finalized")


@dataclass(frozen=True)
class BlockHashRef:
    """An EIP-1898 block reference by hash."""

    block_hash: Hash32


# A block parameter as the caller wrote it: a number, a tag, or (EIP-1898) a hash.
BlockTag = int | BlockTagName
BlockRef = BlockTag | BlockHashRef


@dataclass(frozen=True)
class FilterParams:
    """An eth_getLogs / eth_newFilter object with tags still unresolved."""

    from_block: BlockTag = "latest"
    to_block: BlockTag = "latest"
    addresses: tuple[Address, ...] = ()
    topics: tuple[tuple[Hash32, ...] | None, ...] = ()
    block_hash: Hash32 | None = None


# --- decoding -----------------------------------------------------------------


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 48 else text[:45] + "..."


def _invalid(where: str, expected: str, value: Any) -> InvalidParams:
    return InvalidParams(f"{where}: expected {expected}, got {_preview(value)}")


def decode_quantity(value: Any, where: str) -> int:
    """A QUANTITY: "0x"-prefixed hex, no leading zeros (except "0x0"), at most 256 bits."""
    expected = 'a hex quantity such as "0x1a" (no leading zeros, at most 256 bits)'
    if not isinstance(value, str) or _QUANTITY.fullmatch(value) is None:
        raise _invalid(where, expected, value)
    if len(value) - 2 > MAX_QUANTITY_BITS // 4:
        raise _invalid(where, expected, value)
    return int(value, 16)


def decode_count(value: Any, where: str) -> int:
    """A count that geth accepts as hex quantity or decimal (eth_feeHistory blockCount)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64:
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value) and len(value) <= 20:
        return int(value)
    if isinstance(value, str) and value.startswith("0x"):
        return decode_quantity(value, where)
    raise _invalid(where, "a hex quantity or a decimal number", value)


def decode_data(value: Any, where: str, length: int | None = None) -> bytes:
    """DATA: "0x"-prefixed, an even number of hex digits; exactly ``length`` bytes if given."""
    if length is None:
        expected = 'hex data such as "0x1234" (an even number of hex digits)'
    else:
        expected = f"{length} bytes of hex data (0x + {2 * length} hex digits)"
    if not isinstance(value, str) or _HEX.fullmatch(value) is None or len(value) % 2:
        raise _invalid(where, expected, value)
    if length is not None and len(value) != 2 + 2 * length:
        raise _invalid(where, expected, value)
    return bytes.fromhex(value[2:])


def decode_address(value: Any, where: str) -> Address:
    if not isinstance(value, str) or _HEX.fullmatch(value) is None or len(value) != 42:
        raise _invalid(where, "a 20-byte hex address", value)
    return bytes.fromhex(value[2:])


def decode_hash(value: Any, where: str) -> Hash32:
    if not isinstance(value, str) or _HEX.fullmatch(value) is None or len(value) != 66:
        raise _invalid(where, "a 32-byte hex hash", value)
    return bytes.fromhex(value[2:])


def decode_storage_slot(value: Any, where: str) -> int:
    """A storage key: geth accepts up to 32 bytes of hex, leading zeros allowed."""
    if not isinstance(value, str) or _HEX.fullmatch(value) is None or not 3 <= len(value) <= 66:
        raise _invalid(where, "a storage slot of at most 32 bytes of hex", value)
    return int(value, 16)


def decode_id(value: Any, where: str) -> int:
    """A filter or subscription id this node handed out: hex of at most 32 bytes."""
    if not isinstance(value, str) or _HEX.fullmatch(value) is None or not 3 <= len(value) <= 66:
        raise _invalid(where, "a filter id such as \"0x1f...\"", value)
    return int(value, 16)


def decode_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _invalid(where, "true or false", value)
    return value


def decode_block_tag(value: Any, where: str) -> BlockTag:
    """A block number or one of latest, earliest, pending, safe, finalized."""
    if value in BLOCK_TAG_NAMES:
        return value
    if isinstance(value, str) and _QUANTITY.fullmatch(value) and len(value) <= 2 + 16:
        return int(value, 16)
    raise _invalid(where, "a block number (hex quantity) or a tag: " + ", ".join(BLOCK_TAG_NAMES), value)


def decode_block_ref(value: Any, where: str) -> BlockRef:
    """A block tag, a 32-byte block hash, or an EIP-1898 object {blockNumber} / {blockHash}."""
    if isinstance(value, str) and len(value) == 66:
        return BlockHashRef(decode_hash(value, where))
    if not isinstance(value, dict):
        return decode_block_tag(value, where)
    unknown = set(value) - {"blockNumber", "blockHash", "requireCanonical"}
    if unknown:
        raise InvalidParams(f"{where}: unknown field {sorted(unknown)[0]!r} in block reference")
    if ("blockNumber" in value) == ("blockHash" in value):
        raise InvalidParams(f"{where}: give exactly one of blockNumber or blockHash")
    if "requireCanonical" in value:
        # Without reorgs every stored block is canonical, so the flag changes nothing.
        decode_bool(value["requireCanonical"], f"{where}.requireCanonical")
    if "blockHash" in value:
        return BlockHashRef(decode_hash(value["blockHash"], f"{where}.blockHash"))
    return decode_block_tag(value["blockNumber"], f"{where}.blockNumber")


def _decode_object(value: Any, where: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(where, what, value)
    return value


_CALL_FIELDS = frozenset(
    {"from", "to", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value", "data", "input"}
)
# Transaction fields clients send along with calls that do not change a call's result.
_CALL_FIELDS_IGNORED = frozenset(
    {"nonce", "type", "chainId", "accessList", "maxFeePerBlobGas", "blobVersionedHashes",
     "authorizationList"}
)


def decode_call_request(value: Any, where: str) -> CallRequest:
    obj = _decode_object(value, where, "a call object")
    unknown = set(obj) - _CALL_FIELDS - _CALL_FIELDS_IGNORED
    if unknown:
        raise InvalidParams(
            f"{where}: unknown field {sorted(unknown)[0]!r}; "
            f"a call object takes {', '.join(sorted(_CALL_FIELDS))}"
        )

    def quantity(key: str) -> int | None:
        raw = obj.get(key)
        return None if raw is None else decode_quantity(raw, f"{where}.{key}")

    data = None if obj.get("data") is None else decode_data(obj["data"], f"{where}.data")
    call_input = None if obj.get("input") is None else decode_data(obj["input"], f"{where}.input")
    if data is not None and call_input is not None and data != call_input:
        raise InvalidParams(f"{where}: both data and input given with different values; send one")
    gas_price = quantity("gasPrice")
    max_fee = quantity("maxFeePerGas")
    max_priority = quantity("maxPriorityFeePerGas")
    if gas_price is not None and (max_fee is not None or max_priority is not None):
        raise InvalidParams(
            f"{where}: both gasPrice and maxFeePerGas/maxPriorityFeePerGas given; use one fee model"
        )
    if max_fee is not None and max_priority is not None and max_priority > max_fee:
        raise InvalidParams(
            f"{where}: maxPriorityFeePerGas ({max_priority}) exceeds maxFeePerGas ({max_fee})"
        )
    return CallRequest(
        sender=None if obj.get("from") is None else decode_address(obj["from"], f"{where}.from"),
        to=None if obj.get("to") is None else decode_address(obj["to"], f"{where}.to"),
        gas=quantity("gas"),
        gas_price=gas_price,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=max_priority,
        value=quantity("value") or 0,
        data=call_input if call_input is not None else (data or b""),
    )


def _decode_addresses(value: Any, where: str) -> tuple[Address, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        return (decode_address(value, where),)
    if len(value) > MAX_FILTER_ADDRESSES:
        raise InvalidParams(f"{where}: {len(value)} addresses; the limit is {MAX_FILTER_ADDRESSES}")
    return tuple(decode_address(item, f"{where}[{i}]") for i, item in enumerate(value))


def _decode_topic_position(value: Any, where: str) -> tuple[Hash32, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return (decode_hash(value, where),)
    if len(value) > MAX_TOPIC_ALTERNATIVES:
        raise InvalidParams(f"{where}: {len(value)} alternatives; the limit is {MAX_TOPIC_ALTERNATIVES}")
    alternatives = [None if item is None else decode_hash(item, f"{where}[{i}]")
                    for i, item in enumerate(value)]
    # As in geth, an empty list or a null alternative matches any topic.
    if not alternatives or None in alternatives:
        return None
    return tuple(a for a in alternatives if a is not None)


def decode_topics(value: Any, where: str) -> tuple[tuple[Hash32, ...] | None, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid(where, "a list of topics (each null, a hash, or a list of hashes)", value)
    if len(value) > MAX_FILTER_TOPICS:
        raise InvalidParams(f"{where}: {len(value)} topic positions; the limit is {MAX_FILTER_TOPICS}")
    topics = [_decode_topic_position(item, f"{where}[{i}]") for i, item in enumerate(value)]
    while topics and topics[-1] is None:
        topics.pop()
    return tuple(topics)


def decode_filter(value: Any, where: str) -> FilterParams:
    obj = _decode_object(value, where, "a filter object")
    unknown = set(obj) - {"fromBlock", "toBlock", "address", "topics", "blockHash"}
    if unknown:
        raise InvalidParams(
            f"{where}: unknown field {sorted(unknown)[0]!r}; "
            "a filter takes fromBlock, toBlock, address, topics, blockHash"
        )
    addresses = _decode_addresses(obj.get("address"), f"{where}.address")
    topics = decode_topics(obj.get("topics"), f"{where}.topics")
    if obj.get("blockHash") is not None:
        if obj.get("fromBlock") is not None or obj.get("toBlock") is not None:
            raise InvalidParams(f"{where}: blockHash cannot be combined with fromBlock or toBlock")
        block_hash = decode_hash(obj["blockHash"], f"{where}.blockHash")
        return FilterParams(addresses=addresses, topics=topics, block_hash=block_hash)
    from_block = obj.get("fromBlock")
    to_block = obj.get("toBlock")
    return FilterParams(
        from_block="latest" if from_block is None else decode_block_tag(from_block, f"{where}.fromBlock"),
        to_block="latest" if to_block is None else decode_block_tag(to_block, f"{where}.toBlock"),
        addresses=addresses,
        topics=topics,
    )


def decode_reward_percentiles(value: Any, where: str) -> tuple[float, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > 100:
        raise _invalid(where, "a list of at most 100 percentiles", value)
    percentiles: list[float] = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int | float) or not 0 <= item <= 100:
            raise _invalid(f"{where}[{i}]", "a number from 0 to 100", item)
        if percentiles and item < percentiles[-1]:
            raise InvalidParams(f"{where}: percentiles must be in ascending order")
        percentiles.append(float(item))
    return tuple(percentiles)


# --- encoding -----------------------------------------------------------------


def encode_quantity(value: int) -> str:
    return hex(value)


def encode_data(value: bytes) -> str:
    return "0x" + value.hex()


def _optional_quantity(value: int | None) -> str | None:
    return None if value is None else hex(value)


def _optional_data(value: bytes | None) -> str | None:
    return None if value is None else "0x" + value.hex()


def encode_header(block: BlockView) -> dict[str, Any]:
    """The header fields, as in a newHeads notification."""
    return {
        "number": hex(block.number),
        "hash": encode_data(block.hash),
        "parentHash": encode_data(block.parent_hash),
        "nonce": encode_data(block.nonce),
        "sha3Uncles": encode_data(block.sha3_uncles),
        "logsBloom": encode_data(block.logs_bloom),
        "transactionsRoot": encode_data(block.transactions_root),
        "stateRoot": encode_data(block.state_root),
        "receiptsRoot": encode_data(block.receipts_root),
        "miner": encode_data(block.miner),
        "difficulty": hex(block.difficulty),
        "extraData": encode_data(block.extra_data),
        "gasLimit": hex(block.gas_limit),
        "gasUsed": hex(block.gas_used),
        "timestamp": hex(block.timestamp),
        "mixHash": encode_data(block.mix_hash),
        "baseFeePerGas": hex(block.base_fee_per_gas),
        "withdrawalsRoot": encode_data(block.withdrawals_root),
        "blobGasUsed": hex(block.blob_gas_used),
        "excessBlobGas": hex(block.excess_blob_gas),
        "parentBeaconBlockRoot": encode_data(block.parent_beacon_block_root),
    }


def encode_block(block: BlockView, full_transactions: bool) -> dict[str, Any]:
    body: dict[str, Any] = encode_header(block)
    body["size"] = hex(block.size)
    # QBFT blocks all carry the same difficulty, so the total is a product, not a sum
    # over history (BlockView has no total_difficulty field).
    body["totalDifficulty"] = hex(block.difficulty * (block.number + 1))
    if full_transactions:
        body["transactions"] = [encode_transaction(tx) for tx in block.transactions]
    else:
        body["transactions"] = [encode_data(tx.hash) for tx in block.transactions]
    body["uncles"] = []
    body["withdrawals"] = []
    return body


def encode_transaction(tx: TransactionView) -> dict[str, Any]:
    gas_price = tx.gas_price if tx.gas_price is not None else tx.max_fee_per_gas
    body: dict[str, Any] = {
        "blockHash": _optional_data(tx.block_hash),
        "blockNumber": _optional_quantity(tx.block_number),
        "transactionIndex": _optional_quantity(tx.transaction_index),
        "hash": encode_data(tx.hash),
        "type": hex(tx.type),
        "nonce": hex(tx.nonce),
        "from": encode_data(tx.sender),
        "to": _optional_data(tx.to),
        "value": hex(tx.value),
        "gas": hex(tx.gas),
        "gasPrice": _optional_quantity(gas_price),
        "input": encode_data(tx.data),
        "v": hex(tx.v),
        "r": hex(tx.r),
        "s": hex(tx.s),
    }
    if tx.chain_id is not None:
        body["chainId"] = hex(tx.chain_id)
    if tx.type >= 1:
        body["accessList"] = [
            {"address": encode_data(entry.address),
             "storageKeys": [encode_data(key) for key in entry.storage_keys]}
            for entry in tx.access_list
        ]
        body["yParity"] = hex(tx.v)
    if tx.type == 2:
        body["maxFeePerGas"] = _optional_quantity(tx.max_fee_per_gas)
        body["maxPriorityFeePerGas"] = _optional_quantity(tx.max_priority_fee_per_gas)
    return body


def encode_log(log: LogView) -> dict[str, Any]:
    return {
        "address": encode_data(log.address),
        "topics": [encode_data(topic) for topic in log.topics],
        "data": encode_data(log.data),
        "blockNumber": hex(log.block_number),
        "blockHash": encode_data(log.block_hash),
        "transactionHash": encode_data(log.transaction_hash),
        "transactionIndex": hex(log.transaction_index),
        "logIndex": hex(log.log_index),
        "removed": log.removed,
    }


def encode_receipt(receipt: ReceiptView) -> dict[str, Any]:
    return {
        "transactionHash": encode_data(receipt.transaction_hash),
        "transactionIndex": hex(receipt.transaction_index),
        "blockHash": encode_data(receipt.block_hash),
        "blockNumber": hex(receipt.block_number),
        "from": encode_data(receipt.sender),
        "to": _optional_data(receipt.to),
        "contractAddress": _optional_data(receipt.contract_address),
        "cumulativeGasUsed": hex(receipt.cumulative_gas_used),
        "gasUsed": hex(receipt.gas_used),
        "effectiveGasPrice": hex(receipt.effective_gas_price),
        "status": hex(receipt.status),
        "logs": [encode_log(log) for log in receipt.logs],
        "logsBloom": encode_data(receipt.logs_bloom),
        "type": hex(receipt.type),
    }


def encode_fee_history(history: FeeHistory) -> dict[str, Any]:
    body: dict[str, Any] = {
        "oldestBlock": hex(history.oldest_block),
        "baseFeePerGas": [hex(fee) for fee in history.base_fee_per_gas],
        "gasUsedRatio": list(history.gas_used_ratio),
    }
    if history.reward is not None:
        body["reward"] = [[hex(fee) for fee in block] for block in history.reward]
    return body


def encode_sync_status(status: SyncStatus | None) -> dict[str, str] | bool:
    if status is None:
        return False
    return {
        "startingBlock": hex(status.starting_block),
        "currentBlock": hex(status.current_block),
        "highestBlock": hex(status.highest_block),
    }
