"""Replay through the mock over real HTTP, to requests and httpx clients."""

from __future__ import annotations

import gzip
import http.client
import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import httpx
import pytest
import requests

from harness import serve_mock
from tests.conftest import GITHUB
from tests.recordings import interaction, write_cassette

API = "https://api.github.com"
JSON = "application/json; charset=utf-8"
OCTOCAT = json.dumps({"login": "octocat", "id": 583231, "type": "User"}).encode()
ISSUES = json.dumps([{"number": 1347, "title": "Found a bug", "state": "open"}]).encode()
REPO = json.dumps({"id": 1296269, "full_name": "octo/hello"}).encode()
RATE = b'{"resources": {"core": {"limit": 5000}}}'
INVALID = json.dumps(
    {"message": "Validation Failed", "errors": [{"field": "title", "code": "missing_field"}]}
)


@pytest.fixture(scope="module")
def github_cassettes(tmp_path_factory):
    """cassettes/github/ as a user keeps it: what vcrpy recorded with several clients."""
    folder = tmp_path_factory.mktemp("replay") / "github"
    gzipped = gzip.compress(OCTOCAT)
    write_cassette(
        folder / "users.yaml",
        [
            # urllib / httpx recording: the gzip bytes as sent
            interaction(
                "GET",
                f"{API}/users/octocat",
                body=gzipped,
                headers={
                    "Content-Type": JSON,
                    "Content-Encoding": "gzip",
                    "Content-Length": str(len(gzipped)),
                },
            ),
            interaction(
                "GET",
                f"{API}/user",
                body=OCTOCAT,
                headers={"Content-Type": JSON, "Set-Cookie": ["a=1; Path=/", "b=2; Path=/"]},
            ),
        ],
    )
    write_cassette(
        folder / "repos" / "issues.yaml",
        [
            # requests recording: decoded body, stale Content-Encoding, Content-Length and chunking
            interaction(
                "GET",
                f"{API}/repos/octo/hello/issues?state=open",
                body=ISSUES,
                headers={
                    "Content-Type": JSON,
                    "Content-Encoding": "gzip",
                    "Content-Length": "61",
                    "Transfer-Encoding": "chunked",
                    "Link": f'<{API}/repos/octo/hello/issues?page=2>; rel="next"',
                },
            ),
            interaction(
                "POST",
                f"{API}/repos/octo/hello/issues",
                status=422,
                message="Unprocessable Entity",
                body=INVALID,
                headers={"Content-Type": JSON},
                request_body=b'{"body": "no title"}',
                request_headers={"Content-Type": "application/json"},
            ),
            interaction(
                "GET",
                f"{API}/repos/octo/hello",
                body=brotli.compress(REPO),
                headers={"Content-Type": JSON, "Content-Encoding": "br"},
            ),
            interaction(
                "GET",
                f"{API}/rate_limit",
                status=200,
                message="Fine Thanks",
                body=RATE,
                headers={"Content-Type": JSON},
            ),
        ],
    )
    return folder


@pytest.fixture(scope="module")
def served(github_cassettes):
    with serve_mock(GITHUB, cassettes=[github_cassettes]) as running:
        yield running


@pytest.fixture
def mock(served):
    """The module's mock, reset: empty journal, every recording unplayed."""
    served.reset()
    return served


@pytest.fixture(params=["requests", "httpx"])
def client(request, mock):
    """call(method, path, body=None, headers=None) -> (status, reason, headers, body), per library."""
    if request.param == "requests":
        with requests.Session() as session:

            def call(method, path, body=None, headers=None):
                response = session.request(method, mock.url + path, data=body, headers=headers, timeout=5)
                return response.status_code, response.reason, response.headers, response.content

            yield call
    else:
        with httpx.Client(base_url=mock.url, timeout=5) as session:

            def call(method, path, body=None, headers=None):
                response = session.request(method, path, content=body, headers=headers)
                return response.status_code, response.reason_phrase, response.headers, response.content

            yield call


TOKEN = {"Authorization": "token ghp_test"}
AS_JSON = {**TOKEN, "Content-Type": "application/json"}


def test_recordings_answer_first_and_the_contract_answers_the_rest(mock, client):
    status, _, _, body = client("GET", "/users/octocat")
    assert (status, body) == (200, OCTOCAT)
    status, _, _, body = client("GET", "/users/hubot")  # no recording: the contract's example
    assert status == 200 and json.loads(body)["id"] != 583231
    sources = [entry["response"]["source"] for entry in mock.journal()]
    assert sources[0] == "cassette:github/users.yaml#0"
    assert not sources[1].startswith("cassette:")
    assert (
        mock.journal()[1]["notes"]["cassette_miss"]["closest"][0]["interaction"]
        == "cassette:github/users.yaml#0"
    )


