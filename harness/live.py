"""Serve a WSGI app on a real socket in a background thread, for tests and the pytest plugin."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class AppHeadersHandler(WSGIRequestHandler):
    """Sends `Server` and `Date` only when the application does not: http.server writes its own
    before the application's headers, so a replayed response would otherwise carry two of each."""

    _names: set[str] | None = None

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self._names = set()

    def send_header(self, keyword: str, value: str) -> None:
        if self._names is not None:
            self._names.add(keyword.lower())
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        names, self._names = self._names, None
        if names is not None:
            if "server" not in names:
                super().send_header("Server", self.version_string())
            if "date" not in names:
                super().send_header("Date", self.date_time_string())
        super().end_headers()


class LiveServer:
    """A threaded werkzeug server on `host:port` (0 picks a free port); use as a context manager."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        request_handler: type[WSGIRequestHandler] | None = None,
    ):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access log
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=request_handler or AppHeadersHandler
        )
        self.host = host
        self.port = self._server.server_port
        # A short poll interval makes stop() take milliseconds instead of half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name=f"live-{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
