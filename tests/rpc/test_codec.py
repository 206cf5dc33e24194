"""Parameter decoding: what is accepted, and what each refusal says."""

from __future__ import annotations

import pytest

from chain.errors import InvalidParams
from chain.rpc import codec
from chain.rpc.codec import BlockHashRef, FilterParams
from chain.types import CallRequest

ADDRESS = "0x" + "ab" * 20
HASH = "0x" + "cd" * 32


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0x0", 0), ("0x1", 1), ("0x1a", 26), ("0xABC", 0xABC), ("0x" + "f" * 64, 2**256 - 1)],
)
def test_quantity_accepted(raw, expected):
    assert codec.decode_quantity(raw, "params[0]") == expected


@pytest.mark.parametrize(
    "raw",
    ["0x", "0x01", "0x00", "1a", "26", 26, None, True, "0xg", "0x1 ", "0X1", "0x1" + "0" * 64],
)
def test_quantity_refused_with_position(raw):
    with pytest.raises(InvalidParams, match=r"^params\[1\]: expected a hex quantity"):
        codec.decode_quantity(raw, "params[1]")


@pytest.mark.parametrize(("raw", "expected"), [("0x", b""), ("0x00ff", b"\x00\xff"), ("0xAbCd", b"\xab\xcd")])
def test_data_accepted(raw, expected):
    assert codec.decode_data(raw, "params[0]") == expected


@pytest.mark.parametrize("raw", ["0x0", "0xabc", "abcd", "0xzz", 12, None])
def test_data_refused(raw):
    with pytest.raises(InvalidParams, match=r"^params\[0\]: expected hex data"):
        codec.decode_data(raw, "params[0]")


@pytest.mark.parametrize("raw", [ADDRESS[:-2], ADDRESS + "00", "ab" * 20, HASH, 5, None])
def test_address_refused(raw):
    with pytest.raises(InvalidParams, match=r"^params\[0\]\.to: expected a 20-byte hex address"):
        codec.decode_address(raw, "params[0].to")


@pytest.mark.parametrize("raw", [HASH[:-2], HASH + "00", ADDRESS, None])
def test_hash_refused(raw):
    with pytest.raises(InvalidParams, match="expected a 32-byte hex hash"):
        codec.decode_hash(raw, "params[0]")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("latest", "latest"), ("earliest", "earliest"), ("pending", "pending"),
        ("safe", "safe"), ("finalized", "finalized"), ("0x10", 16),
    ],
)
def test_block_tag(raw, expected):
    assert codec.decode_block_tag(raw, "params[1]") == expected


@pytest.mark.parametrize("raw", ["Latest", "head", "16", 16, None, "0x010"])
def test_block_tag_refused(raw):
    with pytest.raises(InvalidParams, match=r"^params\[1\]: expected a block number"):
        codec.decode_block_tag(raw, "params[1]")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (HASH, BlockHashRef(bytes.fromhex("cd" * 32))),
        ({"blockHash": HASH, "requireCanonical": True}, BlockHashRef(bytes.fromhex("cd" * 32))),
        ({"blockNumber": "0x2"}, 2),
        ("latest", "latest"),
    ],
)
def test_block_ref_eip1898(raw, expected):
    assert codec.decode_block_ref(raw, "params[1]") == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "exactly one of blockNumber or blockHash"),
        ({"blockNumber": "0x1", "blockHash": HASH}, "exactly one"),
        ({"blockHash": "0x12"}, r"params\[1\]\.blockHash: expected a 32-byte hex hash"),
        ({"number": "0x1"}, "unknown field 'number'"),
    ],
)
def test_block_ref_refused(raw, message):
    with pytest.raises(InvalidParams, match=message):
        codec.decode_block_ref(raw, "params[1]")


def test_call_request_full():
    request = codec.decode_call_request(
        {"from": ADDRESS, "to": ADDRESS, "gas": "0x5208", "maxFeePerGas": "0x2",
         "maxPriorityFeePerGas": "0x1", "value": "0x3", "input": "0x1234", "data": "0x1234",
         "nonce": "0x7", "chainId": "0x539", "type": "0x2", "accessList": []},
        "params[0]",
    )
    address = bytes.fromhex("ab" * 20)
    assert request == CallRequest(sender=address, to=address, gas=21000, max_fee_per_gas=2,
                                  max_priority_fee_per_gas=1, value=3, data=b"\x12\x34")


def test_call_request_defaults():
    assert codec.decode_call_request({"to": ADDRESS, "data": "0x01"}, "params[0]") == CallRequest(
        to=bytes.fromhex("ab" * 20), data=b"\x01")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0x12", r"^params\[0\]: expected a call object"),
        ({"to": "0x12"}, r"^params\[0\]\.to: expected a 20-byte hex address"),
        ({"gas": 21000}, r"^params\[0\]\.gas: expected a hex quantity"),
        ({"data": "0x12", "input": "0x34"}, "both data and input given with different values"),
        ({"gasPrice": "0x1", "maxFeePerGas": "0x1"}, "use one fee model"),
        ({"maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x2"}, "exceeds maxFeePerGas"),
        ({"gasLimit": "0x1"}, "unknown field 'gasLimit'"),
    ],
)
def test_call_request_refused(raw, message):
    with pytest.raises(InvalidParams, match=message):
        codec.decode_call_request(raw, "params[0]")


def test_filter_topics_nulls_and_alternatives():
    topic_a, topic_b = "0x" + "aa" * 32, "0x" + "bb" * 32
    decoded = codec.decode_filter(
        {"fromBlock": "earliest", "toBlock": "0x5", "address": [ADDRESS],
         "topics": [topic_a, None, [topic_a, topic_b], [topic_b, None]]},
        "params[0]",
    )
    a, b = bytes.fromhex("aa" * 32), bytes.fromhex("bb" * 32)
    assert decoded == FilterParams(from_block="earliest", to_block=5,
                                   addresses=(bytes.fromhex("ab" * 20),),
                                   topics=((a,), None, (a, b)))


def test_filter_single_address_and_block_hash():
    decoded = codec.decode_filter({"address": ADDRESS, "blockHash": HASH}, "params[0]")
    assert decoded.addresses == (bytes.fromhex("ab" * 20),)
    assert decoded.block_hash == bytes.fromhex("cd" * 32)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"blockHash": HASH, "fromBlock": "0x1"}, "blockHash cannot be combined"),
        ({"address": ["0x12"]}, r"params\[0\]\.address\[0\]: expected a 20-byte hex address"),
        ({"topics": ["0x12"]}, r"params\[0\]\.topics\[0\]: expected a 32-byte hex hash"),
        ({"topics": [None] * 5}, "5 topic positions; the limit is 4"),
        ({"topics": "0x12"}, r"params\[0\]\.topics: expected a list of topics"),
        ({"fromBlock": "yesterday"}, r"params\[0\]\.fromBlock: expected a block number"),
        ({"limit": 5}, "unknown field 'limit'"),
    ],
)
def test_filter_refused(raw, message):
    with pytest.raises(InvalidParams, match=message):
        codec.decode_filter(raw, "params[0]")


@pytest.mark.parametrize(("raw", "expected"), [("0x10", 16), ("16", 16), (16, 16)])
def test_count_accepts_hex_and_decimal(raw, expected):
    assert codec.decode_count(raw, "params[0]") == expected


@pytest.mark.parametrize("raw", [[101], [-1], [50, 10], ["10"], "10"])
def test_reward_percentiles_refused(raw):
    with pytest.raises(InvalidParams, match=r"params\[2\]"):
        codec.decode_reward_percentiles(raw, "params[2]")
