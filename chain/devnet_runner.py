"""`citychain devnet`: a multi-validator DEV network as separate processes on loopback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from chain.network_init import init_network


def _node_folders(folder: Path) -> list[Path]:
    return sorted((p for p in folder.glob("node-*") if (p / "node.toml").exists()),
                  key=lambda p: int(p.name.split("-")[1]))


def run_devnet(folder: Path, *, validators: int, observers: int, base_http_port: int, base_p2p_port: int) -> None:
    if not (folder / "genesis.json").exists():
        init_network(folder, validators=validators, observers=observers, dev_keys=True,
                     base_http_port=base_http_port, base_p2p_port=base_p2p_port)
    processes: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for node_folder in _node_folders(folder):
            log = open(node_folder / "node.log", "ab")  # noqa: SIM115 - owned by the child
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "chain.cli", "node", "start", "--config", str(node_folder / "node.toml")],
                stdout=log, stderr=subprocess.STDOUT,
            ))
            config = (node_folder / "node.toml").read_text()
            http = next(line.split("=")[1].strip() for line in config.splitlines() if line.startswith("http_port"))
            ws = next(line.split("=")[1].strip() for line in config.splitlines() if line.startswith("ws_port"))
            click.echo(f"{node_folder.name}: http://127.0.0.1:{http}  ws://127.0.0.1:{ws}  log {node_folder / 'node.log'}")
        click.echo("DEV ONLY network running; Ctrl-C stops every node.")
        while not stopping:
            for process in processes:
                if process.poll() is not None:
                    click.echo(f"a node exited with {process.returncode}; see its node.log")
                    stopping = True
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        click.echo("all nodes stopped")
