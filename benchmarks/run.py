"""Benchmark the mock against bare Flask and Prism, side by side in one run; write BENCHMARKS.md.

    python3 benchmarks/run.py            # full run (~5 min), rewrites benchmarks/BENCHMARKS.md
    python3 benchmarks/run.py --quick    # ~1.5 min, writes benchmarks/.work/BENCHMARKS-quick.md

Targets are ratios between servers measured in the same run on the same machine, never absolute
timings. See benchmarks/README.md for what is measured and why.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.metadata
import itertools
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make this checkout's packages win
    sys.path.insert(0, str(ROOT))

from benchmarks.measure import (  # noqa: E402
    BenchmarkError,
    LoadGenerator,
    PythonLoad,
    ServerProcess,
    Throughput,
    free_port,
    measure_throughput,
    peak_memory_kib,
    running_server,
    wait_until_ok,
    wrk_or_none,
)

WORK = ROOT / "benchmarks" / ".work"
CORPUS = ROOT.parent / "shared" / "corpus" / "specs"
PETSTORE = CORPUS / "petstore" / "openapi.yaml"
GITHUB = CORPUS / "github" / "api.github.com.json.gz"
PRISM_PACKAGE = "@stoplight/prism-cli@5.14.2"

PET_PATH = "/api/v3/pet/1"
# Petstore's getPetById accepts `api_key` (an apiKey header) or petstore_auth (OAuth2, checked as a
# bearer token). gunicorn (>= 22, `--header-map drop` by default) drops header names containing "_"
# before the app sees them (`harness mock`'s handler passes them), so both servers get the OAuth2
# alternative.
PET_HEADERS = {"Authorization": "Bearer benchmark-token"}
ISSUES_PATH = "/repos/octocat/hello-world/issues"

PETSTORE_RATIO_TARGET = 0.80
STARTUP_RATIO_TARGET = 1 / 10
THROUGHPUT_RATIO_TARGET = 20.0
MEMORY_RATIO_TARGET = 1 / 3


@dataclass(frozen=True)
class Settings:
    quick: bool
    seconds: float
    runs: int
    warmup: float
    connections: int
    startups: int
    prism_startups: int
    prism_timeout: float
    startup_timeout: float

    @classmethod
    def for_mode(cls, quick: bool) -> Settings:
        if quick:
            return cls(True, 2, 2, 1, 8, 1, 1, 180, 60)
        return cls(False, 5, 5, 3, 8, 5, 3, 180, 60)


@dataclass
class ServerResult:
    """What one server showed: its throughput, and for the spec comparisons start-up and memory."""

    label: str
    server: str
    throughput: Throughput | None = None
    startups: list[float] = field(default_factory=list)
    startup_peak_kib: int | None = None  # VmHWM right after the first 2xx
    peak_kib: int | None = None  # VmHWM after the load runs too
    error: str | None = None

    @property
    def startup(self) -> float | None:
        return statistics.median(self.startups) if self.startups else None


@dataclass
class Target:
    name: str
    measured: float | None
    threshold: float
    higher_is_better: bool
    detail: str = ""
    informative: bool = False  # shown for context; the verdict is "(pass)"/"(fail)", not a target

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "NOT MEASURED"
        ok = self.measured >= self.threshold if self.higher_is_better else self.measured <= self.threshold
        word = "PASS" if ok else "FAIL"
        return f"({word.lower()}, info)" if self.informative else word


@dataclass
class Report:
    settings: Settings
    load_tool: str
    results: list[ServerResult] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    machine: dict[str, str] = field(default_factory=dict)
    stage_costs: list[tuple[str, float]] = field(default_factory=list)
    startup_phases: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0
    load_average: list[str] = field(default_factory=list)  # /proc/loadavg at the start and the end


# --- environment ---------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def python_env(**extra: str) -> dict[str, str]:
    """The environment for Python servers: this checkout first on the path, no bytecode surprises."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def ensure_wrk() -> LoadGenerator:
    """wrk, installed from Debian's packages when missing and possible; else the Python fallback."""
    found = wrk_or_none()
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        log("wrk is missing: apt-get install wrk")
        for command in (["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"]):
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(command, capture_output=True, timeout=300, check=False)
            found = wrk_or_none()
            if found:
                break
        if found is None:  # the install may have needed the package lists
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, timeout=300)
            found = wrk_or_none()
    if found is not None:
        return found
    log("wrk unavailable: falling back to the Python load generator (it understates fast servers)")
    return PythonLoad()


