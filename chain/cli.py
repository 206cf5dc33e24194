"""The ``citychain`` command line."""

from __future__ import annotations

import asyncio
import logging
import sys
from importlib import resources
from pathlib import Path

import click

from audit_trail.cli import audit
from chain.config import ConfigError, load_node_config
from chain.genesis import GenesisError
from trust_api.verify_cli import verify_command

DEV_FOLDER = "dev"


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING, ERROR")
def main(log_level: str) -> None:
    """citychain: a consortium QBFT chain and trust services for a city."""
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.group()
def node() -> None:
    """Run and inspect a node."""


@node.command("start")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path))
def node_start(config_path: Path) -> None:
    """Run one node from its TOML config until SIGINT/SIGTERM."""
    _run(config_path, announce=_announce_node)


@node.command("id")
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path, exists=True))
def node_id(key_path: Path) -> None:
    """Print the validator address and the node id (for the node allowlist)."""
    from chain.devnet import address_of, node_id_of
    from chain.keys import load_private_key

    key = load_private_key(key_path)
    click.echo(f"address 0x{address_of(key).hex()}")
    click.echo(f"node id 0x{node_id_of(key).hex()}")


@main.command("up")
@click.option("--dir", "folder", default=".citychain", show_default=True, type=click.Path(path_type=Path))
@click.option("--http-port", default=8545, show_default=True)
@click.option("--ws-port", default=8546, show_default=True)
@click.option("--api-port", default=8080, show_default=True, help="trust API port; 0: no API")
def up(folder: Path, http_port: int, ws_port: int, api_port: int) -> None:
    """Start a ready-to-use DEV chain and the trust API (SQLite) in FOLDER (resumes if present)."""
    config = _prepare_dev_folder(folder / DEV_FOLDER, http_port, ws_port)
    stop_api = None
    if api_port:
        from trust_api.serve import start_dev_api
        from trust_api.settings import dev_settings

        settings = dev_settings(folder / DEV_FOLDER / "api", rpc_url=f"http://127.0.0.1:{http_port}",
                                public_base_url=f"http://127.0.0.1:{api_port}")
        stop_api = start_dev_api(settings, "127.0.0.1", api_port, _announce_api)
    try:
        _run(config, announce=_announce_dev)
    finally:
        if stop_api is not None:
            stop_api()


@main.group()
def genesis() -> None:
    """Make genesis files."""


@genesis.command("dev")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.option("--http-port", default=8545, show_default=True)
@click.option("--ws-port", default=8546, show_default=True)
@click.option("--block-period", default=1, show_default=True)
@click.option("--empty-block-period", default=10, show_default=True)
@click.option("--min-gas-price", default=0, show_default=True)
def genesis_dev(
    out: Path, http_port: int, ws_port: int, block_period: int, empty_block_period: int, min_gas_price: int
) -> None:
    """Write a DEV-ONLY single-validator network (genesis, node.toml, key) to OUT."""
    from chain.devnet import write_dev_network

    config = write_dev_network(
        out, http_port=http_port, ws_port=ws_port, block_period=block_period,
        empty_block_period=empty_block_period, min_gas_price=min_gas_price,
    )
    click.echo(f"wrote {config}")


@main.group()
def key() -> None:
    """Manage node keys (encrypted keystore files)."""


@key.command("new")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.option("--passphrase-env", default="CITYCHAIN_KEY_PASSPHRASE", show_default=True)
def key_new(out: Path, passphrase_env: str) -> None:
    """Create a new secp256k1 key in the standard encrypted keystore format."""
    import os
    import secrets

    from chain.devnet import address_of
    from chain.keys import KeyError_, write_keystore

    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    passphrase = os.environ.get(passphrase_env) or click.prompt(
        "Passphrase", hide_input=True, confirmation_prompt=True
    )
    private_key = secrets.token_bytes(32)
    try:
        write_keystore(out, private_key, passphrase)
    except KeyError_ as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"address 0x{address_of(private_key).hex()} written to {out}")


@main.group()
def network() -> None:
    """Create a consortium network."""


