"""Block execution and import rate of the node, next to raw py-evm on the same transactions.

    python -m bench.execution [--transactions 600] [--blocks 3] [--rpc-seconds 5]

For plain transfers and for a contract call that emits an event, measures in one run:
- raw: py-evm ``apply_all_transactions`` + ``state.persist()`` on an in-memory
  database, transactions decoded from their raw bytes inside the timed region;
- build: the node building a block from its pool (permission checks, execution,
  roots) and committing it durably to LMDB;
- import: a second node validating the sealed block (decode, signatures,
  permission, re-execution, root checks, seals) and committing it.
Then ``eth_call`` and ``eth_getLogs`` requests per second over HTTP against a real
node process. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from eth.consensus.context import ConsensusContext
from eth.db.atomic import AtomicDB
from eth.db.chain import ChainDB
from eth.vm.chain_context import ChainContext
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.cancun.transactions import CancunTransactionBuilder
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from chain.devnet import DEV_ACCOUNTS, dev_genesis, dev_private_key
from chain.execution.transactions import decode_transaction
from chain.node.chain import Chain
from chain.node.node import Node
from chain.storage.lmdb_store import LmdbStore
from chain.txpool.config import PoolConfig
from contracts.artifacts import load_artifact

VALIDATOR = dev_private_key("validator:0")
SENDERS = DEV_ACCOUNTS[:3]


def _sign(key: bytes, nonce: int, chain_id: int, to: bytes, data: bytes = b"", gas: int = 21_000) -> bytes:
    tx = {"to": to_checksum_address(to), "value": 1 if not data else 0, "gas": gas, "gasPrice": 0,
          "nonce": nonce, "chainId": chain_id, "data": data}
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


def _workload(kind: str, count: int, start_nonces: dict[bytes, int], chain_id: int, board: bytes) -> list[bytes]:
    raws = []
    post = function_signature_to_4byte_selector("post(string)")
    # abi.encode("city notice #..."): offset, length, padded bytes
    for i in range(count):
        account = SENDERS[i % len(SENDERS)]
        nonce = start_nonces[account.address]
        start_nonces[account.address] += 1
        if kind == "transfer":
            raws.append(_sign(account.private_key, nonce, chain_id, bytes.fromhex("77" * 20)))
        else:
            text = f"city notice {i:06d}".encode()
            data = post + (32).to_bytes(32, "big") + len(text).to_bytes(32, "big") + text.ljust(32, b"\0")
            raws.append(_sign(account.private_key, nonce, chain_id, board, data, gas=95_000))
    return raws


def _raw_pyevm(spec, parent_header, raws_per_block: list[list[bytes]], state_snapshot: dict[bytes, bytes]) -> float:
    """Seconds for raw py-evm to decode and apply every block's transactions, then persist."""
    db = AtomicDB()
    for key, value in state_snapshot.items():
        db[key] = value
    chaindb = ChainDB(db)
    header = parent_header
    total = 0.0
    for raws in raws_per_block:
        child = header.copy(block_number=header.block_number + 1, timestamp=header.timestamp + 1,
                            gas_used=0, bloom=0)
        vm = CancunVM(child, chaindb, ChainContext(spec.chain_id), ConsensusContext(db))
        started = time.perf_counter()
        txs = [CancunTransactionBuilder.decode(raw) for raw in raws]
        vm.apply_all_transactions(txs, child)
        vm.state.persist()
        total += time.perf_counter() - started
        header = child.copy(state_root=vm.state.state_root)
    return total


def _snapshot(store: LmdbStore) -> dict[bytes, bytes]:
    env = store._env  # benchmark-only: copy the state trie into memory for raw py-evm
    with env.begin(db=store._db[b"state"]) as txn:
        return {bytes(k): bytes(v) for k, v in txn.cursor()}


def measure_execution(kind: str, per_block: int, blocks: int) -> dict[str, float]:
    from tests.chain.helpers import seal  # reuse the same sealing the tests use

    with tempfile.TemporaryDirectory() as folder:
        spec = dev_genesis()
        builder = Chain(LmdbStore(Path(folder) / "a"), spec)
        importer = Chain(LmdbStore(Path(folder) / "b"), spec)
        # One block's worth of transactions per sender must fit in the pool.
        node = Node(builder, PoolConfig(max_transactions=100_000, max_per_sender=10_000, max_nonce_gap=10_000))
        nonces = {a.address: 0 for a in SENDERS}
        board = b""
        if kind == "contract":
            # Deploy NoticeBoard in a first block, on both chains.
            deploy = Account.sign_transaction(
                {"data": load_artifact("NoticeBoard").bytecode, "value": 0, "gas": 2_000_000, "gasPrice": 0,
                 "nonce": 0, "chainId": spec.chain_id}, SENDERS[0].private_key)
            raw = bytes(deploy.raw_transaction)
            built = builder.build_block([decode_transaction(raw, spec.chain_id)], coinbase=_validator(),
                                        timestamp=builder.head.timestamp + 1, round_number=0)
            board = built.outcome.executed[0].contract_address or b""
            final = seal(built)
            builder.commit(final, built.outcome)
            importer.import_block(final, [raw], now=None)
            nonces[SENDERS[0].address] = 1
        state_before = _snapshot(builder.store)
        parent_before = builder.head
        workload = [_workload(kind, per_block, nonces, spec.chain_id, board) for _ in range(blocks)]

        build_seconds = import_seconds = 0.0
        for raws in workload:
            for raw in raws:
                node.admit(raw, now=time.time())
            started = time.perf_counter()
            built = builder.build_block(node.candidates(), coinbase=_validator(),
                                        timestamp=builder.head.timestamp + 1, round_number=0)
            final = seal(built)
            record = builder.commit(final, built.outcome)
            build_seconds += time.perf_counter() - started
            assert len(record.transactions) == per_block, (len(record.transactions), built.excluded)
            assert all(r.status == 1 for r in record.receipts)
            node.after_commit(record, time.time())
            started = time.perf_counter()
            importer.import_block(final, raws, now=None)
            import_seconds += time.perf_counter() - started
            assert importer.head_hash == builder.head_hash
        raw_seconds = _raw_pyevm(spec, parent_before, workload, state_before)
        builder.store.close()
        importer.store.close()
    total = per_block * blocks
    return {
        "raw_pyevm_tx_per_s": total / raw_seconds,
        "node_build_tx_per_s": total / build_seconds,
        "node_import_tx_per_s": total / import_seconds,
        "build_ratio": raw_seconds / build_seconds,
        "import_ratio": raw_seconds / import_seconds,
    }


