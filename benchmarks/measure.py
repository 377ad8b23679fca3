"""Measuring helpers: start a server process, time its start-up, load it, read its peak memory.

Everything here is bounded in time and talks to 127.0.0.1 only. `run.py` composes these into the
benchmark; `tests/benchmarks/test_benchmark_smoke.py` checks that they work.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


class BenchmarkError(RuntimeError):
    """A measurement could not be taken (a server did not start, a load run failed)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# --- server processes --------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """A server started in its own session (process group), so stopping it stops its workers."""

    name: str
    command: list[str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    started_at: float

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after `timeout` seconds."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        else:
            # The leader is gone; its workers (same group) may not be.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)


def start_server(
    name: str,
    command: Sequence[str],
    port: int,
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ServerProcess:
    """Start `command` (which must listen on `port`), with stdout and stderr going to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started_at = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    return ServerProcess(name, list(command), port, log_path, process, started_at)


@contextlib.contextmanager
def running_server(
    name: str,
    command: Sequence[str],
    port: int,
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[ServerProcess]:
    """`start_server`, stopped on the way out whatever happens."""
    server = start_server(name, command, port, log_path, env=env, cwd=cwd)
    try:
        yield server
    finally:
        server.stop()


def get_status(url: str, headers: Mapping[str, str] | None = None, timeout: float = 5.0) -> int:
    """The status of one GET (the body is read and dropped); raises OSError when nobody answers."""
    match = re.match(r"http://([^/:]+):(\d+)(/.*)?$", url)
    if match is None:
        raise ValueError(f"not an http://host:port/path URL: {url!r}")
    connection = http.client.HTTPConnection(match[1], int(match[2]), timeout=timeout)
    try:
        connection.request("GET", match[3] or "/", headers=dict(headers or {}))
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def wait_until_ok(
    server: ServerProcess,
    path: str,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float = 60.0,
    interval: float = 0.02,
) -> float:
    """Seconds from the process start until `GET path` first answered 2xx.

    Raises `BenchmarkError` (with the server's last log lines) when the process exits, or when no
    2xx came within `timeout` seconds.
    """
    deadline = server.started_at + timeout
    last = "no answer"
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise BenchmarkError(
                f"{server.name} exited with {server.process.returncode} before answering "
                f"GET {path}:\n{server.log_tail()}"
            )
        try:
            status = get_status(server.url(path), headers, timeout=max(0.5, deadline - time.perf_counter()))
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= status < 300:
                return time.perf_counter() - server.started_at
            last = f"status {status}"
        time.sleep(interval)
    raise BenchmarkError(
        f"{server.name} did not answer GET {path} with 2xx within {timeout:.0f} s (last: {last}):\n"
        f"{server.log_tail()}"
    )


# --- memory and CPU ---------------------------------------------------------------------------------


def peak_memory_kib(pid: int) -> int:
    """VmHWM (peak resident set size) of one process, in KiB, from /proc/PID/status."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+)\s+kB", status, re.MULTILINE)
    if match is None:
        raise BenchmarkError(f"no VmHWM line in /proc/{pid}/status")
    return int(match[1])


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group `pgid` (a server and its
    workers, as `start_server` starts them in their own session)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended meanwhile
        # fields[0] is the state (field 3 of proc(5)); pgrp is field 5, utime 14, stime 15
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / _CLOCK_TICKS


# --- load generation -------------------------------------------------------------------------------


@dataclass
class LoadRun:
    """One load run: how many requests completed in how long, and how many were not 2xx."""

    requests: int
    seconds: float
    non_2xx: int = 0
    errors: int = 0
    server_cpu: float | None = None  # CPU seconds the server used during the run, when known

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_per_request(self) -> float | None:
        """Server CPU microseconds per request: steadier than requests/s on a shared machine."""
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests * 1e6


@dataclass
class Throughput:
    """The median of several load runs after a warm-up, and the runs themselves."""

    tool: str
    runs: list[LoadRun] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(run.requests_per_second for run in self.runs) if self.runs else 0.0

    @property
    def cpu_per_request(self) -> float | None:
        costs = [run.cpu_per_request for run in self.runs if run.cpu_per_request is not None]
        return statistics.median(costs) if costs else None

    @property
    def spread(self) -> tuple[float, float]:
        rates = [run.requests_per_second for run in self.runs]
        return (min(rates), max(rates)) if rates else (0.0, 0.0)


WRK_RATE = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)\b", re.MULTILINE)
WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)")
WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def parse_wrk(output: str) -> LoadRun:
    """The totals of wrk's report ("N requests in 5.00s", non-2xx, socket errors)."""
    match = WRK_RATE.search(output)
    if match is None:
        raise BenchmarkError(f"cannot read wrk's output:\n{output}")
    non_2xx = WRK_NON_2XX.search(output)
    errors = WRK_ERRORS.search(output)
    return LoadRun(
        requests=int(match[1]),
        seconds=float(match[2]) * _UNITS[match[3]],
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


class LoadGenerator:
    """Sends GET requests to one URL with a fixed number of connections for a fixed time."""

    name = "abstract"

    def run(self, url: str, headers: Mapping[str, str], seconds: float, connections: int) -> LoadRun:
        raise NotImplementedError

    def version(self) -> str:
        return self.name


class Wrk(LoadGenerator):
    """wrk (one thread, `connections` keep-alive connections), in its own process."""

    name = "wrk"

    def __init__(self, executable: str = "wrk"):
        self.executable = executable

    def run(self, url: str, headers: Mapping[str, str], seconds: float, connections: int) -> LoadRun:
        command = [
            self.executable,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
        ]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        command.append(url)
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BenchmarkError(f"wrk did not finish within {seconds + 30:.0f} s") from exc
        if done.returncode != 0:
            raise BenchmarkError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        return parse_wrk(done.stdout)

    def version(self) -> str:
        done = subprocess.run(
            [self.executable, "-v"], capture_output=True, text=True, timeout=10, check=False
        )
        first = (done.stdout or done.stderr).splitlines()
        return first[0].split(" Copyright")[0] if first else "wrk (unknown version)"


class PythonLoad(LoadGenerator):
    """A fallback when wrk is missing: threads with http.client keep-alive connections.

    It runs in the caller's process (never the server's) and is GIL-bound: at a few thousand
    requests/s it is itself the bottleneck, so its numbers understate fast servers.
    """

    name = "python http.client threads"

    def run(self, url: str, headers: Mapping[str, str], seconds: float, connections: int) -> LoadRun:
        match = re.match(r"http://([^/:]+):(\d+)(/.*)?$", url)
        if match is None:
            raise ValueError(f"not an http://host:port/path URL: {url!r}")
        host, port, path = match[1], int(match[2]), match[3] or "/"
        counts = {"requests": 0, "non_2xx": 0, "errors": 0}
        lock = threading.Lock()
        started = time.perf_counter()
        deadline = started + seconds

        def worker() -> None:
            done = bad = failed = 0
            connection = http.client.HTTPConnection(host, port, timeout=5)
            try:
                while time.perf_counter() < deadline:
                    try:
                        connection.request("GET", path, headers=dict(headers))
                        response = connection.getresponse()
                        response.read()
                    except (OSError, http.client.HTTPException):
                        failed += 1
                        connection.close()
                        continue
                    done += 1
                    if not 200 <= response.status < 400:
                        bad += 1
            finally:
                connection.close()
                with lock:
                    counts["requests"] += done
                    counts["non_2xx"] += bad
                    counts["errors"] += failed

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 10)
        return LoadRun(counts["requests"], time.perf_counter() - started, counts["non_2xx"], counts["errors"])