@network.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--validators", default=4, show_default=True)
@click.option("--observers", default=0, show_default=True)
@click.option("--dev-keys", is_flag=True, help="DEV ONLY: keys from public labels, stored in clear")
@click.option("--chain-id", default=20211, show_default=True)
@click.option("--block-period", default=1, show_default=True)
@click.option("--empty-block-period", default=10, show_default=True)
@click.option("--base-http-port", default=8545, show_default=True)
@click.option("--base-p2p-port", default=30303, show_default=True)
@click.option("--passphrase-env", default="CITYCHAIN_KEY_PASSPHRASE", show_default=True)
def network_init(
    folder: Path, validators: int, observers: int, dev_keys: bool, chain_id: int, block_period: int,
    empty_block_period: int, base_http_port: int, base_p2p_port: int, passphrase_env: str,
) -> None:
    """Write a consortium CA, node keys and certificates, genesis and node configs to FOLDER."""
    import os

    from chain.network_init import init_network

    passphrase = None
    if not dev_keys:
        passphrase = os.environ.get(passphrase_env) or click.prompt(
            "Keystore passphrase", hide_input=True, confirmation_prompt=True
        )
    try:
        layouts = init_network(
            folder, validators=validators, observers=observers, dev_keys=dev_keys, passphrase=passphrase,
            chain_id=chain_id, block_period=block_period, empty_block_period=empty_block_period,
            base_http_port=base_http_port, base_p2p_port=base_p2p_port,
        )
    except (ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from exc
    for layout in layouts:
        role = "validator" if layout.validator else "observer"
        click.echo(f"{layout.name:<14} {role:<9} 0x{layout.address.hex()}  {layout.folder / 'node.toml'}")


@main.command("devnet")
@click.option("--validators", default=4, show_default=True)
@click.option("--observers", default=0, show_default=True)
@click.option("--dir", "folder", default=".citychain/devnet", show_default=True, type=click.Path(path_type=Path))
@click.option("--base-http-port", default=8545, show_default=True)
@click.option("--base-p2p-port", default=30303, show_default=True)
def devnet(folder: Path, validators: int, observers: int, base_http_port: int, base_p2p_port: int) -> None:
    """Run a DEV-ONLY network of separate node processes on loopback; Ctrl-C stops them all."""
    from chain.devnet_runner import run_devnet

    run_devnet(folder, validators=validators, observers=observers,
               base_http_port=base_http_port, base_p2p_port=base_p2p_port)


@main.group("log")
def log_group() -> None:
    """Verify RFC 9162 Merkle-log proofs."""


@log_group.command("verify")
def log_verify() -> None:
    """Verify proofs read from stdin, one JSON object per line in the transparency-dev
    test-vector format (inclusion or consistency); print one verdict per line."""
    from anchoring.verify_cli import main as verify_main

    sys.exit(verify_main(sys.stdin, sys.stdout))


@log_group.command("compare")
@click.argument("older", type=click.Path(path_type=Path, exists=True))
@click.argument("newer", type=click.Path(path_type=Path, exists=True))
@click.option("--proof", "proof_path", type=click.Path(path_type=Path, exists=True),
              help="consistency proof: one base64 hash per line")
@click.option("--log-key", "log_keys", multiple=True, required=True, help="the log's verifier key, repeatable")
def log_compare(older: Path, newer: Path, proof_path: Path | None, log_keys: tuple[str, ...]) -> None:
    """Are two signed checkpoints of one log consistent? Prints the verdict; a fork's
    verdict carries both roots and both signed checkpoints as evidence."""
    import base64
    import binascii
    import json as json_module

    from anchoring.errors import AnchoringError
    from anchoring.note import parse_vkey
    from anchoring.verification import compare_checkpoints

    try:
        keys = [parse_vkey(k) for k in log_keys]
        proof = [base64.b64decode(line, validate=True)
                 for line in (proof_path.read_text().split() if proof_path else [])]
    except (AnchoringError, binascii.Error, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    verdict = compare_checkpoints(older.read_bytes(), newer.read_bytes(), proof, keys)
    click.echo(json_module.dumps(verdict.to_json()))
    sys.exit(0 if verdict.valid else 1)


@main.group("anchor")
def anchor_group() -> None:
    """Anchor log checkpoints on chain."""


@anchor_group.command("worker")
@click.option("--database", "database_url", envvar="DATABASE_URL", default="sqlite:///citychain.db",
              show_default=True, help="SQLAlchemy URL of the logs' database (env DATABASE_URL)")
@click.option("--rpc", "rpc_url", default="http://127.0.0.1:8545", show_default=True)
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path, exists=True),
              help="key file of the account that anchors (a department account or the platform operator)")
@click.option("--registry", "registry", default="0x0000000000000000000000000000000000001001",
              show_default=True, help="CityRegistry address from genesis")
@click.option("--witness", "witnesses", multiple=True, metavar="URL=VKEY",
              help="a witness to ask for a cosignature before anchoring (its add-checkpoint URL and "
                   "cosignature verifier key); repeatable")