def _validator() -> bytes:
    from chain.devnet import address_of

    return address_of(VALIDATOR)


def measure_rpc(seconds: float, clients: int = 4) -> dict[str, float]:
    from tests.e2e.node_process import dev_node

    with tempfile.TemporaryDirectory() as folder:
        process = dev_node(Path(folder))
        process.start()
        try:
            url = process.http_url
            deployer = SENDERS[1]
            raw = Account.sign_transaction(
                {"data": load_artifact("NoticeBoard").bytecode, "value": 0, "gas": 2_000_000, "gasPrice": 0,
                 "nonce": 0, "chainId": 20211}, deployer.private_key).raw_transaction
            tx_hash = process.rpc("eth_sendRawTransaction", ["0x" + bytes(raw).hex()])["result"]
            receipt = _wait_receipt(process, tx_hash)
            board = bytes.fromhex(receipt["contractAddress"][2:])
            raws = _workload("contract", 100, {a.address: (1 if a is deployer else 0) for a in SENDERS}, 20211, board)
            hashes = [process.rpc("eth_sendRawTransaction", ["0x" + r.hex()])["result"] for r in raws]
            _wait_receipt(process, hashes[-1])
            count_call = {"to": receipt["contractAddress"], "data": "0x06661abd"}  # count()
            call_body = {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [count_call, "latest"]}
            logs_body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
                         "params": [{"fromBlock": "0x0", "toBlock": "latest", "address": receipt["contractAddress"]}]}
            call_rate, call_p50 = _hammer(url, call_body, seconds, clients, lambda r: r["result"] == "0x" + (100).to_bytes(32, "big").hex())
            logs_rate, logs_p50 = _hammer(url, logs_body, seconds, clients, lambda r: len(r["result"]) == 100)
        finally:
            process.stop()
    return {"eth_call_per_s": call_rate, "eth_call_p50_ms": call_p50,
            "eth_getLogs_100_logs_per_s": logs_rate, "eth_getLogs_p50_ms": logs_p50}


def _wait_receipt(process, tx_hash: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = process.rpc("eth_getTransactionReceipt", [tx_hash])["result"]
        if result:
            return result
        time.sleep(0.2)
    raise TimeoutError(tx_hash)


def _hammer(url: str, body: dict, seconds: float, clients: int, check) -> tuple[float, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                reply = client.post(url, json=body).json()
                elapsed = time.perf_counter() - started
                if not check(reply):
                    raise AssertionError(reply)
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / seconds, statistics.median(latencies) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=600, help="transactions per block")
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--rpc-seconds", type=float, default=5.0)
    args = parser.parse_args()
    results: dict[str, object] = {"benchmark": "execution"}
    for kind in ("transfer", "contract"):
        figures = measure_execution(kind, args.transactions if kind == "transfer" else args.transactions // 2, args.blocks)
        results[kind] = {k: round(v, 3) for k, v in figures.items()}
        print(f"{kind:>9}: raw py-evm {figures['raw_pyevm_tx_per_s']:.0f} tx/s | node build+commit "
              f"{figures['node_build_tx_per_s']:.0f} tx/s ({figures['build_ratio']:.2f}x raw) | node import "
              f"{figures['node_import_tx_per_s']:.0f} tx/s ({figures['import_ratio']:.2f}x raw)", flush=True)
    rpc = measure_rpc(args.rpc_seconds)
    results["rpc"] = {k: round(v, 2) for k, v in rpc.items()}
    print(f"      rpc: eth_call {rpc['eth_call_per_s']:.0f}/s (p50 {rpc['eth_call_p50_ms']:.1f} ms) | "
          f"eth_getLogs (100 logs) {rpc['eth_getLogs_100_logs_per_s']:.0f}/s (p50 {rpc['eth_getLogs_p50_ms']:.1f} ms)")
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
