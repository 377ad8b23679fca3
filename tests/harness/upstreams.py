"""Live upstreams the recorder tests record against, served on 127.0.0.1 by `LiveServer`."""

from __future__ import annotations

import gzip
import json
import threading

from flask import Flask, Response, jsonify, request

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x01"


def create_web_upstream() -> Flask:
    """An API that compresses, sets cookies, echoes credentials, redirects and serves binary."""
    app = Flask("web-upstream")
    hits: list[str] = []
    lock = threading.Lock()
    app.config["hits"] = hits

    @app.before_request
    def count() -> None:
        with lock:
            hits.append(f"{request.method} {request.full_path.rstrip('?')}")

    @app.get("/gz")
    def compressed() -> Response:
        body = gzip.compress(json.dumps({"compressed": True, "items": list(range(50))}).encode())
        response = Response(body, content_type="application/json")
        response.headers["Content-Encoding"] = "gzip"
        response.set_cookie("session", "s3ss10n-v4lue-0123456789", httponly=True)
        response.set_cookie("theme", "dark")
        return response

    @app.get("/me")
    def me() -> Response:
        return jsonify(you_sent=request.headers.get("Authorization", ""), page=request.args.get("page"))

    @app.post("/login")
    def login() -> Response:
        payload = request.get_json()
        return jsonify(user=payload.get("user"), access_token="at-" + payload.get("password", "")[::-1])

    @app.get("/logo.png")
    def logo() -> Response:
        return Response(PNG, content_type="image/png")

    @app.get("/old")
    def redirect() -> Response:
        return Response(status=302, headers={"Location": "/new"})

    @app.route("/empty", methods=["DELETE", "HEAD", "GET"])
    def empty() -> Response:
        return Response(status=204)

    @app.get("/count/<int:n>")
    def numbered(n: int) -> Response:
        return jsonify(n=n)

    return app


def create_drifting_todo() -> Flask:
    """A to-do server that broke its contract: ids became strings, and a status nobody declared."""
    app = Flask("drifting-todo")

    @app.post("/tasks/")
    def create() -> tuple[Response, int]:
        return jsonify(id="one"), 201

    @app.get("/tasks/")
    def listing() -> tuple[Response, int]:
        return jsonify(message="I'm a teapot"), 418

    @app.get("/tasks/<int:task_id>/")
    def get(task_id: int) -> Response:
        return jsonify(id=task_id, summary="ok", description="fine")

    return app
