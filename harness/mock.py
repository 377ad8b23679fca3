"""A running mock server, as tests use it: its URL, its journal, and a reset button."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from harness.http import MockResponse
from harness.live import LiveServer
from harness.strategies import GeneratedResponse

if TYPE_CHECKING:
    from flask import Flask

    from harness.clock import Clock
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

    def reset(self, *, journal: bool = True) -> None:
        """Back to the state at start; `journal=False` keeps the journal (per-example resets)."""
        self.engine.reset(journal=journal)

    def serve(
        self, response: GeneratedResponse | MockResponse, *, operation: str | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` requests to `operation` with `response` (a drawn response knows
        its operation)."""
        from harness.errors import ConfigurationError

        if isinstance(response, GeneratedResponse):
            operation = operation or response.operation
            response = response.to_mock_response()
        if operation is None or self.engine.contracts.find_operation(operation) is None:
            names = ", ".join(op.name for op in self.engine.contracts.operations)
            raise ConfigurationError(
                f"serve() needs the operation it answers; got {operation!r}; known: {names}"
            )
        assert self.engine.served is not None, "this mock was built without the served-responses middleware"
        self.engine.served.push(operation, response, times)

    @contextmanager
    def serving(self, response: GeneratedResponse, *, operation: str | None = None) -> Iterator[None]:
        """For one hypothesis example: reset state (keeping the journal), serve `response` to the next
        request, and check on exit that the client did make that request."""
        self.reset(journal=False)
        operation = operation or response.operation
        if response.fault is not None:
            options = {key: value for key, value in response.fault.items() if key != "fault"}
            with self.fault(response.fault["fault"], operation=operation, times=1, **options) as rule:
                yield
                used = any(entry["id"] == rule["id"] and entry["injected"] for entry in self.faults())
        else:
            self.serve(response, operation=operation)
            served = self.engine.served
            assert served is not None
            try:
                yield
            finally:
                used = not served.pending()
                served.clear()
        if not used:
            raise AssertionError(
                f"the client never requested {operation}, so the served response went unused"
            )

    def journal(self, operation: str | None = None) -> list[dict[str, Any]]:
        """The exchanges so far, as the admin API shows them; `operation` filters by name."""
        entries = self.engine.journal.entries(lambda entry: operation is None or entry.operation == operation)
        return [entry.as_dict() for entry in entries]

    def contract_problems(self, since: int = 0) -> list[str]:
        """Requests (journal entries after id `since`) that broke the contract or matched no operation."""
        problems = []
        for entry in self.engine.journal.entries(lambda entry: entry.id > since):
            request = f"{entry.method} {entry.path}" + (f"?{entry.query}" if entry.query else "")
            if entry.operation is None and entry.source in ("problem", ""):
                problems.append(f"{request}: matched no operation of the contract ({entry.status})")
            for violation in entry.violations:
                shown = violation.get("value")
                # jsonschema messages usually start with the value already
                value = (
                    f" (got {shown})" if shown is not None and shown[:20] not in violation["message"] else ""
                )
                problems.append(
                    f"{request} [{entry.operation}]: {violation['location']}: {violation['message']} "
                    f"[{violation['rule']}]{value}"
                )
        return problems

    @property
    def last_journal_id(self) -> int:
        entries = self.engine.journal.entries()
        return entries[-1].id if entries else 0

    def violations(self) -> list[dict[str, Any]]:
        """Every contract violation the mock saw in requests, with the request that made it."""
        return [
            {"request": f"{entry['request']['method']} {entry['request']['path']}", **violation}
            for entry in self.journal()
            for violation in entry["violations"]
        ]

    # -- simulated failures --------------------------------------------------------------------

    def add_fault(self, fault: str, **rule: Any) -> dict[str, Any]:
        """Add a fault rule (see `harness.faults.FaultRule`); returns it with its id.

        Example:
            mock.add_fault("unavailable", operation="repos/get", times=2)
        """
        return self.engine.faults.book.add({"fault": fault, **rule}).as_dict()

    @contextmanager
    def fault(self, fault: str, **rule: Any) -> Iterator[dict[str, Any]]:
        """A fault rule for the duration of a `with` block.

        Example:
            with mock.fault("rate_limited", operation="issues/list-for-repo", times=2):
                client.list_issues("octocat", "Hello-World")
        """
        added = self.add_fault(fault, **rule)
        try:
            yield added
        finally:
            self.engine.faults.book.remove(added["id"])

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force, with how many requests each has seen and failed."""
        return self.engine.faults.book.listing()

    def clear_faults(self) -> None:
        self.engine.faults.book.clear()

    def injected_faults(self) -> list[dict[str, Any]]:
        """Every fault the mock injected, from the journal, with the request it hit."""
        return [
            {"request": f"{entry['request']['method']} {entry['request']['path']}", **fault}
            for entry in self.journal()
            for fault in entry.get("notes", {}).get("faults", [])
        ]

    @property
    def clock(self) -> Clock:
        """The mock's clock: `advance(seconds)`, `set(epoch)`, `now()`, and `sleep` to inject into clients
        so that their waits move the mock's time instead of sleeping."""
        return self.engine.clock

    def grant(self, token: str, scopes: list[str] | tuple[str, ...]) -> None:
        """Grant OAuth scopes to a token: operations requiring other scopes answer it 403."""
        self.engine.faults.grants.grant(token, scopes)

    def stop(self) -> None:
        self.server.stop()
        self.engine.close()

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