def test_gzip_br_and_stale_headers_reach_both_clients_readable(mock, client):
    assert client("GET", "/users/octocat")[3] == OCTOCAT  # gzip bytes as recorded
    status, _, headers, body = client(
        "GET", "/repos/octo/hello/issues?state=open"
    )  # decoded, stale gzip header
    assert (status, body) == (200, ISSUES)
    assert "Content-Encoding" not in headers
    assert headers["Content-Length"] == str(len(ISSUES))
    assert "Transfer-Encoding" not in headers
    assert headers["Link"] == f'<{API}/repos/octo/hello/issues?page=2>; rel="next"'
    assert client("GET", "/repos/octo/hello", headers={"Accept-Encoding": "gzip, br"})[3] == REPO
    assert (
        client("GET", "/repos/octo/hello", headers={"Accept-Encoding": "gzip"})[3] == REPO
    )  # decoded for it


def test_status_reason_and_repeated_headers_are_replayed_as_recorded(mock, client):
    status, reason, _, body = client("GET", "/rate_limit")
    assert (status, reason, body) == (200, "Fine Thanks", RATE)
    headers = client("GET", "/user", headers=TOKEN)[2]
    if isinstance(headers, httpx.Headers):
        assert headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    else:
        assert headers["Set-Cookie"] == "a=1; Path=/, b=2; Path=/"


def test_recorded_bytes_go_on_the_wire_unchanged(mock, github_cassettes):
    from harness.cassettes import load_cassette

    recorded = load_cassette(github_cassettes / "users.yaml").interactions[0].body
    with requests.get(f"{mock.url}/users/octocat", stream=True, timeout=5) as response:
        raw = response.raw.read(decode_content=False)
    assert response.headers["Content-Encoding"] == "gzip"
    assert raw == recorded


