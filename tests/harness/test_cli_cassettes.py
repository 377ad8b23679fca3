"""`harness cassettes scan|list`: exit codes and output, as CI sees them."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from vcr.request import Request

from harness.cassettes import cassette_dict, save_cassette
from harness.cli import main
from tests.conftest import corpus_path

RESPONSE = {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": b"{}"}}


def write(path, *, headers=None, metadata=None, interactions=1):
    request = Request("GET", "https://api.example.com/a", None, headers or {})
    save_cassette(path, cassette_dict([(request, RESPONSE)] * interactions, metadata))
    return path


def run(*args):
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_scan_exits_0_on_clean_cassettes(tmp_path):
    write(tmp_path / "a" / "one.yaml", headers={"Authorization": "Bearer <REDACTED>"})
    write(tmp_path / "a" / "two.json")
    assert run("cassettes", "scan", str(tmp_path)) == (0, "No secrets found in 2 cassette(s).\n", "")


def test_scan_exits_1_naming_file_interaction_and_field(tmp_path):
    leaky = write(tmp_path / "leaky.yaml", headers={"Authorization": "Bearer 0123456789abcdef"})
    write(tmp_path / "clean.yaml")
    code, out, err = run("cassettes", "scan", str(tmp_path))
    assert code == 1
    assert out == (
        f"{leaky}: interaction 0: request.headers.Authorization: "
        "credentials after an auth scheme (Bear… (23 chars))\n"
    )
    assert "1 possible secret(s) in 1 of 2 cassette(s)." in err
    assert "0123456789abcdef" not in out + err


def test_scan_with_a_contract_checks_its_credential_locations(tmp_path):
    contract = tmp_path / "api.yaml"
    contract.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"
        "components:\n  securitySchemes:\n    k: {type: apiKey, in: header, name: X-Key}\n"
    )
    cassette = write(tmp_path / "c" / "k.yaml", headers={"X-Key": "abc"})
    assert run("cassettes", "scan", str(cassette))[0] == 0
    code, out, _ = run("cassettes", "scan", str(cassette), "--contract", str(contract))
    assert (code, "request.headers.X-Key: securitySchemes credential" in out) == (1, True)


def test_scan_usage_errors_exit_2(tmp_path):
    code, _, err = run("cassettes", "scan", str(tmp_path))
    assert code == 2
    assert f"no cassette (.yaml, .yml, .json) under {tmp_path}" in err
    assert run("cassettes", "scan", str(tmp_path / "missing"))[0] == 2
    (tmp_path / "broken.yaml").write_text("- not\n- a cassette\n")
    code, _, err = run("cassettes", "scan", str(tmp_path))
    assert code == 2
    assert "broken.yaml: not a cassette" in err


@pytest.mark.corpus
def test_scan_flags_the_corpus_recordings_that_hold_tokens():
    code, out, _ = run("cassettes", "scan", str(corpus_path("cassettes", "codecov-shared-github")))
    assert code == 1
    assert out.count("test_get_authenticated_user.yaml: interaction 0:") == 3
    assert "test_get_pull_request_commits_paginated.yaml" not in out


def test_list_shows_age_upstream_and_interaction_count(tmp_path):
    recorded = (datetime.now(UTC) - timedelta(days=3, hours=2)).isoformat(timespec="seconds")
    write(
        tmp_path / "github" / "user.yaml",
        metadata={"recorded_at": recorded, "upstream": "https://api.github.com"},
        interactions=4,
    )
    plain = write(tmp_path / "plain.yaml")
    os.utime(plain, (time.time() - 7200, time.time() - 7200))
    code, out, err = run("cassettes", "list", str(tmp_path))
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["cassette", "interactions", "age", "upstream"]
    assert rows[1] == [str(tmp_path / "github" / "user.yaml"), "4", "3d", "https://api.github.com"]
    assert rows[2] == [str(plain), "1", "2h*", "https://api.example.com"]
    assert "* no recorded_at metadata" in err


def test_list_with_max_age_exits_1_on_stale_cassettes(tmp_path):
    old = (datetime.now(UTC) - timedelta(days=45)).isoformat(timespec="seconds")
    write(tmp_path / "old.yaml", metadata={"recorded_at": old, "upstream": "https://api.github.com"})
    write(tmp_path / "new.yaml", metadata={"recorded_at": datetime.now(UTC).isoformat(), "upstream": "u"})
    code, out, err = run("cassettes", "list", str(tmp_path), "--max-age", "30d")
    assert code == 1
    assert [line.split()[-1] for line in out.splitlines()[1:]] == ["u", "STALE"]
    assert "1 cassette(s) older than 30d" in err
    assert run("cassettes", "list", str(tmp_path), "--max-age", "7w")[0] == 0


@pytest.mark.parametrize("duration", ["30", "thirty days", "1x", ""])
def test_an_invalid_max_age_is_a_usage_error_showing_the_format(tmp_path, duration):
    write(tmp_path / "c.yaml")
    code, _, err = run("cassettes", "list", str(tmp_path), "--max-age", duration)
    assert code == 2
    assert "use a number and a unit, s m h d w (e.g. 30d, 12h, 1w2d)" in err