def has_gunicorn() -> bool:
    try:
        importlib.metadata.version("gunicorn")
    except importlib.metadata.PackageNotFoundError:
        log("gunicorn is missing: pip install gunicorn (benchmark-only dependency, extra `bench`)")
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "gunicorn>=22"],
                capture_output=True,
                timeout=300,
                check=False,
            )
        importlib.invalidate_caches()
        try:
            importlib.metadata.version("gunicorn")
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


def ensure_prism() -> Path:
    """Prism's executable under benchmarks/.work/prism, installed with npm on first use."""
    prefix = WORK / "prism"
    executable = prefix / "node_modules" / ".bin" / "prism"
    if executable.exists():
        return executable
    if not (shutil.which("node") and shutil.which("npm")):
        raise BenchmarkError("node and npm are not installed")
    prefix.mkdir(parents=True, exist_ok=True)
    if not (prefix / "package.json").exists():
        (prefix / "package.json").write_text('{"private": true}\n')
    log(f"installing {PRISM_PACKAGE} into {prefix} (npm)")
    try:
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", PRISM_PACKAGE],
            cwd=prefix,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError("npm install of Prism did not finish within 600 s") from exc
    if done.returncode != 0 or not executable.exists():
        raise BenchmarkError(f"npm install {PRISM_PACKAGE} failed:\n{done.stderr[-2000:]}")
    return executable


def decompressed(spec: Path) -> Path:
    """A plain copy of a .gz spec in benchmarks/.work (Prism does not read gzip)."""
    target = WORK / spec.name.removesuffix(".gz")
    if not target.exists() or target.stat().st_mtime < spec.stat().st_mtime:
        WORK.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        with gzip.open(spec, "rb") as source, partial.open("wb") as sink:
            shutil.copyfileobj(source, sink)
        partial.replace(target)
    return target


def command_output(command: list[str], timeout: float = 20) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return "not available"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else "?"


