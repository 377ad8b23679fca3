"""`harness_vcr_config`: users' own pytest-recording tests get the recorder's redaction and layout."""

from __future__ import annotations

import pytest

from harness.cassettes import load_cassette
from harness.live import LiveServer
from harness.scanner import SecretScanner
from tests.harness.upstreams import create_web_upstream

pytest.importorskip("pytest_recording")

SECRET = "ghp_" + "S3cr3tT0k3nS3cr3tT0k3" * 2

CONFTEST = """
import pytest

@pytest.fixture(scope="module")
def vcr_config(harness_vcr_config):
    return harness_vcr_config

@pytest.fixture(scope="module")
def vcr_cassette_dir(harness_vcr_config):
    return harness_vcr_config["cassette_library_dir"]
"""

CONTRACT = """
openapi: 3.0.3
info: {title: web, version: '1'}
paths: {}
components:
  securitySchemes:
    key: {type: apiKey, in: query, name: key}
"""


def test_users_vcrpy_tests_record_redacted_into_cassettes_api_and_replay(pytester):
    pytester.makeconftest(CONFTEST)
    (pytester.path / "contracts").mkdir()
    (pytester.path / "contracts" / "web.yaml").write_text(CONTRACT)
    with LiveServer(create_web_upstream()) as upstream:
        pytester.makepyfile(
            test_web=f"""
import pytest
import requests

@pytest.mark.vcr
def test_me():
    answer = requests.get("{upstream.url}/me?key=k3y-v4lue-123&page=2",
                          headers={{"Authorization": "token {SECRET}"}})
    assert answer.json()["page"] == "2"
    assert answer.json()["you_sent"].startswith("token ")

@pytest.mark.vcr
def test_cookies():
    assert requests.get("{upstream.url}/gz").json()["compressed"] is True
"""
        )
        # When: recording
        pytester.runpytest("-p", "no:cacheprovider", "--record-mode=once").assert_outcomes(passed=2)
    # Then: cassettes/<api>/<test>.yaml, with the defaults and the contract's credentials redacted
    cassette = pytester.path / "cassettes" / "web" / "test_me.yaml"
    text = cassette.read_text()
    assert SECRET not in text
    assert "k3y-v4lue-123" not in text
    assert load_cassette(cassette).interactions[0].request.uri.endswith("/me?key=<REDACTED>&page=2")
    cookies = pytester.path / "cassettes" / "web" / "test_cookies.yaml"
    assert "s3ss10n" not in cookies.read_text()
    assert SecretScanner().scan_file(cassette) == SecretScanner().scan_file(cookies) == []
    # and replay works with the upstream gone: the same filters redact the live request before matching
    pytester.runpytest("-p", "no:cacheprovider", "--record-mode=none").assert_outcomes(passed=2)


def test_the_api_name_comes_from_the_ini_option(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nharness_api = payments\n")
    pytester.makepyfile(
        test_anything="""
def test_layout(vcr_config):
    assert vcr_config["cassette_library_dir"].endswith("cassettes/payments")
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