def wrk_or_none() -> Wrk | None:
    executable = shutil.which("wrk")
    return Wrk(executable) if executable else None


def measure_throughput(
    generator: LoadGenerator,
    targets: Sequence[tuple[str, Mapping[str, str]]],
    *,
    seconds: float,
    runs: int,
    warmup: float,
    connections: int,
    process_groups: Sequence[int | None] | None = None,
) -> list[Throughput]:
    """Warm every target up, then load them in turns (A B A B …) so drift hits them alike.

    `process_groups` (one per target, or None) are the servers' process groups, whose CPU time is
    read around each run.

    Raises `BenchmarkError` when a run sees non-2xx answers: a fast error page is not throughput.
    Socket errors (e.g. wrk's 5 s timeouts on an overloaded server) are kept in the runs and reported.
    """
    results = [Throughput(generator.name) for _ in targets]
    for url, headers in targets:
        if warmup > 0:
            generator.run(url, headers, warmup, connections)
    for _ in range(runs):
        groups = process_groups or [None] * len(targets)
        for (url, headers), result, group in zip(targets, results, groups, strict=True):
            cpu_before = group_cpu_seconds(group) if group is not None else None
            run = generator.run(url, headers, seconds, connections)
            if group is not None and cpu_before is not None:
                run.server_cpu = group_cpu_seconds(group) - cpu_before
            if run.non_2xx or run.requests == 0:
                raise BenchmarkError(
                    f"load run against {url} is not clean: {run.requests} requests, "
                    f"{run.non_2xx} non-2xx, {run.errors} socket errors"
                )
            result.runs.append(run)
    return results
