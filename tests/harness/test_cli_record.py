"""`harness record` as users run it: a subprocess, clients on 127.0.0.1, and kill -9."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest
import requests
import vcr
from vcr.persisters.filesystem import FilesystemPersister
from vcr.serializers import yamlserializer

from harness.cassettes import load_cassette
from harness.live import LiveServer
from tests.conftest import ROOT, TODO
from tests.harness.upstreams import create_drifting_todo, create_web_upstream

ENV = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}


@contextmanager
def cli_recorder(*args: str):
    """`python -m harness record ... --port 0`; yields (url, process) once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "record", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        banner = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if "Press Ctrl+C to stop" in line or not line:
                break
        match = re.search(r"Recording (http://127\.0\.0\.1:\d+)", "".join(banner))
        if match is None:  # pragma: no cover - diagnostics
            process.kill()
            pytest.fail("the recorder did not start: " + "".join(banner) + process.stderr.read())
        yield match.group(1), process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                process.kill()
                process.wait()
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize("kill_after", [3, 17])
def test_kill_9_never_loses_or_corrupts_an_answered_interaction(tmp_path, kill_after):
    cassette = tmp_path / "cassettes" / "web" / "killed.yaml"
    answered: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(first: int) -> None:
        n = first
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    response = session.get(f"{url}/count/{n}", timeout=10)
                except requests.RequestException:
                    return  # the recorder died mid-request: this one was never answered
                if response.status_code == 200 and response.json() == {"n": n}:
                    with lock:
                        answered.append(n)
                n += 4

    with (
        LiveServer(create_web_upstream()) as upstream,
        cli_recorder("--upstream", upstream.url, "--cassette", str(cassette)) as (url, process),
    ):
        clients = [threading.Thread(target=client, args=(first,)) for first in range(4)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 60
        while len(answered) < kill_after and time.monotonic() < deadline:
            time.sleep(0.005)
        # When: SIGKILL while the clients keep sending
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        stop.set()
        for thread in clients:
            thread.join(timeout=20)
    # Then: the cassette parses, in our loader and in plain vcrpy, and holds every answered request
    assert len(answered) >= kill_after
    recorded = {int(i.request.uri.rsplit("/", 1)[1]) for i in load_cassette(cassette).interactions}
    assert set(answered) <= recorded
    requests_, responses, *_ = FilesystemPersister.load_cassette(str(cassette), serializer=yamlserializer)
    assert len(requests_) == len(responses) == len(recorded)


def test_drift_is_printed_on_stderr_as_it_is_recorded(tmp_path):
    cassette = tmp_path / "todo.yaml"
    with (
        LiveServer(create_drifting_todo()) as upstream,
        cli_recorder("--upstream", upstream.url, "--cassette", str(cassette), "--contract", str(TODO)) as (
            url,
            process,
        ),
    ):
        assert requests.post(f"{url}/tasks/", json={"summary": "x"}).status_code == 201
        assert requests.get(f"{url}/tasks/3/").status_code == 200
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert "recorded POST /tasks/ -> 201 (#0)" in out
    assert "recorded GET /tasks/3/ -> 200 (#1)" in out
    assert "Stopped. 2 interaction(s)" in out
    assert err.strip().splitlines() == [
        'drift: POST /tasks/ [createTask] -> 201: body#/id: "one" is not of type "integer" [type] (got one)'
    ]


def test_the_banner_says_where_to_point_clients(tmp_path):
    with (
        LiveServer(create_web_upstream()) as upstream,
        cli_recorder(
            "--upstream", upstream.url, "--cassette", str(tmp_path / "c.yaml"), "--mode", "once"
        ) as (
            url,
            _,
        ),
    ):
        assert requests.get(f"{url}/count/1").json() == {"n": 1}
    with vcr.use_cassette(str(tmp_path / "c.yaml"), record_mode="none"):
        assert requests.get(f"{upstream.url}/count/1").json() == {"n": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "sometimes"], "'sometimes' is not one of 'once', 'new_episodes', 'none', 'all'"),
        (["--upstream", "api.example.com"], "is not an http(s) URL"),
        (["--contract", "missing.yaml"], "missing.yaml: no such file"),
        (["--cassette", "cassettes/x/name.txt"], "a cassette file ends in .yaml, .yml or .json"),
    ],
    ids=["mode", "upstream", "contract", "suffix"],
)
def test_bad_options_are_usage_errors(tmp_path, args, message):
    base = {"--upstream": "http://127.0.0.1:9", "--cassette": str(tmp_path / "c.yaml")}
    for name, value in zip(args[::2], args[1::2], strict=True):
        base[name] = value
    argv = [item for pair in base.items() for item in pair]
    result = subprocess.run(
        [sys.executable, "-m", "harness", "record", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
