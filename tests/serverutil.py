"""Helpers of the server's tests (not shipped): uvicorn in a thread, a live service with
a hook in its workers, settings."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import uvicorn

from mtaudit.model import Document
from mtaudit.pipeline import AuditOptions
from mtaudit.server import AuditService, ServeSettings, create_app, server_config


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


class Hook:
    """Counts audits and the most that ran at once; ``sleep:S`` and ``block`` documents wait."""

    def __init__(self) -> None:
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.gate = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, document: Document) -> None:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if document.id.startswith("sleep:"):
                time.sleep(float(document.id.split(":", 1)[1]))
            elif document.id == "block":
                assert self.gate.wait(timeout=20), "the test never opened the gate"
        finally:
            with self._lock:
                self.active -= 1


class Live:
    """A started service behind a real server, with its hook and an httpx client."""

    def __init__(self, settings: ServeSettings) -> None:
        self.hook = Hook()
        self.service = AuditService(settings, before_audit=self.hook)

    def __enter__(self) -> Live:
        self.service.start()
        self.server = BackgroundServer(create_app(self.service)).__enter__()
        self.url = self.server.url
        self.client = httpx.Client(base_url=self.url, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.__exit__()
        self.service.close()

    def health(self) -> dict:
        return self.client.get("/healthz").json()


def make_settings(**kw: Any) -> ServeSettings:
    """Settings for a test server: the dictionary engine unless ``options`` says otherwise."""
    options = kw.pop("options", AuditOptions(mt="dictionary"))
    return ServeSettings(options=options, **kw)
