"""Building a dev chain in a temporary folder, and signing transactions for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address

from chain.consensus import block_encoding as qbft
from chain.consensus.crypto import sign
from chain.devnet import DEV_ACCOUNTS, dev_genesis, dev_private_key
from chain.node.chain import BuiltBlock, Chain
from chain.node.node import Node
from chain.storage.lmdb_store import LmdbStore

VALIDATOR_KEY = dev_private_key("validator:0")
ADMIN, DEPARTMENT, SERVICE, OUTSIDER = DEV_ACCOUNTS
RECIPIENT = bytes.fromhex("11" * 20)


def open_chain(folder: Path, **genesis_options: Any) -> tuple[Chain, Node]:
    chain = Chain(LmdbStore(folder), dev_genesis(**genesis_options))
    return chain, Node(chain)


def transfer(key: bytes, nonce: int, chain_id: int, *, value: int = 1, gas: int = 21_000,
             gas_price: int = 0, to: bytes = RECIPIENT, **extra: Any) -> bytes:
    tx = {"to": to_checksum_address(to), "value": value, "gas": gas, "nonce": nonce, "chainId": chain_id}
    if "maxFeePerGas" in extra:
        tx.update(extra)
    else:
        tx["gasPrice"] = gas_price
        tx.update(extra)
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


def seal(built: BuiltBlock, keys: list[bytes] | None = None, round_number: int = 0) -> bytes:
    header = qbft.with_round_and_seals(built.header_rlp, round_number, [])
    digest = qbft.commit_seal_hash(header)
    seals = [sign(k, digest) for k in (keys if keys is not None else [VALIDATOR_KEY])]
    return qbft.with_round_and_seals(built.header_rlp, round_number, seals)
