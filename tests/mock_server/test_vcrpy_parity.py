"""A cassette recorded by plain vcrpy replays the same through our mock as through vcrpy itself."""

from __future__ import annotations

import gzip
import itertools
import zlib

import brotli
import httpx
import pytest
import requests
import vcr
from flask import Flask, Response, jsonify, request

from harness import serve_mock
from harness.live import LiveServer

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00"


def create_upstream() -> Flask:
    """The 'live API' recorded: cookies, gzip/deflate/br bodies, binary, chunked, errors, state."""
    app = Flask("upstream")
    counter = itertools.count(1)

    @app.get("/users/<int:uid>")
    def user(uid):
        response = jsonify(id=uid, name="Ada")
        response.set_cookie("session", "s3cr3t")
        response.set_cookie("theme", "dark")
        response.headers["X-Upstream"] = "yes"
        return response

    @app.post("/users")
    def create():
        return jsonify(id=7, **request.get_json()), 201

    @app.get("/counter")
    def count():
        return jsonify(n=next(counter))

    def encoded(data: bytes, coding: str) -> Response:
        return Response(data, headers={"Content-Encoding": coding, "Content-Type": "application/json"})

    @app.get("/gz")
    def gz():
        return encoded(gzip.compress(b'{"compressed": "gzip"}'), "gzip")

    @app.get("/deflate")
    def deflate():
        return encoded(zlib.compress(b'{"compressed": "deflate"}'), "deflate")

    @app.get("/br")
    def br():
        return encoded(brotli.compress(b'{"compressed": "br"}'), "br")

    @app.get("/logo.png")
    def png():
        return Response(PNG, mimetype="image/png")

    @app.get("/stream")
    def stream():
        return Response((part for part in [b"a,", b"b,", b"c"]), mimetype="text/csv")  # chunked

    @app.get("/missing")
    def missing():
        return jsonify(message="Not Found"), 404

    return app


CALLS = [
    ("GET", "/users/1", None),
    ("GET", "/counter", None),
    ("GET", "/counter", None),
    ("GET", "/counter", None),
    ("POST", "/users", {"name": "Grace"}),
    ("GET", "/gz", None),
    ("GET", "/deflate", None),
    ("GET", "/br", None),
    ("GET", "/logo.png", None),
    ("GET", "/stream", None),
    ("GET", "/missing", None),
]


def observe_requests(base: str) -> list[tuple]:
    with requests.Session() as session:
        seen = []
        for method, path, payload in CALLS:
            response = session.request(method, base + path, json=payload, timeout=5)
            seen.append(
                (
                    response.status_code,
                    response.reason,
                    response.content,
                    response.headers.get("Content-Type"),
                    response.headers.get("X-Upstream"),
                    sorted(response.cookies.items()),
                )
            )
        return seen


def observe_httpx(base: str) -> list[tuple]:
    with httpx.Client(timeout=5) as client:
        seen = []
        for method, path, payload in CALLS:
            response = client.request(method, base + path, json=payload)
            seen.append(
                (
                    response.status_code,
                    response.reason_phrase,
                    response.content,
                    response.headers.get("Content-Type"),
                    response.headers.get("X-Upstream"),
                    sorted(response.cookies.items()),
                )
            )
        return seen


@pytest.mark.parametrize("observe", [observe_requests, observe_httpx], ids=["requests", "httpx"])
def test_a_cassette_recorded_with_plain_vcrpy_replays_identically_through_the_mock_and_through_vcrpy(
    tmp_path, observe
):
    cassette = tmp_path / "upstream.yaml"
    upstream = LiveServer(create_upstream()).start()
    base = upstream.url
    try:
        with vcr.use_cassette(str(cassette), record_mode="all"):
            live = observe(base)
    finally:
        upstream.stop()  # from here on, nothing answers at `base`
    assert [call[0] for call in live] == [200, 200, 200, 200, 201, 200, 200, 200, 200, 200, 404]

    # When: plain vcrpy replays it, and our mock replays it
    with vcr.use_cassette(str(cassette), record_mode="none"):
        through_vcrpy = observe(base)
    with serve_mock([], cassettes=[cassette], allow_playback_repeats=False) as mock:
        through_mock = observe(mock.url)
        sources = [entry["response"]["source"] for entry in mock.journal()]

    # Then: the same answers, and the same as the live API gave
    assert through_mock == through_vcrpy == live
    assert sources == [f"cassette:upstream.yaml#{n}" for n in range(len(CALLS))]
