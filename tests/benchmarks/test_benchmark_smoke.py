"""The benchmark's measuring helpers work (a second of load, no timing asserted).

The benchmark itself (`python3 benchmarks/run.py`) is far too slow for the suite, and its targets
are ratios measured side by side, never timings asserted here.
"""

from __future__ import annotations

import os
import sys

import pytest

from benchmarks.measure import (
    LoadRun,
    PythonLoad,
    Throughput,
    free_port,
    group_cpu_seconds,
    measure_throughput,
    parse_wrk,
    peak_memory_kib,
    running_server,
    wait_until_ok,
    wrk_or_none,
)
from benchmarks.run import Report, ServerResult, Settings, Target, render_markdown
from harness.live import LiveServer

WRK_OUTPUT = """\
Running 5s test @ http://127.0.0.1:8080/api/v3/pet/1
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.91ms    2.81ms  41.02ms   87.32%
    Req/Sec     1.17k   247.91     1.48k    56.00%
  5823 requests in 5.01s, 3.15MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   1163.17
Transfer/sec:    645.19KB
"""


def constant_json(environ, start_response):
    body = b'{"ok": true}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def generators():
    found = [PythonLoad()]
    wrk = wrk_or_none()
    if wrk is not None:
        found.append(wrk)
    return found


@pytest.mark.parametrize("generator", generators(), ids=lambda generator: generator.name)
def test_load_generators_count_requests_against_a_trivial_wsgi_app(generator):
    # Given a trivial WSGI app on a live socket
    with LiveServer(constant_json) as server:
        # When it is loaded for about a second
        (result,) = measure_throughput(
            generator,
            [(f"{server.url}/anything", {"X-Bench": "1"})],
            seconds=1,
            runs=1,
            warmup=0,
            connections=2,
        )
    # Then one clean run is recorded (how fast it was is not asserted)
    assert isinstance(result, Throughput)
    assert len(result.runs) == 1
    run = result.runs[0]
    assert run.requests > 0
    assert run.non_2xx == 0
    assert result.median == run.requests_per_second > 0


def test_parse_wrk_reads_totals_non_2xx_and_socket_errors():
    assert parse_wrk(WRK_OUTPUT) == LoadRun(requests=5823, seconds=5.01, non_2xx=7, errors=3)


def test_a_server_process_is_timed_until_its_first_2xx_and_stopped(tmp_path):
    # Given a server started in its own process group
    port = free_port()
    command = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    with running_server("http.server", command, port, tmp_path / "server.log", cwd=tmp_path) as server:
        # When we wait for its first successful answer
        startup = wait_until_ok(server, "/", timeout=30)
        # Then start-up, peak memory and CPU time of the group can be read
        assert startup > 0
        assert peak_memory_kib(server.pid) > 0
        assert group_cpu_seconds(server.pid) >= 0
    # And leaving the block stopped it
    assert server.process.poll() is not None


def test_peak_memory_and_cpu_of_this_process_are_readable():
    assert peak_memory_kib(os.getpid()) > 0
    assert group_cpu_seconds(os.getpgid(0)) > 0


def test_report_shows_each_target_with_its_verdict():
    settings = Settings.for_mode(quick=True)
    report = Report(settings, "wrk", load_average=["0.1 0.1 0.1", "0.2 0.2 0.2"])
    report.results.append(ServerResult("mock, GitHub spec", "werkzeug", startups=[1.0], peak_kib=200_000))
    report.targets += [
        Target("fast enough", 25.0, 20.0, higher_is_better=True),
        Target("small enough", 0.5, 1 / 3, higher_is_better=False),
        Target("not there", None, 0.1, higher_is_better=False),
    ]
    text = render_markdown(report)
    assert "| fast enough |" in text and "| PASS |" in text
    assert "| small enough |" in text and "| FAIL |" in text
    assert "NOT MEASURED" in text
    assert "| mock, GitHub spec | werkzeug |" in text
