"""The Flask side of the mock: one catch-all view feeding the engine, and the admin API."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.routing import PathConverter

from harness.http import Headers, HttpRequest, MockResponse
from mock_server.engine import MockEngine
from mock_server.fault_admin import fault_admin
from mock_server.problems import problem
from mock_server.replay import replay_status

if TYPE_CHECKING:
    from mock_server.wsgi import RequestReader

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
ADMIN_PREFIX = "/__harness"

admin = Blueprint("harness_admin", __name__, url_prefix=ADMIN_PREFIX)


def engine_of(app: Flask) -> MockEngine:
    engine: MockEngine = app.extensions["harness"]
    return engine


def _engine() -> MockEngine:
    return engine_of(current_app)


@admin.get("/health")
def health() -> Any:
    engine = _engine()
    return jsonify(
        status="ok",
        uptime_seconds=round(time.time() - engine.started, 3),
        contracts=[
            {
                "name": contract.name,
                "source": contract.source,
                "operations": len(contract.operations),
                "mount": contract.mount if contract.mount is not None else contract.base_path,
            }
            for contract in engine.contracts.contracts
        ],
        **replay_status(engine),
    )


@admin.get("/requests")
def journal() -> Any:
    engine = _engine()
    operation = request.args.get("operation")
    entries = engine.journal.entries(lambda entry: operation is None or entry.operation == operation)
    return jsonify(requests=[entry.as_dict() for entry in entries])


@admin.post("/reset")
def reset() -> Any:
    _engine().reset()
    return jsonify(status="reset")


@admin.route("/responses", methods=["GET", "POST", "DELETE"])
def served_responses() -> Any:
    """Queue a response for the next request(s) to an operation (any HTTP client can drive this)."""
    engine = _engine()
    served = engine.served
    if served is None:
        return _admin_problem(409, "This mock does not serve queued responses", "it was built without them")
    if request.method == "GET":
        return jsonify(responses=served.pending())
    if request.method == "DELETE":
        served.clear()
        return jsonify(status="cleared")
    spec = request.get_json(silent=True)
    if not isinstance(spec, dict):
        return _admin_problem(
            400, "Expected a JSON object", 'e.g. {"operation": "getTask", "status": 200, "json": {...}}'
        )
    operation = engine.contracts.find_operation(str(spec.get("operation", "")))
    if operation is None:
        known = [op.name for op in engine.contracts.operations]
        return _admin_problem(
            422,
            "Unknown operation",
            f"no operation {spec.get('operation')!r}; known: {', '.join(known)}",
            known=known,
        )
    status = spec.get("status", 200)
    times = spec.get("times", 1)
    if not isinstance(status, int) or not 100 <= status <= 599 or not isinstance(times, int) or times < 1:
        return _admin_problem(
            422, "Invalid response", "`status` must be 100-599 and `times` a positive integer"
        )
    headers = Headers(spec.get("headers", {}))
    if "json" in spec:
        body = json.dumps(spec["json"]).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    else:
        body = str(spec.get("body", "")).encode("utf-8")
    served.push(operation.name, MockResponse(status, headers, body, "served"), times)
    return jsonify(queued=served.pending()), 201


def _admin_problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    return to_flask_response(problem(status, title, detail, **extra))


def to_http_request() -> HttpRequest:
    reader: RequestReader = current_app.extensions["harness.request_reader"]
    return reader(request.environ)


def to_flask_response(response: MockResponse) -> Response:
    if response.delivery is not None:  # connection faults: late, slow, cut or dropped
        from mock_server.delivery import deliver

        return deliver(response, request.environ, _engine().faults.sleep)
    flask_response = Response(
        response.body,
        status=f"{response.status} {response.reason_phrase}".strip(),
        headers=response.headers.items(),
    )
    if "Content-Type" not in response.headers:
        del flask_response.headers["Content-Type"]  # Flask's text/html default would be a lie
    return flask_response


def mock_view(path: str) -> Response:
    return to_flask_response(_engine().handle(to_http_request()))


def build_flask_app(engine: MockEngine) -> Flask:
    app = Flask("mock_server")
    app.extensions["harness"] = engine
    app.register_blueprint(admin)
    app.register_blueprint(fault_admin)
    # provide_automatic_options=False: otherwise Flask answers OPTIONS itself (TECH-NOTES §4.1).
    app.add_url_rule(
        "/", "mock", mock_view, defaults={"path": ""}, methods=METHODS, provide_automatic_options=False
    )
    app.url_map.converters["anypath"] = AnyPath
    app.add_url_rule("/<anypath:path>", "mock", mock_view, methods=METHODS, provide_automatic_options=False)
    # Mock requests skip Flask's per-request machinery (mock_server/wsgi.py); the routes above still
    # answer the admin API, and anything MockWSGI hands over.
    from mock_server.wsgi import MockWSGI

    dispatch = MockWSGI(engine, app, app.wsgi_app)
    app.wsgi_app = dispatch  # type: ignore[method-assign]
    app.extensions["harness.request_reader"] = dispatch.read_request
    return app


class AnyPath(PathConverter):
    """`<path:...>` whose segments may hold any character: a decoded `%0A` is still a path to
    route (to a 404 or a 422 of the contract), not a Flask HTML page."""

    regex = "(?s:[^/].*?)"
