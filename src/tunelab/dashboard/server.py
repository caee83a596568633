"""Run the dashboard: listen on a socket, serve until Ctrl-C (``tunelab dashboard``)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from tunelab.errors import ConfigError
from tunelab.storage import Storage

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (port 0: any free one); ConfigError, one
    line, when the address cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    storage: Storage,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    say: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> None:
    """Serve the dashboard of ``storage`` until interrupted; ``say`` gets the address
    line, ``warn`` the warning given when ``host`` is reachable from other machines."""
    try:
        import uvicorn

        from tunelab.dashboard.app import create_app, plotly_js

        plotly_js()  # read now: a missing plotly fails here, not in the first page load
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the dashboard needs {exc.name}: pip install 'tunelab[dashboard]'"
        ) from None

    sock = bind(host, port)
    if not is_loopback(host):
        warn(
            f"warning: the dashboard listens on {host}, so anyone who can reach this "
            f"machine can read every study in {storage.url} (no login)"
        )
    say(f"tunelab dashboard: {url_of(sock)} (storage {storage.url}, read-only; Ctrl-C to stop)")
    config = uvicorn.Config(
        create_app(storage, warm_up=True),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=3,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
