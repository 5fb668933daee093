"""Run an ASGI app under uvicorn in a daemon thread, for the server's tests (not shipped)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from mtaudit.server import AuditService, server_config


class BackgroundServer:
    """uvicorn in a daemon thread. ``port=0`` picks a free port; :attr:`url` is known once
    the context is entered. An app from :func:`mtaudit.server.create_app` gets its
    service's connection limits (:func:`mtaudit.server.server_config`) unless ``config``
    says otherwise."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        service = getattr(getattr(app, "state", None), "service", None)
        if isinstance(service, AuditService):
            for key, value in server_config(service.settings).items():
                config.setdefault(key, value)
        config.setdefault("log_level", "warning")
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **config))
        self.host = host
        self.port = port
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start (see the log above)")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
