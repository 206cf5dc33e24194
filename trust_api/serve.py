"""Running the trust API: ``citychain api serve`` and, with a dev chain, ``citychain up``.

``citychain api serve --processes N`` runs N uvicorn servers in N processes on one
host:port. Each process binds its own listening socket with SO_REUSEPORT and the kernel
spreads new connections over them (Linux lets only sockets of the same user share a port
this way). One Python process tops out at one core, so this is how the API uses more.

The first process (the one started by the command) migrates the database, runs the
background workers — chain writer, anchoring worker, checkpointer, status publisher —
and starts the others with ``background_workers`` off; every process runs its own
trust-snapshot refresher. Replay protection holds across them (the nonces are in the
database). The first process waits for the others to listen before it does, stops them
when it stops, and stops (exit status 1) if one of them dies, so that a supervisor
restarts the whole set; each other process stops if the first one disappears.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import click
import uvicorn

from trust_api.app import create_app
from trust_api.platform import Platform
from trust_api.settings import Settings

log = logging.getLogger("citychain.trust_api")


def build_server(settings: Settings, host: str, port: int,
                 platform: Platform | None = None) -> uvicorn.Server:
    app = create_app(settings, platform=platform)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def start_dev_api(settings: Settings, host: str, port: int,
                  on_ready: Callable[[str, Platform], None]) -> Callable[[], None]:
    """DEV: in a thread, wait for the chain, onboard the dev department, then serve.
    Returns a function that stops the API."""
    from chain.devnet import DEV_ACCOUNTS, DEV_DEPARTMENT
    from trust_api.dev_bootstrap import bootstrap_department

    keys = {a.label: a.private_key for a in DEV_ACCOUNTS}
    holder: dict[str, uvicorn.Server] = {}
    stopping = threading.Event()

    def run() -> None:
        platform = Platform(settings)
        while not stopping.is_set():
            try:
                bootstrap_department(platform, DEV_DEPARTMENT.usci, keys["department"],
                                     [keys["city-admin"]])
                break
            except Exception as exc:  # the node may still be starting
                log.info("waiting for the dev chain to onboard the dev department: %s", exc)
                stopping.wait(1.0)
        if stopping.is_set():
            platform.stop()
            return
        server = build_server(settings, host, port, platform)
        holder["server"] = server
        url = f"http://{host}:{port}"
        threading.Thread(target=lambda: _announce_when_started(server, url, platform, on_ready),
                         daemon=True).start()
        server.run()

    thread = threading.Thread(target=run, name="trust-api", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        if "server" in holder:
            holder["server"].should_exit = True
        thread.join(timeout=15)

    return stop


def _announce_when_started(server: uvicorn.Server, url: str, platform: Platform,
                           on_ready: Callable[[str, Platform], None]) -> None:
    import time

    while not server.started and not server.should_exit:
        time.sleep(0.05)
    if server.started:
        on_ready(url, platform)


def _settings_from_environment(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except Exception as exc:
        raise click.ClickException(f"trust API settings: {exc}") from exc


def serve_from_environment(host: str, port: int, processes: int = 1) -> None:
    if processes < 1:
        raise click.BadParameter("at least 1", param_hint="--processes")
    settings = _settings_from_environment()
    if processes == 1:
        build_server(settings, host, port).run()
        return
    serve_processes(settings, host, port, processes)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port with SO_REUSEPORT (uvicorn makes it listen)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


CHILD_START_TIMEOUT = 120.0


def serve_processes(settings: Settings, host: str, port: int, processes: int) -> None:
    """Serve with ``processes`` processes on host:port; this one runs the background
    workers (if ``settings`` has them) and the others take their settings from the
    environment, without them."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise click.ClickException("--processes above 1 needs SO_REUSEPORT (Linux, BSD)")
    platform = Platform(settings)  # migrates the database before the others open it
    sock = reuse_port_socket(host, port)
    port = sock.getsockname()[1]  # port 0: the others bind the port this one was given
    children: list[subprocess.Popen[bytes]] = []
    failed = threading.Event()
    # uvicorn re-raises the signal that stopped it once it has shut down; by default
    # SIGTERM would then end this process before it stops the others.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    serving = False
    try:
        for number in range(1, processes):
            children.append(_start_child(host, port, number))
        server = build_server(settings, host, port, platform)
        threading.Thread(target=_watch_children, args=(children, server, failed),
                         name="api-processes", daemon=True).start()
        serving = True  # from here the app's lifespan stops the platform
        server.run(sockets=[sock])
    finally:
        sock.close()
        _stop_children(children)
        if not serving:
            platform.stop()
    if failed.is_set():
        raise SystemExit(1)


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _start_child(host: str, port: int, number: int) -> subprocess.Popen[bytes]:
    """Start API process ``number`` and wait until it listens (it writes one byte)."""
    ready_read, ready_write = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "trust_api.serve", host, str(port), str(ready_write),
             str(os.getpid())],
            pass_fds=(ready_write,))
    finally:
        os.close(ready_write)
    try:
        deadline = time.monotonic() + CHILD_START_TIMEOUT
        while child.poll() is None and time.monotonic() < deadline:
            readable, _, _ = select.select([ready_read], [], [], 0.2)
            if readable and os.read(ready_read, 1) == b"1":
                return child
            if readable:  # end of file: the child closed the pipe without starting
                break
        _stop_children([child])
        raise click.ClickException(f"API process {number} did not start "
                                   f"(exit status {child.returncode})")
    finally:
        os.close(ready_read)


def _watch_children(children: list[subprocess.Popen[bytes]], server: uvicorn.Server,
                    failed: threading.Event) -> None:
    while not server.should_exit:
        for child in children:
            if child.poll() is not None:
                log.error("API process %d exited with status %s: stopping every API "
                          "process", child.pid, child.returncode)
                failed.set()
                server.should_exit = True
                return
        time.sleep(0.5)


def _stop_children(children: list[subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)


def _serve_child(host: str, port: int, ready_fd: int, parent_pid: int) -> None:
    """An API process after the first: no background workers but the trust refresher;
    it stops when the first process is gone (even after a kill -9 of it)."""
    settings = _settings_from_environment(background_workers=False)
    sock = reuse_port_socket(host, port)
    server = build_server(settings, host, port)

    def announce_and_watch() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            os.write(ready_fd, b"1")
        os.close(ready_fd)
        while not server.should_exit:
            if os.getppid() != parent_pid:
                log.warning("the first API process is gone: stopping")
                server.should_exit = True
            time.sleep(0.5)

    threading.Thread(target=announce_and_watch, name="api-parent", daemon=True).start()
    server.run(sockets=[sock])


if __name__ == "__main__":  # started by serve_processes: host port ready-fd parent-pid
    logging.basicConfig(level=logging.WARNING)
    _serve_child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
