"""Running the trust API: ``citychain api serve`` and, with a dev chain, ``citychain up``."""

from __future__ import annotations

import logging
import threading
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


def serve_from_environment(host: str, port: int) -> None:
    try:
        settings = Settings()  # type: ignore[call-arg]
    except Exception as exc:
        raise click.ClickException(f"trust API settings: {exc}") from exc
    build_server(settings, host, port).run()
