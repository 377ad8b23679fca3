"""Fixtures shared by the example tests."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

import pytest
from werkzeug.serving import make_server

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication


@contextmanager
def serve_in_thread(app: WSGIApplication) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 (a free port) from a background thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval keeps shutdown() fast (the default waits up to 0.5 s per server).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="example-test-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()  # must come from another thread than serve_forever's
        thread.join()
        server.server_close()


@pytest.fixture
def serve_app() -> Iterator[Callable[[WSGIApplication], str]]:
    """Start WSGI apps on live local servers for the duration of the test: `base_url = serve_app(app)`."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per request
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(serve_in_thread(app))