def anchor_worker(
    database_url: str, rpc_url: str, key_path: Path, registry: str, witnesses: tuple[str, ...]
) -> None:
    """Anchor every pending checkpoint of the outbox, in order; retry while the chain is down."""
    import signal
    import threading

    from anchoring.anchored_log import SqlOutbox, WitnessCosigning, run_worker
    from anchoring.chain_client import Web3AnchorChain
    from anchoring.errors import AnchoringError
    from anchoring.migrations import upgrade
    from anchoring.note import parse_vkey
    from anchoring.store_sql import make_engine
    from anchoring.witness_client import WitnessEndpoint
    from chain.keys import KeyError_, load_private_key

    try:
        key = load_private_key(key_path)
    except KeyError_ as exc:
        raise click.ClickException(str(exc)) from exc
    endpoints = []
    for item in witnesses:
        url, sep, vkey = item.partition("=")
        if not sep:
            raise click.ClickException(f"--witness {item!r}: expected URL=VKEY")
        try:
            endpoints.append(WitnessEndpoint(url, parse_vkey(vkey)))
        except AnchoringError as exc:
            raise click.ClickException(f"--witness {item!r}: {exc}") from exc
    engine = make_engine(database_url)
    upgrade(engine)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    chain = Web3AnchorChain(rpc_url, key, bytes.fromhex(registry.removeprefix("0x")))
    click.echo(f"anchoring worker: {database_url} -> {rpc_url}")
    cosign = WitnessCosigning(engine, endpoints) if endpoints else None
    run_worker(SqlOutbox(engine), chain, stop, cosign=cosign)


@log_group.command("verify-record")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True))
@click.option("--log-key", "log_keys", multiple=True, required=True,
              help="the log's verifier key (name+keyid+base64), repeatable")
@click.option("--rpc", "rpc_url", default=None, help="check the checkpoint is anchored on this chain")
@click.option("--registry", default="0x0000000000000000000000000000000000001001", show_default=True)
def log_verify_record(bundle: Path, log_keys: tuple[str, ...], rpc_url: str | None, registry: str) -> None:
    """Verify a record's proof bundle: inclusion, checkpoint signature, on-chain anchor."""
    import json as json_module

    from anchoring.errors import AnchoringError
    from anchoring.note import parse_vkey
    from anchoring.verification import RecordProof, verify_record

    try:
        keys = [parse_vkey(k) for k in log_keys]
        proof = RecordProof.from_json(json_module.loads(bundle.read_text()))
    except (AnchoringError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    chain = None
    if rpc_url:
        from anchoring.chain_client import Web3AnchorChain

        chain = Web3AnchorChain(rpc_url, b"\x01" * 32, bytes.fromhex(registry.removeprefix("0x")))
    verdict = verify_record(proof, keys, chain)
    click.echo(json_module.dumps(verdict.to_json()))
    sys.exit(0 if verdict.valid else 1)


@main.group("witness")
def witness_group() -> None:
    """Run a checkpoint witness (c2sp.org/tlog-witness) for other departments' logs."""


@witness_group.command("serve")
@click.option("--database", "database_url", envvar="DATABASE_URL", default="sqlite:///witness.db",
              show_default=True)
@click.option("--cosigner-key", "key_path", required=True, type=click.Path(path_type=Path, exists=True),
              help="file holding the witness's private note key (PRIVATE+KEY+name+id+base64)")
@click.option("--log", "logs", multiple=True, required=True, metavar="ORIGIN=VKEY",
              help="a log to witness and its verifier key; repeatable")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8600, show_default=True)
def witness_serve(database_url: str, key_path: Path, logs: tuple[str, ...], host: str, port: int) -> None:
    """Serve POST /add-checkpoint; state (latest size and root per log) in the database."""
    from aiohttp import web

    from anchoring.errors import AnchoringError
    from anchoring.migrations import upgrade
    from anchoring.note import parse_skey, parse_vkey
    from anchoring.store_sql import SqlWitnessState, make_engine
    from anchoring.witness import Witness
    from anchoring.witness_http import create_witness_app

    try:
        cosigner = parse_skey(key_path.read_text().strip())
        log_keys: dict[str, list] = {}
        for item in logs:
            origin, sep, vkey = item.partition("=")
            if not sep:
                raise click.ClickException(f"--log {item!r}: expected ORIGIN=VKEY")
            log_keys.setdefault(origin, []).append(parse_vkey(vkey))
    except AnchoringError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = make_engine(database_url)
    upgrade(engine)
    witness = Witness(cosigner, log_keys, SqlWitnessState(engine))
    click.echo(f"witness {cosigner.name}: http://{host}:{port}/add-checkpoint for {', '.join(log_keys)}")
    web.run_app(create_witness_app(witness), host=host, port=port, print=None)


