"""Check that a server keeps its contract: schemathesis' property tests, run for you.

    result = verify("contracts/todo.yaml", app="examples.todo_server:app", options=VerifyOptions(seed=1))
    for finding in result.findings:
        print(finding.title, finding.operation, finding.curl)

A thin layer over `schemathesis run`, which runs in a subprocess: every operation, positive and
negative data, all checks, stateful sequences through the contract's links, workers, phases,
reports and shrinking all come from schemathesis. This module validates the options up front,
serves an in-process WSGI app on 127.0.0.1 for the run, maps `--include` onto schemathesis'
filters, and reads the NDJSON events back into findings (`harness.findings`). Redirects to
another host (or port) are never followed: schemathesis' session only follows same-origin ones.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.contracts import Contract, load_contract
from harness.errors import ConfigurationError, HarnessError
from harness.findings import Finding, RunError, read_events


class Phase(enum.StrEnum):
    """schemathesis' test phases, in the order they run."""

    EXAMPLES = "examples"
    COVERAGE = "coverage"
    FUZZING = "fuzzing"
    STATEFUL = "stateful"


class Mode(enum.StrEnum):
    """Which data to generate: valid, invalid, or both."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    ALL = "all"


CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
)

# Runs the schemathesis CLI with the interpreter running us, whatever is (not) on PATH.
_ENTRY = "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"


class VerifyError(HarnessError):
    """schemathesis could not run at all; carries the end of its output."""

    def __init__(self, problem: str, output: str = ""):
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(
            problem
            + (f"\n  schemathesis said:\n    {tail.replace(chr(10), chr(10) + '    ')}" if tail else "")
        )


@dataclass(frozen=True)
class VerifyOptions:
    """How to test; every field has a `harness verify` option of the same name.

    Args:
        max_examples: test cases per operation and phase (schemathesis' default when None).
        seed: makes the run reproducible; a random one is chosen (and reported) when None.
        include: operationIds, tags, paths ('/tasks/{id}/') or labels ('GET /tasks/'); an
            operation is tested when it matches any of them.
        headers: 'Name: value' sent with every request.
        auth: 'user:password' for HTTP basic authentication.
        workers: parallel workers, 1-64 or 'auto'.
        phases: which phases run (all four by default).
        checks / exclude_checks: schemathesis check names (all by default).
        mode: positive, negative or all data.
        request_timeout: seconds before a request counts as an error.
    """

    max_examples: int | None = None
    seed: int | None = None
    include: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    auth: str | None = None
    workers: int | str = 1
    phases: tuple[Phase, ...] = tuple(Phase)
    checks: tuple[str, ...] = ()
    exclude_checks: tuple[str, ...] = ()
    mode: Mode = Mode.ALL
    request_timeout: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.workers, str) and self.workers.isdigit():
            object.__setattr__(self, "workers", int(self.workers))
        if self.max_examples is not None and self.max_examples < 1:
            raise ConfigurationError(f"max_examples must be at least 1, got {self.max_examples}")
        if not (self.workers == "auto" or (isinstance(self.workers, int) and 1 <= self.workers <= 64)):
            raise ConfigurationError(f"workers must be 1-64 or 'auto', got {self.workers!r}")
        object.__setattr__(self, "phases", tuple(_choice(Phase, value, "phase") for value in self.phases))
        object.__setattr__(self, "mode", _choice(Mode, self.mode, "mode"))
        if not self.phases:
            raise ConfigurationError(f"at least one phase is needed; valid phases: {_names(Phase)}")
        for name in (*self.checks, *self.exclude_checks):
            if name not in CHECKS:
                raise ConfigurationError(f"unknown check {name!r}; valid checks: {', '.join(CHECKS)}")
        for header in self.headers:
            name, sep, _ = header.partition(":")
            if not sep or not name.strip() or " " in name.strip():
                raise ConfigurationError(
                    f"header {header!r} is not 'Name: value' (e.g. --header 'Authorization: Bearer token')"
                )
        if self.auth is not None and ":" not in self.auth:
            raise ConfigurationError(f"auth {self.auth!r} is not 'user:password'")
        if self.request_timeout is not None and self.request_timeout <= 0:
            raise ConfigurationError(f"request_timeout must be positive, got {self.request_timeout}")


def _choice(enum_type: type[enum.StrEnum], value: Any, what: str) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        raise ConfigurationError(f"unknown {what} {value!r}; valid {what}s: {_names(enum_type)}") from None


def _names(enum_type: type[enum.StrEnum]) -> str:
    return ", ".join(member.value for member in enum_type)


@dataclass
class VerifyResult:
    """The outcome of one run: what failed, what errored, what statuses were seen."""

    contract: str
    target: str
    seed: int
    findings: list[Finding]
    errors: list[RunError]
    observed: Counter[tuple[str, int]]
    test_cases: int
    operations: int
    phases: tuple[Phase, ...]
    duration: float
    output: str = field(repr=False, default="")
    command: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings and not self.errors

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "harness-verify",
            "contract": self.contract,
            "target": self.target,
            "seed": self.seed,
            "phases": [phase.value for phase in self.phases],
            "operations": self.operations,
            "test_cases": self.test_cases,
            "duration_seconds": round(self.duration, 3),
            "exit_code": self.exit_code,
            "findings": [finding.as_dict() for finding in self.findings],
            "errors": [error.as_dict() for error in self.errors],
            "observed": [
                {"operation": label, "status": status, "count": count}
                for (label, status), count in sorted(self.observed.items())
            ],
        }

    def write_json(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def resolve_includes(contract: Contract, values: Sequence[str]) -> list[str]:
    """The operation labels ('GET /tasks/') selected by operationIds, tags, paths or labels.

    Raises:
        ConfigurationError: a value matches no operation; the message lists what would.
    """
    labels: dict[str, None] = {}
    for value in values:
        matched = [
            operation.label
            for operation in contract.operations
            if value in (operation.operation_id, operation.label, operation.path)
            or value in operation.tags
            or value.upper() == operation.label.upper()
        ]
        if not matched:
            ids = sorted(op.operation_id for op in contract.operations if op.operation_id)
            tags = sorted({tag for op in contract.operations for tag in op.tags})
            paths = sorted({op.path for op in contract.operations})
            raise ConfigurationError(
                f"--include {value!r} matches no operation of {contract.source}; valid values are "
                f"operationIds ({_sample(ids)}), tags ({_sample(tags)}), paths ({_sample(paths)}) "
                "or labels like 'GET /path'"
            )
        labels.update(dict.fromkeys(matched))
    return list(labels)


def _sample(values: list[str], limit: int = 8) -> str:
    if not values:
        return "none"
    more = f", … {len(values) - limit} more" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def verify(
    contract: str | Path | Contract,
    *,
    url: str | None = None,
    app: Any = None,
    options: VerifyOptions | None = None,
    junit: str | Path | None = None,
    workdir: str | Path | None = None,
    echo: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> VerifyResult:
    """Run schemathesis' property tests for `contract` against a server.

    Args:
        contract: path of the OpenAPI document (YAML, JSON, optionally .gz), or a loaded `Contract`.
        url: the API's base URL, including its base path (http://127.0.0.1:8080/api/v3).
        app: a WSGI app, or 'module:attribute'; served on a free 127.0.0.1 port for the run, at
            the contract's base path.
        options: what to test and how (`VerifyOptions`).
        junit: where to write schemathesis' JUnit XML report.
        workdir: the directory schemathesis runs in (its `schemathesis.toml`, `.schemathesis/`
            crash cache and `.hypothesis/` live there); the current directory by default.
        echo: receives schemathesis' own output, line by line, as it runs.
        timeout: seconds after which the run is stopped.

    Raises:
        ContractError: the contract cannot be loaded.
        ConfigurationError: bad options, an --app that cannot be loaded, an unreachable URL.
        VerifyError: schemathesis could not run.
    """
    options = options or VerifyOptions()
    if (url is None) == (app is None):
        raise ConfigurationError(
            "give exactly one target: a URL (--url) or a WSGI app (--app module:attribute)"
        )
    loaded = contract if isinstance(contract, Contract) else load_contract(contract)
    labels = resolve_includes(loaded, options.include) if options.include else []
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    with contextlib.ExitStack() as stack:
        if app is not None:
            from harness.apps import load_app
            from harness.live import LiveServer

            wsgi_app = load_app(app) if isinstance(app, str) else app
            if not callable(wsgi_app):
                raise ConfigurationError(f"app {wsgi_app!r} is not a WSGI application")
            server = stack.enter_context(LiveServer(wsgi_app))
            base_url = server.url + loaded.base_path
            target = f"app {app}" if isinstance(app, str) else f"app {type(wsgi_app).__name__}"
        else:
            assert url is not None
            base_url = url.rstrip("/") if urlsplit(url).path not in ("", "/") else url
            _check_reachable(base_url)
            target = base_url
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="harness-verify-")))
        spec = _spec_for_schemathesis(loaded, Path(loaded.source), scratch)
        events_path = scratch / "events.ndjson"
        command = _command(spec, base_url, options, seed, labels, events_path, junit)
        started = time.perf_counter()
        output = _run(command, workdir, echo, timeout)
        duration = time.perf_counter() - started
        if not events_path.exists():
            raise VerifyError(f"schemathesis stopped before testing {loaded.source}", output)
        events = read_events(events_path)
    if events.fatal:
        raise VerifyError(f"schemathesis could not test {loaded.source}: {events.fatal}", output)
    return VerifyResult(
        contract=loaded.source,
        target=target,
        seed=seed,
        findings=events.findings,
        errors=events.errors,
        observed=events.observed,
        test_cases=events.test_cases,
        operations=events.operations,
        phases=options.phases,
        duration=duration,
        output=output,
        command=command[2:],
    )


def _check_reachable(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"--url {url!r} is not an http(s) URL (e.g. http://127.0.0.1:5000)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=5):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigurationError(
            f"cannot reach {url}: {reason}; start the server first, or test an app in process with "
            "--app module:attribute"
        ) from None


def _spec_for_schemathesis(contract: Contract, path: Path, scratch: Path) -> Path:
    """schemathesis picks the parser by extension and cannot read .gz: hand it plain JSON then."""
    if path.suffix in (".yaml", ".yml", ".json"):
        return path.resolve()
    plain = scratch / (path.name.split(".")[0] + ".json")
    plain.write_text(json.dumps(contract.raw), encoding="utf-8")
    return plain


def _command(
    spec: Path,
    base_url: str,
    options: VerifyOptions,
    seed: int,
    labels: list[str],
    events: Path,
    junit: str | Path | None,
) -> list[str]:
    reports = ["ndjson"] + (["junit"] if junit is not None else [])
    command = [
        "-c",
        _ENTRY,
        "run",
        str(spec),
        "--url",
        base_url,
        "--seed",
        str(seed),
        "--workers",
        str(options.workers),
        "--phases",
        ",".join(phase.value for phase in options.phases),
        "--mode",
        options.mode.value,
        "--report",
        ",".join(reports),
        "--report-ndjson-path",
        str(events),
        "--no-color",
    ]
    if junit is not None:
        Path(junit).parent.mkdir(parents=True, exist_ok=True)
        command += ["--report-junit-path", str(Path(junit).resolve())]
    if options.max_examples is not None:
        command += ["--max-examples", str(options.max_examples)]
    for label in labels:
        command += ["--include-name", label]
    for header in options.headers:
        command += ["--header", header]
    if options.auth is not None:
        command += ["--auth", options.auth]
    if options.checks:
        command += ["--checks", ",".join(options.checks)]
    if options.exclude_checks:
        command += ["--exclude-checks", ",".join(options.exclude_checks)]
    if options.request_timeout is not None:
        command += ["--request-timeout", str(options.request_timeout)]
    return [sys.executable, *command]


def _run(
    command: list[str], workdir: str | Path | None, echo: Callable[[str], None] | None, timeout: float | None
) -> str:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}
    lines: list[str] = []
    with subprocess.Popen(
        command,
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as process:

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if echo is not None:
                    echo(line.rstrip("\n"))

        reader = threading.Thread(target=pump, name="schemathesis-output", daemon=True)
        reader.start()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            reader.join(timeout=5)
            raise VerifyError(
                f"the run took longer than {timeout:g} s and was stopped", "".join(lines)
            ) from None
        except BaseException:
            process.kill()
            raise
        finally:
            reader.join(timeout=5)
    output = "".join(lines)
    if process.returncode not in (0, 1):
        raise VerifyError(f"schemathesis exited with status {process.returncode}", output)
    return output
