"""The cassettes shipped in cassettes/: loadable by plain vcrpy, secret-free, true to their contracts."""

from __future__ import annotations

import importlib.util
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from vcr.persisters.filesystem import FilesystemPersister
from vcr.serializers import yamlserializer

from harness import load_contract
from harness.cassettes import iter_cassette_files, load_cassette
from harness.cli import main
from harness.drift import DriftDetector
from tests.conftest import GITHUB, ROOT, TODO

CASSETTES = ROOT / "cassettes"
SHIPPED = sorted(iter_cassette_files([CASSETTES]))
GITHUB_CASSETTES = sorted(iter_cassette_files([CASSETTES / "github"]))
TODO_CASSETTES = sorted(iter_cassette_files([CASSETTES / "todo"]))


def test_cassettes_are_shipped_for_both_apis():
    assert len(GITHUB_CASSETTES) >= 20
    assert [p.name for p in TODO_CASSETTES] == ["errors.yaml", "lifecycle.yaml"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(CASSETTES)))
def test_each_loads_in_plain_vcrpy_and_says_when_and_from_where(path):
    requests, responses, metadata = FilesystemPersister.load_cassette(str(path), serializer=yamlserializer)
    assert len(requests) == len(responses) >= 1
    assert metadata["upstream"] == (
        "https://api.github.com" if path.parent.name == "github" else "http://127.0.0.1:5000"
    )
    assert metadata["recorded_at"] and metadata["recorder"].startswith("contract-harness")


def test_none_holds_a_secret():
    result = CliRunner().invoke(main, ["cassettes", "scan", str(CASSETTES), "--contract", str(GITHUB)])
    assert result.exit_code == 0, result.stdout
    assert result.stdout == f"No secrets found in {len(SHIPPED)} cassette(s).\n"
    # The token the script sent was redacted, not dropped: replays still show how the client authenticated.
    assert "token <REDACTED>" in (CASSETTES / "github" / "user-200.yaml").read_text()


@pytest.mark.parametrize(
    ("contract", "paths"), [(GITHUB, GITHUB_CASSETTES), (TODO, TODO_CASSETTES)], ids=["github", "todo"]
)
def test_every_interaction_has_a_declared_status_and_a_valid_body(contract, paths):
    detector = DriftDetector([contract])
    for path in paths:
        for interaction in load_cassette(path).interactions:
            content_type = next(
                (v[0] for k, v in interaction.response["headers"].items() if k.lower() == "content-type"), ""
            )
            drift = detector.check(
                interaction.request.method,
                urlsplit(interaction.request.uri).path,
                interaction.status,
                content_type,
                interaction.body,
            )
            assert drift == [], f"{path.name} #{interaction.index}: " + "; ".join(map(str, drift))


def test_github_cassettes_cover_every_operation_and_its_error_statuses():
    contract = load_contract(GITHUB)
    detector = DriftDetector([contract])
    covered: dict[str, set[int]] = {}
    for path in GITHUB_CASSETTES:
        for interaction in load_cassette(path).interactions:
            matched = detector.contracts.match(
                interaction.request.method, urlsplit(interaction.request.uri).path
            )
            covered.setdefault(matched.target.name, set()).add(interaction.status)
    assert set(covered) == {operation.name for operation in contract.operations}
    statuses = set().union(*covered.values())
    assert {401, 403, 404, 410, 422, 429, 503} <= statuses
    assert covered["issues/create"] >= {201, 401, 403, 404, 410, 422, 503}


def test_the_todo_lifecycle_reads_like_a_client_session():
    statuses = [
        (i.request.method, i.status)
        for i in load_cassette(CASSETTES / "todo" / "lifecycle.yaml").interactions
    ]
    assert statuses == [
        ("GET", 200),
        ("POST", 201),
        ("GET", 200),
        ("PUT", 200),
        ("GET", 200),
        ("DELETE", 204),
        ("GET", 404),
    ]


def _comparable(path):
    """Interactions without what changes between runs: dates, rate-limit reset times, server versions."""
    volatile = {"date", "server", "x-ratelimit-reset"}  # the reset is an epoch time: it moves with the clock
    return [
        (
            i.request.method,
            i.request.uri,
            i.request.body,
            sorted((k, v) for k, v in i.request.headers.items()),
            i.status,
            sorted((k, v) for k, v in i.response["headers"].items() if k.lower() not in volatile),
            i.body,
        )
        for i in load_cassette(path).interactions
    ]


def test_the_script_re_creates_them_exactly(tmp_path):
    spec = importlib.util.spec_from_file_location("record_shipped", CASSETTES / "record_shipped.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--out", str(tmp_path)]) == 0
    fresh = sorted(p.relative_to(tmp_path) for p in iter_cassette_files([tmp_path]))
    assert fresh == [p.relative_to(CASSETTES) for p in SHIPPED]
    for relative in fresh:
        assert _comparable(tmp_path / relative) == _comparable(CASSETTES / relative), relative
