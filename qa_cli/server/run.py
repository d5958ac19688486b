"""Run the server: load the index once, bind, say where, answer until interrupted."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from ingest.errors import InputError

# The modules of the `serve` extra: a missing one is a missing extra, any other
# ImportError is a bug and surfaces as one.
EXTRA_MODULES = frozenset({"fastapi", "starlette", "uvicorn", "pydantic", "anyio"})


def missing_extra(e: ImportError) -> str | None:
    """The package of the serve extra that ``e`` says is missing, if that is what it says."""
    root = (e.name or "").split(".")[0]
    return root if root in EXTRA_MODULES else None


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so that a taken port is one clear error before anything starts."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        raise InputError(f"cannot listen on host {host!r}: no such address; use e.g. --host 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port} ({e.strerror}); "
                         "choose another with --port, or stop what uses it") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(index_dir: str | os.PathLike[str], host: str, port: int,
          announce: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)) -> int:
    """Serve ``index_dir`` at ``host:port`` (port 0: any free port) until interrupted."""
    import uvicorn

    from .app import create_app
    from .live import LiveIndex

    live = LiveIndex(index_dir)  # a missing or damaged index fails before the port is taken
    sock = bind(host, port)
    loaded = live.get()
    announce(f"kotae: serving {Path(index_dir)} ({len(loaded.documents)} documents, generation "
             f"{loaded.generation}) at {url_of(sock)} — open it in a browser; Ctrl-C stops")
    if host not in ("127.0.0.1", "localhost", "::1"):
        announce(f"kotae: warning: listening on {host}: anyone who can reach it can ask and read the documents")
    config = uvicorn.Config(create_app(live), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if server.should_exit:
        # uvicorn catches Ctrl-C, shuts down, then raises the signal again for asyncio's own
        # handler, which turns it into a KeyboardInterrupt only if the server's task has not
        # finished yet: a race that exited 0 now and then (seen in a CI run). A stop by signal is an
        # interruption either way, so `kotae serve` exits 130 ("kotae: interrupted") always.
        raise KeyboardInterrupt
    return 0