def test_a_client_that_accepts_no_coding_gets_the_body_decoded(mock):
    url = urlsplit(mock.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        connection.request("GET", "/users/octocat")  # http.client sends no Accept-Encoding
        response = connection.getresponse()
        assert response.getheader("Content-Encoding") is None
        assert response.read() == OCTOCAT
    finally:
        connection.close()
    assert mock.journal()[-1]["notes"]["cassette"]["corrections"] == [
        "decoded gzip: the client does not accept it"
    ]


def test_an_invalid_request_that_a_recording_matches_replays_and_the_journal_keeps_the_violations(
    mock, client
):
    status, _, _, body = client("POST", "/repos/octo/hello/issues", b'{"body": "no title"}', AS_JSON)
    assert (status, json.loads(body)) == (422, json.loads(INVALID))  # GitHub's own answer, as recorded
    [entry] = mock.journal()
    assert entry["response"]["source"] == "cassette:github/repos/issues.yaml#1"
    assert [violation["location"] for violation in mock.violations()] == ["body/title"]


def test_a_request_without_credentials_gets_the_contract_401_even_when_a_recording_matches(mock, client):
    assert client("GET", "/user")[0] == 401
    assert mock.journal()[0]["response"]["source"] != "cassette:github/users.yaml#1"
    assert client("GET", "/user", headers=TOKEN)[0] == 200


def test_paths_the_contract_lacks_are_replayed(mock, client):
    assert client("GET", "/rate_limit")[3] == RATE
    [entry] = mock.journal()
    assert (entry["operation"], entry["response"]["source"]) == (None, "cassette:github/repos/issues.yaml#3")


def test_the_journal_names_the_cassette_and_interaction_that_answered(mock, github_cassettes, client):
    client("GET", "/repos/octo/hello/issues?state=open")
    note = mock.journal()[0]["notes"]["cassette"]
    assert note == {
        "source": "cassette:github/repos/issues.yaml#0",
        "file": str(github_cassettes / "repos" / "issues.yaml"),
        "interaction": 0,
        "play": 1,
        "recorded_request": f"GET {API}/repos/octo/hello/issues?state=open",
        "corrections": [
            f"Content-Length 61 -> {len(ISSUES)} (stored body size)",
            "removed Transfer-Encoding: chunked (hop-by-hop)",
            "Content-Encoding: gzip -> no Content-Encoding (the stored body is not encoded so)",
        ],
    }


def test_reset_rewinds_play_counts(github_cassettes):
    with serve_mock(GITHUB, cassettes=[github_cassettes], allow_playback_repeats=False) as mock:
        assert requests.get(f"{mock.url}/rate_limit", timeout=5).content == RATE
        again = requests.get(f"{mock.url}/rate_limit", timeout=5)
        assert again.status_code == 404  # played, no repeats, and no contract operation
        assert requests.post(f"{mock.url}/__harness/reset", timeout=5).status_code == 200
        assert requests.get(f"{mock.url}/rate_limit", timeout=5).content == RATE


def test_cassettes_only_answers_an_unmatched_request_with_404_listing_the_closest_and_what_differed(
    github_cassettes,
):
    with serve_mock(GITHUB, cassettes=[github_cassettes], cassettes_only=True) as mock:
        response = requests.get(f"{mock.url}/repos/octo/hello/issues?state=closed", timeout=5)
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["title"] == "No recorded interaction matches"
        assert problem["detail"] == (
            "GET /repos/octo/hello/issues?state=closed: no recording matches on method, path, query"
        )
        assert problem["match_on"] == ["method", "path", "query"]
        assert problem["closest"][0] == {
            "interaction": "cassette:github/repos/issues.yaml#0",
            "request": f"GET {API}/repos/octo/hello/issues?state=open",
            "matched": ["method", "path"],
            "differed": [{"matcher": "query", "difference": "[('state', 'closed')] != [('state', 'open')]"}],
        }
        assert problem["closest"][1]["differed"][0]["matcher"] == "method"  # the POST on the same path
        # the contract still reports what the request broke, though it does not answer
        invalid = requests.get(f"{mock.url}/repos/octo/hello/issues?state=weird", timeout=5).json()
        assert invalid["violations"][0]["location"] == "query/state"
        assert mock.journal()[-1]["response"]["source"] == "cassette-miss"


def test_with_only_cassettes_the_mock_replays_and_404s_the_rest(github_cassettes):
    with serve_mock([], cassettes=[github_cassettes / "users.yaml"]) as mock:
        assert requests.get(f"{mock.url}/users/octocat", timeout=5).json()["login"] == "octocat"
        missing = requests.get(f"{mock.url}/users/hubot", timeout=5)
        assert (
            missing.status_code == 404
            and missing.json()["closest"][0]["interaction"] == "cassette:users.yaml#0"
        )


def test_health_lists_the_cassettes_and_those_refused(github_cassettes, tmp_path):
    github_cassettes = Path(shutil.copytree(github_cassettes, tmp_path / "github"))
    (github_cassettes / "custom.yaml").write_text(
        "interactions:\n- request: {parsed_body: 1}\n  response: {}\n"
    )
    with serve_mock(GITHUB, cassettes=[github_cassettes]) as mock:
        requests.get(f"{mock.url}/rate_limit", timeout=5)
        health = requests.get(f"{mock.url}/__harness/health", timeout=5).json()
    assert [(c["label"], c["interactions"], c["played"]) for c in health["cassettes"]] == [
        ("github/repos/issues.yaml", 4, 1),
        ("github/users.yaml", 2, 0),
    ]
    [refused] = health["refused_cassettes"]
    assert refused["file"] == str(github_cassettes / "custom.yaml")
    assert refused["reason"].startswith(
        "vcrpy cannot load it: TypeError: Request.__init__() got an unexpected"
    )
    assert (health["match_on"], health["allow_playback_repeats"]) == (["method", "path", "query"], True)


def test_recorded_date_and_server_headers_arrive_once_and_as_recorded(tmp_path):
    recorded = {"Date": "Wed, 14 Oct 2020 23:00:59 GMT", "Server": "GitHub.com", "Content-Type": JSON}
    path = write_cassette(
        tmp_path / "dated.yaml",
        [interaction("GET", f"{API}/zen", body=b"Keep it logically awesome.", headers=recorded)],
    )
    with serve_mock(GITHUB, cassettes=[path]) as mock, httpx.Client(base_url=mock.url, timeout=5) as client:
        replayed = client.get("/zen").headers
        generated = client.get("/users/hubot").headers
    assert replayed.get_list("date") == ["Wed, 14 Oct 2020 23:00:59 GMT"]
    assert replayed.get_list("server") == ["GitHub.com"]
    assert len(generated.get_list("date")) == 1 and generated.get_list("server")[0].startswith("Werkzeug/")


def test_a_prefer_header_asking_the_contract_skips_the_recordings(mock, client):
    status, _, _, body = client("GET", "/users/octocat", headers={"Prefer": "code=404"})
    assert status == 404 and json.loads(body)["message"] == "Not Found"
    assert (
        client("GET", "/users/octocat", headers={"Prefer": "return=minimal"})[3] == OCTOCAT
    )  # the API's own
    first, second = mock.journal()
    assert (
        first["notes"]["cassette_skipped"] == "the Prefer header asks the contract (code, example or dynamic)"
    )
    assert second["response"]["source"] == "cassette:github/users.yaml#0"


def test_a_response_queued_with_serve_beats_the_recordings(mock, client):
    from harness.http import Headers, MockResponse

    mock.serve(
        MockResponse(503, Headers({"Retry-After": "1"}), b"", "queued"), operation="users/get-by-username"
    )
    assert client("GET", "/users/octocat")[0] == 503
    assert client("GET", "/users/octocat")[3] == OCTOCAT  # the queue is used up: recordings again
    assert (
        mock.journal()[0]["notes"]["cassette_skipped"]
        == "a response queued with serve() answers this operation"
    )
