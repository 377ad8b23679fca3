"""`harness mock` replay options: --cassettes, --cassettes-only, --match-on, --allow-playback-repeats,
--vcr-config, checked up front, and a mock started from the command line as users start it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import requests
from click.testing import CliRunner

from harness.cli import main
from tests.conftest import GITHUB, ROOT
from tests.recordings import interaction, write_cassette

API = "https://api.github.com"


@pytest.fixture
def cassettes(tmp_path):
    folder = tmp_path / "cassettes" / "github"
    write_cassette(
        folder / "zen.yaml",
        [
            interaction("GET", f"{API}/zen?api_key=REDACTED", body=b"first"),
            interaction("GET", f"{API}/zen?api_key=REDACTED", body=b"second"),
            interaction("GET", f"{API}/users/octocat", body=b'{"login": "octocat"}'),
        ],
    )
    (folder / "pydantic.yaml").write_text("interactions:\n- request: {parsed_body: 1}\n  response: {}\n")
    return folder


def run(*args: str):
    return CliRunner().invoke(main, ["mock", *args])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to serve: pass CONTRACTS (OpenAPI files), --cassettes PATH, or both"),
        ((str(GITHUB), "--cassettes-only"), "--cassettes-only applies to replay: add --cassettes PATH"),
        (
            (str(GITHUB), "--match-on", "method", "--no-allow-playback-repeats"),
            "--match-on, --allow-playback-repeats applies to replay: add --cassettes PATH",
        ),
    ],
    ids=["nothing", "only-without-cassettes", "options-without-cassettes"],
)
def test_replay_options_without_cassettes_are_usage_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_an_unknown_matcher_is_refused_listing_the_valid_ones(cassettes):
    result = run("--cassettes", str(cassettes), "--match-on", "method,bdy")
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "Invalid value for '--match-on': unknown matcher(s) 'bdy' in match_on;" in output
    assert (
        "valid matchers: body, headers, host, method, path, port, query, raw_body, scheme, uri, url" in output
    )


def test_a_missing_cassette_path_is_a_usage_error(tmp_path):
    result = run("--cassettes", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope'}: no such cassette" in " ".join(result.output.split()).replace("\n", "")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("conftest", "'conftest' is not MODULE:NAME (e.g. --vcr-config tests.conftest:vcr_config)"),
        ("no_such_module_xyz:config", "cannot import 'no_such_module_xyz': ModuleNotFoundError"),
        ("replay_config:missing", "replay_config has no 'missing'"),
        ("replay_config:NUMBER", "replay_config:NUMBER is of type int, not a dict"),
        ("replay_config:needs_request", "replay_config:needs_request must take no arguments to be used here"),
    ],
)
def test_bad_vcr_config_values_are_explained(cassettes, tmp_path, monkeypatch, value, message):
    (tmp_path / "replay_config.py").write_text("NUMBER = 3\n\ndef needs_request(request):\n    return {}\n")
    monkeypatch.chdir(tmp_path)
    result = run("--cassettes", str(cassettes), "--vcr-config", value)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_an_unknown_vcr_config_key_is_a_usage_error(cassettes, tmp_path, monkeypatch):
    (tmp_path / "bad_config.py").write_text("CONFIG = {'filter_header': ['authorization']}\n")
    monkeypatch.chdir(tmp_path)
    result = run("--cassettes", str(cassettes), "--vcr-config", "bad_config:CONFIG")
    assert result.exit_code == 2
    assert "vcr_config has unknown key(s) 'filter_header'; valid keys:" in " ".join(result.output.split())


@contextmanager
def cli_mock(*args: str, cwd=ROOT):
    """`python -m harness mock ...` on a free port: (url, banner)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "mock", *args, "--port", "0"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    banner = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if "Press Ctrl+C to stop" in line or not line:
                break
        if "Press Ctrl+C to stop" not in banner[-1]:
            pytest.fail("the mock did not start: " + "".join(banner))
        yield re.search(r"http://127\.0\.0\.1:\d+", banner[-1]).group(0), "".join(banner)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        process.stdout.close()


def test_cassettes_alone_serve_pure_replay_with_the_options_given(cassettes, tmp_path):
    (tmp_path / "suite_config.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef vcr_config():\n"
        "    return {'filter_query_parameters': [('api_key', 'REDACTED')]}\n"
    )
    with cli_mock(
        "--cassettes",
        str(cassettes),
        "--match-on",
        "method,path,query",
        "--no-allow-playback-repeats",
        "--vcr-config",
        "suite_config:vcr_config",
        cwd=tmp_path,
    ) as (url, banner):
        assert (
            "Replaying 3 recorded interaction(s) from 1 cassette(s) "
            "(matching on method, path, query; each recording plays once)"
        ) in banner
        assert f"Skipped cassette {cassettes / 'pydantic.yaml'}: vcrpy cannot load it: TypeError" in banner
        # the suite's filter turns the live key into the recorded placeholder, so these match
        answers = [requests.get(f"{url}/zen?api_key=live", timeout=5) for _ in range(3)]
        assert [(a.status_code, a.content) for a in answers[:2]] == [(200, b"first"), (200, b"second")]
        assert answers[2].status_code == 404
        assert "allow_playback_repeats is off" in answers[2].json()["detail"]


class NotServing:
    """Stands in for werkzeug's server: keeps the app, and stops at once as Ctrl+C would."""

    server_port = 8080

    def __init__(self, app):
        self.app = app

    def serve_forever(self):
        raise KeyboardInterrupt

    def server_close(self):
        pass


def test_contract_and_cassettes_only_from_the_command_line(cassettes, monkeypatch):
    started = []
    monkeypatch.setattr(
        "werkzeug.serving.make_server",
        lambda host, port, app, **_: started.append(NotServing(app)) or started[-1],
    )
    result = run(str(GITHUB), "--cassettes", str(cassettes), "--cassettes-only")
    assert result.exit_code == 0, result.output
    assert "contracts/github.yaml: 6 operations" in result.output
    client = started[0].app.test_client()
    assert client.get("/users/octocat").data == b'{"login": "octocat"}'
    missing = client.get("/users/hubot")  # the contract knows it; with --cassettes-only it does not answer
    assert missing.status_code == 404
    assert missing.get_json()["closest"][0]["interaction"] == "cassette:github/zen.yaml#2"
