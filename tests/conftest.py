"""Shared fixtures: where the contracts and the shared corpus are, and a live mock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
CORPUS = ROOT.parent / "shared" / "corpus"
TODO = CONTRACTS / "todo.yaml"
GITHUB = CONTRACTS / "github.yaml"


def corpus_path(*parts: str) -> Path:
    """A file of ../shared/corpus, or a skip saying why it is missing (a user's clone lacks it)."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"the shared corpus is not beside this checkout ({path} is missing); CI provides it")
    return path


@pytest.fixture
def todo_app():
    from mock_server import create_app

    return create_app([TODO])


@pytest.fixture
def todo_client(todo_app):
    return todo_app.test_client()


# -- Redis, for the shared state store ---------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A redis-server of our own on a free port of 127.0.0.1, for the session.

    scripts/test installs redis-server; without it these tests skip locally but fail in CI (CI=true),
    where they must run.
    """
    import shutil
    import socket
    import subprocess
    import time

    executable = shutil.which("redis-server")
    if executable is None:
        reason = "redis-server is not installed (apt-get install redis-server; scripts/test does it)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the Redis state-store tests", pytrace=False)
        pytest.skip(reason)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    directory = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            *(executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", str(directory), "--daemonize", "no", "--loglevel", "warning"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            error = process.communicate()[1].decode(errors="replace")
            pytest.fail(f"redis-server did not start on port {port}: {error}", pytrace=False)
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()


@pytest.fixture
def redis_state(redis_server):
    """A `--state` URL with a namespace of its own, so tests sharing the server do not see each other."""
    import uuid

    return f"{redis_server}?prefix=test-{uuid.uuid4().hex[:12]}"


_CORPUS_CONTRACTS: dict[Path, object] = {}


def corpus_contract(*parts: str):
    """A corpus spec loaded once per test session (Stripe's takes seconds to parse), or a skip."""
    from harness.contracts import load_contract

    path = corpus_path(*parts)
    if path not in _CORPUS_CONTRACTS:
        _CORPUS_CONTRACTS[path] = load_contract(path)
    return _CORPUS_CONTRACTS[path]