def load_average() -> str:
    """1, 5 and 15-minute load averages: other work on the machine skews every number."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, IndexError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    return {
        "CPU": f"{cpu} ({os.cpu_count()} logical cores)",
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def versions(load: LoadGenerator, prism: Path | None) -> dict[str, str]:
    found: dict[str, str] = {}
    commit = command_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = command_output(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    found["contract-harness"] = f"{commit}{' (uncommitted changes)' if dirty not in ('?', '') else ''}"
    for package in ("flask", "werkzeug", "gunicorn", "schemathesis", "jsonschema-rs"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["load generator"] = load.version()
    if shutil.which("node"):
        found["node"] = command_output(["node", "--version"])
    if prism is not None:
        found["prism"] = command_output([str(prism), "--version"], timeout=60)
    return found


# --- scenarios ------------------------------------------------------------------------------------


def petstore_commands(server: str, port: int) -> tuple[list[str], list[str]]:
    """(bare, mock) commands serving on `port` under the same WSGI server."""
    python = sys.executable
    if server == "gunicorn":
        base = [python, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4"]
        base += ["-b", f"127.0.0.1:{port}", "--log-level", "warning"]
        return [*base, "benchmarks.wsgi:bare_app()"], [*base, "benchmarks.wsgi:mock_app()"]
    return (
        [python, "-m", "benchmarks.wsgi", str(port)],
        [python, "-m", "harness", "mock", str(PETSTORE), "--port", str(port)],
    )


SERVER_LABELS = {
    "gunicorn": "gunicorn gthread (-w 2 --threads 4)",
    "werkzeug": "werkzeug threaded (as `harness mock`)",
}


def bench_petstore(settings: Settings, load: LoadGenerator, server: str) -> tuple[ServerResult, ServerResult]:
    bare = ServerResult("bare Flask, constant JSON", SERVER_LABELS[server])
    mock = ServerResult("mock, Petstore, validation on", SERVER_LABELS[server])
    env = python_env(BENCH_SPEC=str(PETSTORE))
    bare_port, mock_port = free_port(), free_port()
    bare_command, _ = petstore_commands(server, bare_port)
    _, mock_command = petstore_commands(server, mock_port)
    log(f"Petstore under {server}: bare Flask vs mock, {settings.runs} x {settings.seconds:.0f} s each")
    try:
        with contextlib.ExitStack() as stack:
            servers: list[ServerProcess] = [
                stack.enter_context(
                    running_server(name, command, port, WORK / f"{name}.log", env=env, cwd=ROOT)
                )
                for name, command, port in (
                    (f"bare-{server}", bare_command, bare_port),
                    (f"mock-{server}", mock_command, mock_port),
                )
            ]
            for process in servers:
                wait_until_ok(process, PET_PATH, PET_HEADERS, timeout=settings.startup_timeout)
            bare.throughput, mock.throughput = measure_throughput(
                load,
                [(process.url(PET_PATH), PET_HEADERS) for process in servers],
                seconds=settings.seconds,
                runs=settings.runs,
                warmup=settings.warmup,
                connections=settings.connections,
                process_groups=[process.pid for process in servers],
            )
    except BenchmarkError as exc:
        bare.error = mock.error = str(exc)
        log(f"Petstore under {server} failed: {exc}")
    return bare, mock


def bench_spec_server(
    label: str,
    server: str,
    make_command: Callable[[int], list[str]],
    settings: Settings,
    load: LoadGenerator,
    *,
    startups: int,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> ServerResult:
    """Start-up (median of `startups` starts), then throughput and VmHWM on the last start."""
    result = ServerResult(label, server)
    name = label.split(",")[0].replace(" ", "-")
    try:
        for attempt in range(startups):
            port = free_port()
            with running_server(
                name, make_command(port), port, WORK / f"{name}.log", env=env, cwd=ROOT
            ) as process:
                result.startups.append(wait_until_ok(process, ISSUES_PATH, timeout=timeout))
                log(f"{label}: start-up {result.startups[-1]:.2f} s ({attempt + 1}/{startups})")
                if attempt < startups - 1:
                    continue
                result.startup_peak_kib = peak_memory_kib(process.pid)
                (result.throughput,) = measure_throughput(
                    load,
                    [(process.url(ISSUES_PATH), {})],
                    seconds=settings.seconds,
                    runs=settings.runs,
                    warmup=settings.warmup,
                    connections=settings.connections,
                    process_groups=[process.pid],
                )
                result.peak_kib = peak_memory_kib(process.pid)
    except BenchmarkError as exc:
        result.error = str(exc)
        log(f"{label} failed: {exc}")
    return result


def bench_github_mock(settings: Settings, load: LoadGenerator) -> ServerResult:
    log("GitHub spec: `harness mock` start-up, throughput, peak memory")
    # GitHub's spec declares X-RateLimit-* headers, so the mock limits callers to 60 requests an hour
    # by default, as GitHub does; Prism does not limit, and a load run needs every answer to be 2xx.
    unlimited = WORK / "github-rate-limits-off.yaml"
    unlimited.write_text(f"{GITHUB.name.split('.')[0]}: false\n")
    return bench_spec_server(
        "mock, GitHub spec",
        SERVER_LABELS["werkzeug"],
        lambda port: [
            *(sys.executable, "-m", "harness", "mock", str(GITHUB), "--port", str(port)),
            *("--rate-limits", str(unlimited)),
        ],
        settings,
        load,
        startups=settings.startups,
        timeout=settings.startup_timeout,
        env=python_env(),
    )


def bench_github_prism(settings: Settings, load: LoadGenerator, prism: Path) -> ServerResult:
    log(f"GitHub spec: Prism start-up (timeout {settings.prism_timeout:.0f} s), throughput, peak memory")
    spec = decompressed(GITHUB)
    # `-v warn`: Prism logs several lines per request at its default level; we spare it that cost,
    # as the mock writes no access log either.
    return bench_spec_server(
        "Prism, GitHub spec",
        "Prism's own (node http)",
        lambda port: [str(prism), "mock", str(spec), "-h", "127.0.0.1", "-p", str(port), "-v", "warn"],
        settings,
        load,
        startups=settings.prism_startups,
        timeout=settings.prism_timeout,
    )


def call_wsgi(app: Any, environ: dict[str, Any]) -> None:
    """One in-process WSGI call, its body read and closed."""
    body = app(dict(environ), lambda status, headers, exc_info=None: None)
    try:
        b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def measure_startup_phases(timeout: float = 120) -> list[dict[str, Any]]:
    """`benchmarks/startup_phases.py` in a fresh interpreter: the GitHub start-up, phase by phase."""
    import json

    command = [sys.executable, "-m", "benchmarks.startup_phases", str(GITHUB), ISSUES_PATH]
    started_at = time.time()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=python_env(), cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise BenchmarkError(f"startup_phases failed: {done.stderr[-1000:]}")
    measured = json.loads(done.stdout)
    phases: list[dict[str, Any]] = measured["phases"]
    interpreter = {"phase": "interpreter start", "seconds": measured["started_at"] - started_at}
    return [{**interpreter, "rss_mib": None, "hwm_mib": None}, *phases]


def measure_stage_costs(calls: int) -> list[tuple[str, float]]:
    """Microseconds per Petstore request in process (no sockets), split by pipeline step.

    Each step is timed with `perf_counter` around it *inside* real WSGI calls, so caches and the
    working set are those of a real request (timing a step alone in a tight loop flatters it by up
    to 2x). Steps nest (a middleware calls the next one), so each row is the step's own time. Whole
    calls are the fastest of 5 repetitions of `calls` calls; steps, the fastest of 15 of `calls/5`.
    """
    from werkzeug.test import EnvironBuilder

    import mock_server.app as app_module
    import mock_server.wsgi as wsgi_module
    from benchmarks.wsgi import bare_app, mock_app

    environ = EnvironBuilder(path=PET_PATH, headers=list(PET_HEADERS.items())).get_environ()

    def per_call(app: Any, count: int) -> float:
        def call() -> None:
            call_wsgi(app, environ)

        for _ in range(200):
            call()
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(count):
                call()
            best = min(best, (time.perf_counter() - started) / count)
        return best * 1e6

    bare, mock = bare_app(), mock_app(str(PETSTORE))
    bare_cost = per_call(bare, calls)
    plain_cost = per_call(mock, calls)

    engine = app_module.engine_of(mock)
    dispatch = mock.wsgi_app  # mock_server.wsgi.MockWSGI: mock requests never enter Flask
    # The middlewares nest (each calls the next), so each one's own time is its time minus the next's.
    chain = [getattr(m, "__name__", type(m).__name__) for m in engine.middlewares] + ["respond"]
    spent: dict[str, float] = dict.fromkeys(
        ["read_request", "handle", "route", *chain, "_record", "wsgi_response"], 0.0
    )

    def timed(name: str, function: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        wrapper.__name__ = getattr(function, "__name__", name)
        return wrapper

    original_response = wsgi_module.wsgi_response
    original_middlewares = list(engine.middlewares)
    try:
        wsgi_module.wsgi_response = timed("wsgi_response", original_response)  # type: ignore[assignment]
        dispatch.read_request = timed("read_request", dispatch.read_request)  # type: ignore[assignment]
        for name in ("handle", "route", "respond", "_record"):
            setattr(engine, name, timed(name, getattr(engine, name)))
        engine.middlewares = [timed(name, m) for name, m in zip(chain, original_middlewares, strict=False)]  # type: ignore[misc]
        for _ in range(200):  # warm the wrappers up
            call_wsgi(mock, environ)
        # Many short repetitions, and each step's fastest: another process taking the CPU for a
        # few ms lands in one step of one repetition, and the minimum leaves it out.
        repetitions, batch = 15, max(1, calls // 5)
        total, best = float("inf"), {name: float("inf") for name in spent}
        for _ in range(repetitions):
            for name in spent:
                spent[name] = 0.0
            started = time.perf_counter()
            for _ in range(batch):
                call_wsgi(mock, environ)
            total = min(total, (time.perf_counter() - started) / batch * 1e6)
            for name, value in spent.items():
                best[name] = min(best[name], value / batch * 1e6)
    finally:
        wsgi_module.wsgi_response = original_response  # type: ignore[assignment]
        engine.reset()
    us = best
    own = {name: us[name] - us[inner] for name, inner in itertools.pairwise(chain)}
    own["respond"] = us["respond"]
    labels = {
        "InjectFaults": "fault rules (none set)",
        "check_credentials": "security check",
        "CheckScopes": "granted scopes",
        "LimitRate": "rate limits (none declared)",
        "validate_request": "request validation",
        "ServedResponses": "queued responses (none)",
        "respond": "response choice (cached example)",
    }
    return [
        ("bare Flask app (constant JSON), whole call", bare_cost),
        ("mock app, whole call", plain_cost),
        ("mock app, whole call, instrumented", total),
        ("  WSGI dispatch (MockWSGI: admin prefix check, no Flask)",
         total - us["handle"] - us["read_request"] - us["wsgi_response"]),
        ("  WSGI environ -> HttpRequest", us["read_request"]),
        ("  routing (trie match)", us["route"]),
        *((f"  {labels.get(name, name)}", own[name]) for name in chain),
        ("  journal entry", us["_record"]),
        ("  pipeline glue (Exchange, lambdas, timing)",
         us["handle"] - us["route"] - us[chain[0]] - us["_record"]),
        ("  MockResponse -> WSGI response", us["wsgi_response"]),
    ]  # fmt: skip


# --- the report -----------------------------------------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def rate(result: ServerResult) -> float | None:
    return result.throughput.median if result.throughput and result.throughput.runs else None


def paired_ratio(numerator: ServerResult, denominator: ServerResult) -> float | None:
    """Median of run-by-run ratios of requests/s: servers loaded in turns see the same background
    load in each pair of runs, so pairing cancels most of it."""
    if not (numerator.throughput and denominator.throughput):
        return None
    pairs = zip(numerator.throughput.runs, denominator.throughput.runs, strict=False)
    ratios = [a.requests_per_second / b.requests_per_second for a, b in pairs if b.requests_per_second]
    return statistics.median(ratios) if ratios else None


def cpu(result: ServerResult) -> float | None:
    return result.throughput.cpu_per_request if result.throughput else None


def build_targets(report: Report, petstore: dict[str, tuple[ServerResult, ServerResult]]) -> None:
    for server, (bare, mock) in petstore.items():
        report.targets.append(
            Target(
                f"Petstore mock ≥ 80% of bare Flask ({SERVER_LABELS[server]})",
                paired_ratio(mock, bare),
                PETSTORE_RATIO_TARGET,
                higher_is_better=True,
                detail="requests/s, mock ÷ bare (median of paired runs)",
            )
        )
        report.targets.append(
            Target(
                f"  (same, from server CPU per request: {SERVER_LABELS[server]})",
                ratio(cpu(bare), cpu(mock)),
                PETSTORE_RATIO_TARGET,
                higher_is_better=True,
                detail="CPU µs/request, bare ÷ mock",
                informative=True,
            )
        )
    ours = next((r for r in report.results if r.label == "mock, GitHub spec"), None)
    prism = next((r for r in report.results if r.label == "Prism, GitHub spec"), None)
    if ours is None:
        return
    memory = (ours.peak_kib, prism.peak_kib if prism else None)
    for name, measured, threshold, higher, detail in (
        ("GitHub start-up ≤ 1/10 of Prism's", ratio(ours.startup, prism.startup if prism else None),
         STARTUP_RATIO_TARGET, False, "seconds, mock ÷ Prism"),
        ("GitHub throughput ≥ 20x Prism's", ratio(rate(ours), rate(prism) if prism else None),
         THROUGHPUT_RATIO_TARGET, True, "requests/s, mock ÷ Prism"),
        ("GitHub peak memory ≤ 1/3 of Prism's", ratio(*memory), MEMORY_RATIO_TARGET, False,
         "VmHWM, mock ÷ Prism"),
    ):  # fmt: skip
        report.targets.append(Target(name, measured, threshold, higher, detail))


def fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{suffix}"


def result_rows(report: Report) -> list[list[str]]:
    rows = []
    for result in report.results:
        throughput = result.throughput
        if throughput and throughput.runs:
            low, high = throughput.spread
            rps = f"{throughput.median:,.0f} ({low:,.0f}-{high:,.0f})"
            errors = sum(run.errors for run in throughput.runs)
            if errors:
                rps += f", {errors} socket errors"
        else:
            rps = "—"
        startup = "—"
        if result.startup is not None:
            startup = f"{result.startup:.2f}"
            if len(result.startups) > 1:
                startup += f" ({min(result.startups):.2f}-{max(result.startups):.2f})"
        memory = fmt(result.peak_kib / 1024 if result.peak_kib else None, ".0f")
        if result.startup_peak_kib:
            memory = f"{result.startup_peak_kib / 1024:.0f} / {memory}"
        cpu = fmt(throughput.cpu_per_request if throughput else None, ",.0f")
        rows.append([result.label, result.server, rps, cpu, startup, memory])
    return rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def target_rows(report: Report) -> list[list[str]]:
    rows = []
    for target in report.targets:
        if target.threshold < 1 and not target.higher_is_better:
            threshold = f"≤ {target.threshold:.3f}"
        else:
            threshold = f"{'≥' if target.higher_is_better else '≤'} {target.threshold:g}"
        rows.append([target.name, target.detail, fmt(target.measured, ".3f"), threshold, target.verdict])
    return rows


def render_markdown(report: Report) -> str:
    s = report.settings
    mode = "quick (`--quick`)" if s.quick else "full"
    parts = [
        "# Benchmarks",
        "",
        "Generated by `python3 benchmarks/run.py` "
        f"({mode} run, {report.elapsed / 60:.1f} min). Numbers are from one machine and one run; only the "
        "ratios between servers measured side by side in that run are compared with targets.",
        "",
        "## Machine and versions",
        "",
        markdown_table(["", ""], [[k, v] for k, v in {**report.machine, **report.versions}.items()]),
        "",
        f"Load average (1, 5, 15 min) at the start: {report.load_average[0]}; at the end: "
        f"{report.load_average[-1]}. The benchmark itself keeps about 2 cores busy; more than that "
        "means other work shared the machine and the absolute numbers are low.",
        "",
        "## Method",
        "",
        f"- Load: `{report.load_tool}`, one thread, {s.connections} connections, from the benchmark "
        f"process (servers run in their own processes) on 127.0.0.1. Each server is warmed up for "
        f"{s.warmup:g} s, then loaded {s.runs} x {s.seconds:g} s; servers compared with each other are "
        "loaded in turns (A B A B …). Requests/s is the median run (min-max in brackets). A run with any "
        "non-2xx answer is rejected. The Petstore ratio is the median of run-by-run ratios (each pair of "
        "runs back to back sees the same background load). Server CPU µs/request is the user+system "
        "CPU time of the server's processes (all workers) during a run divided by the requests it "
        "served (median run): on a 2-core machine shared with the load generator it is steadier than "
        "requests/s.",
        "- Petstore: `GET /api/v3/pet/1` with `Authorization: Bearer …` (the operation's OAuth2 "
        "alternative: gunicorn drops an `api_key` header by default because its name has an "
        "underscore), so the request passes security and validation, which is on. The baseline is a "
        "Flask app returning a constant JSON document on the same route. Both run under the same WSGI "
        "server, measured under two: gunicorn gthread (`-w 2 --threads 4`, keep-alive, the "
        "production-style choice, `benchmarks/wsgi.py`) and werkzeug's threaded server with the request "
        "handler `harness mock` runs (`harness.live.AppHeadersHandler`, keep-alive), the bare app too.",
        f"- GitHub spec (1223 operations): the real CLI, `python3 -m harness mock "
        f"api.github.com.json.gz --port N --rate-limits FILE`, the file turning off the rate limiting "
        f"the mock applies by default to a spec declaring `X-RateLimit-*` headers (60 requests an hour, "
        f"as GitHub; Prism does not limit). Start-up is the time from process start until "
        f"`GET {ISSUES_PATH}` first answers 2xx (polled every 20 ms; median of {s.startups} starts). "
        "Requests/s on the same URL; peak memory is VmHWM of the server process from /proc, read after "
        "the first 2xx and after the load runs (the target uses the latter).",
        f"- Prism: `prism mock api.github.com.json -p N -v warn` (decompressed copy; `-v warn` spares it "
        f"its per-request log lines), same protocol, median of {s.prism_startups} starts, start-up "
        f"timeout {s.prism_timeout:.0f} s. Prism is one node process (no `--multiprocess`).",
        "",
        "## Results",
        "",
        markdown_table(
            [
                "what",
                "server",
                "requests/s, median (min-max)",
                "server CPU µs/request",
                "start-up s",
                "peak memory MiB (after start-up / after load)",
            ],
            result_rows(report),
        ),
        "",
        "## Targets",
        "",
        markdown_table(["target", "ratio of", "measured", "target", "verdict"], target_rows(report)),
    ]
    if report.stage_costs:
        parts += [
            "",
            "## Where a Petstore request's time goes (in process, no sockets)",
            "",
            "µs per request from the same run: whole WSGI calls (fastest of 5 repetitions), then "
            "instrumented calls with each step timed inside them (its own time, nested steps excluded; "
            "each step's fastest of 15 repetitions, so the indented rows need not add up to the whole). "
            "The WSGI dispatch row is the instrumented whole minus the steps. The timers add about 2 µs.",
            "",
            markdown_table(["step", "µs"], [[label.replace("  ", "&nbsp;&nbsp;"), f"{cost:.1f}"]
                                            for label, cost in report.stage_costs]),
        ]  # fmt: skip
    if report.startup_phases:
        rows = [
            [
                str(phase["phase"]),
                f"{phase['seconds']:.2f}",
                fmt(phase["rss_mib"], ".0f"),
                fmt(phase["hwm_mib"], ".0f"),
            ]
            for phase in report.startup_phases
        ]
        total = sum(float(phase["seconds"]) for phase in report.startup_phases)
        rows.append(
            ["total (one start; the table above gives the median of several)", f"{total:.2f}", "", ""]
        )
        parts += [
            "",
            "## Where the GitHub start-up goes",
            "",
            "One start of `benchmarks/startup_phases.py` in a fresh interpreter: the steps of `harness mock` "
            "until the first answer to `GET /repos/octocat/hello-world/issues`, with memory after each.",
            "",
            markdown_table(["phase", "seconds", "VmRSS MiB", "VmHWM MiB"], rows),
        ]
    errors = [f"- {r.label} ({r.server}): {r.error}" for r in report.results if r.error]
    if errors or report.notes:
        parts += ["", "## Notes", ""] + [f"- {note}" for note in report.notes] + errors
    return "\n".join(parts) + "\n"


def render_console(report: Report) -> str:
    lines = ["", "Results"]
    widths = [30, 38, 28, 8, 20, 10]
    header = ["what", "server", "requests/s median (min-max)", "CPU µs", "start-up s", "peak MiB"]
    for row in [header, *result_rows(report)]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    lines += ["", "Targets"]
    for row in target_rows(report):
        lines.append(f"  {row[4]:<13} {row[0]:<62} measured {row[2]} (target {row[3]})")
    errors = [f"  {r.label}: {r.error}" for r in report.results if r.error]
    return "\n".join(lines + (["", *errors] if errors else []))


# --- main -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so every `finally` (and so every server stop) runs."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(settings: Settings, *, with_prism: bool = True) -> Report:
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    for spec in (PETSTORE, GITHUB):
        if not spec.exists():
            raise SystemExit(f"missing {spec}: the benchmark needs ../shared/corpus beside this checkout")
    load = ensure_wrk()
    report = Report(settings, load.name)
    report.load_average.append(load_average())
    if isinstance(load, PythonLoad):
        report.notes.append("wrk was unavailable: the Python load generator was used, which caps throughput.")

    petstore: dict[str, tuple[ServerResult, ServerResult]] = {}
    servers = ["gunicorn", "werkzeug"] if has_gunicorn() else ["werkzeug"]
    if "gunicorn" not in servers:
        report.notes.append("gunicorn could not be installed: Petstore was measured under werkzeug only.")
    for server in servers:
        petstore[server] = bench_petstore(settings, load, server)
        report.results.extend(petstore[server])

    report.results.append(bench_github_mock(settings, load))
    prism: Path | None = None
    if with_prism:
        try:
            prism = ensure_prism()
        except BenchmarkError as exc:
            report.notes.append(f"Prism was not measured: {exc}")
        if prism is not None:
            report.results.append(bench_github_prism(settings, load, prism))
    else:
        report.notes.append("Prism was not measured (--no-prism).")

    log("GitHub start-up, phase by phase")
    try:
        report.startup_phases = measure_startup_phases()
    except (BenchmarkError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
        report.notes.append(f"The start-up breakdown could not be taken: {exc}")
    log("in-process cost per Petstore request, stage by stage")
    try:
        report.stage_costs = measure_stage_costs(500 if settings.quick else 3000)
    except (AttributeError, ImportError) as exc:  # the engine's internals moved: say so, keep the rest
        report.notes.append(f"The per-step breakdown could not be taken: {type(exc).__name__}: {exc}")
    build_targets(report, petstore)
    report.machine = machine_info()
    report.versions = versions(load, prism)
    report.elapsed = time.perf_counter() - started
    report.load_average.append(load_average())
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs, to check that everything works")
    parser.add_argument("--no-prism", action="store_true", help="skip Prism even when node is installed")
    parser.add_argument("--output", type=Path, help="where to write the report (default depends on --quick)")
    args = parser.parse_args(argv)
    settings = Settings.for_mode(args.quick)
    output = args.output or (
        WORK / "BENCHMARKS-quick.md" if args.quick else ROOT / "benchmarks" / "BENCHMARKS.md"
    )
    with sigterm_as_exit():
        report = run(settings, with_prism=not args.no_prism)
    print(render_console(report))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_markdown(report))
    print(f"\nWrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
