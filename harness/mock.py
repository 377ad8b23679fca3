"""A running mock server, as tests use it: its URL, its journal, and a reset button."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from harness.live import LiveServer

if TYPE_CHECKING:
    from flask import Flask

    from mock_server.engine import MockEngine


class RunningMock:
    """A mock server listening on 127.0.0.1 (started by `serve_mock` or the pytest plugin)."""

    def __init__(self, app: Flask, server: LiveServer):
        self.app = app
        self.server = server

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def engine(self) -> MockEngine:
        from mock_server.app import engine_of

        return engine_of(self.app)

    def reset(self) -> None:
        self.engine.reset()

    def journal(self, operation: str | None = None) -> list[dict[str, Any]]:
        """The exchanges so far, as the admin API shows them; `operation` filters by name."""
        entries = self.engine.journal.entries(lambda entry: operation is None or entry.operation == operation)
        return [entry.as_dict() for entry in entries]

    def violations(self) -> list[dict[str, Any]]:
        """Every contract violation the mock saw in requests, with the request that made it."""
        return [
            {"request": f"{entry['request']['method']} {entry['request']['path']}", **violation}
            for entry in self.journal()
            for violation in entry["violations"]
        ]

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> RunningMock:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_mock(
    contracts: Sequence[str | Path] | str | Path,
    *,
    mounts: Mapping[str, str] | None = None,
    port: int = 0,
    **options: Any,
) -> RunningMock:
    """Start a mock server for `contracts` on 127.0.0.1 (a free port by default).

    Example:
        with serve_mock("contracts/todo.yaml") as mock:
            requests.get(f"{mock.url}/tasks/")
    """
    from mock_server import create_app

    app = create_app(contracts, mounts=mounts, **options)
    return RunningMock(app, LiveServer(app, port=port).start())