main.add_command(verify_command)
main.add_command(audit)


# --- helpers -------------------------------------------------------------------


def _prepare_dev_folder(folder: Path, http_port: int, ws_port: int) -> Path:
    """Copy the packaged dev network into FOLDER once; keep its chain on later runs."""
    config = folder / "node.toml"
    if not (folder / "genesis.json").exists():
        source = resources.files("node_configs").joinpath(DEV_FOLDER)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("genesis.json",):
            (folder / name).write_text(source.joinpath(name).read_text())
        (folder / "keys").mkdir(exist_ok=True)
        (folder / "keys" / "validator.json").write_text(
            source.joinpath("keys").joinpath("validator.json").read_text()
        )
    config.write_text(
        "# DEV ONLY: generated by `citychain up`; keys are public.\n"
        "[node]\n"
        'name = "dev-validator-0"\n'
        'data_dir = "data"\n'
        'genesis = "genesis.json"\n'
        'key_file = "keys/validator.json"\n\n'
        "[rpc]\n"
        f"http_port = {http_port}\n"
        f"ws_port = {ws_port}\n"
    )
    return config


def _run(config_path: Path, announce) -> None:  # type: ignore[no-untyped-def]
    import os

    from chain.keys import KeyError_
    from chain.node.runner import DataDirInUse, serve

    profile_to = os.environ.get("CITYCHAIN_PROFILE")  # a folder: where to write cProfile stats
    profiler = None
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        config = load_node_config(config_path)
        asyncio.run(serve(config, on_ready=announce))
    except (ConfigError, GenesisError, KeyError_, DataDirInUse) as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot start the node: {exc}") from exc
    finally:
        if profiler is not None and profile_to:
            profiler.disable()
            profiler.dump_stats(str(Path(profile_to) / f"node-{os.getpid()}.prof"))


def _announce_node(running) -> None:  # type: ignore[no-untyped-def]
    click.echo(f"HTTP JSON-RPC: {running.http_url}")
    click.echo(f"WebSocket JSON-RPC: {running.ws_url}")
    click.echo(f"chain id {running.node.chain_id}, head block {running.node.head_number()}")
    sys.stdout.flush()


def _announce_api(url: str, platform) -> None:  # type: ignore[no-untyped-def]
    from chain.devnet import DEV_DEPARTMENT

    click.echo("")
    click.echo(f"Trust API: {url}  (OpenAPI: {url}/docs)")
    click.echo(f"  dev department {DEV_DEPARTMENT.usci} may issue every license type; sign "
               "requests with the dev 'department' key (trust_api.client.TrustApiClient)")
    click.echo(f"  offline verifiers: {url}/v1/trust-bundle, platform key "
               f"{platform.bundles.platform_public_key().hex()}")
    sys.stdout.flush()


def _announce_dev(running) -> None:  # type: ignore[no-untyped-def]
    from chain.devnet import DEV_ACCOUNTS, ROLE_NAMES

    _announce_node(running)
    click.echo("")
    click.echo("Dev accounts (DEV ONLY: these private keys are public):")
    for account in DEV_ACCOUNTS:
        click.echo(
            f"  {account.label:<15} 0x{account.address.hex()}  role: {ROLE_NAMES[account.role]:<14}"
            f"  key: 0x{account.private_key.hex()}"
        )
    click.echo("")
    click.echo("web3.py: w3 = Web3(Web3.HTTPProvider(URL)); "
               "w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)")
    click.echo("Ctrl-C stops the node; `citychain up` again resumes the same chain.")
    sys.stdout.flush()





@main.group("api")
def api() -> None:
    """The trust API (settings from CITYCHAIN_* and DATABASE_URL environment variables)."""


@api.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--processes", default=1, show_default=True, type=click.IntRange(min=1),
              help="API processes sharing the port (SO_REUSEPORT); the first one runs the "
                   "background workers")
def api_serve(host: str, port: int, processes: int) -> None:
    """Serve the trust API and run its workers until Ctrl-C."""
    from trust_api.serve import serve_from_environment

    serve_from_environment(host, port, processes)


if __name__ == "__main__":
    main()
