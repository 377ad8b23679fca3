"""WSGI entry points for the benchmark: the mock and a bare Flask baseline, served alike.

gunicorn -k gthread 'benchmarks.wsgi:mock_app()'   # spec from $BENCH_SPEC
gunicorn -k gthread 'benchmarks.wsgi:bare_app()'
python3 -m benchmarks.wsgi PORT                    # bare_app() under werkzeug, like `harness mock`
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

SPEC_VARIABLE = "BENCH_SPEC"


def bare_app() -> Flask:
    """The baseline: Flask returning a constant JSON document, no contract involved."""
    from flask import Flask

    app = Flask("bare")
    body = {"id": 1, "name": "doggie", "status": "available"}

    @app.get("/api/v3/pet/<int:pet_id>")
    def pet(pet_id: int) -> dict[str, object]:
        return body

    return app


def mock_app(spec: str | None = None) -> Flask:
    """The mock as `harness mock` builds it, with validation on (the default)."""
    from mock_server import create_app

    spec = spec or os.environ[SPEC_VARIABLE]
    return create_app([spec])


def serve_werkzeug(app: Flask, port: int) -> None:
    """Serve `app` exactly as `harness mock` does: werkzeug's threaded server, no access log."""
    import logging

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    import signal
    import sys

    # python3 -m benchmarks.wsgi PORT: the baseline under the mock CLI's own server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve_werkzeug(bare_app(), int(sys.argv[1]))
