"""The example GitHub client against a scripted stub of GitHub served on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from flask import Flask, Response, request

from examples.github_client import (
    API_VERSION,
    AuthenticationError,
    ForbiddenError,
    GitHubClient,
    GitHubConnectionError,
    GitHubError,
    MalformedResponse,
    NotFoundError,
    RateLimit,
    RateLimitExceeded,
    ServerError,
    ValidationFailed,
)

CONTRACT = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "contracts" / "github.yaml").read_text(encoding="utf-8")
)
NOW = 1_700_000_000  # the fake clock's epoch seconds
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "5000",
    "X-RateLimit-Remaining": "4999",
    "X-RateLimit-Reset": "1590701888",
    "X-RateLimit-Used": "1",
    "X-RateLimit-Resource": "core",
}


def contract_example(name: str) -> Any:
    """A response body from contracts/github.yaml, so the stub answers like the contract says GitHub does."""
    return CONTRACT["components"]["examples"][name]["value"]


def contract_error(response_name: str, example_name: str) -> Any:
    media = CONTRACT["components"]["responses"][response_name]["content"]["application/json"]
    return media["examples"][example_name]["value"]


# --- A scripted GitHub --------------------------------------------------------------------------------


@dataclass
class Scripted:
    status: int
    body: bytes
    headers: dict[str, str]
    delay: float


@dataclass
class Received:
    method: str
    raw_path: str  # as sent, before percent-decoding
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class StubGitHub:
    """Answers each request with the next scripted response and records what it received."""

    base_url: str = ""
    script: deque[Scripted] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)

    def then(
        self,
        status: int = 200,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        delay: float = 0.0,
    ) -> StubGitHub:
        payload = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        self.script.append(Scripted(status, payload, all_headers, delay))
        return self

    def app(self) -> Flask:
        app = Flask(__name__)

        @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
        @app.route("/<path:path>", methods=["GET", "POST"])
        def answer(path: str) -> Response:
            self.received.append(
                Received(
                    method=request.method,
                    raw_path=request.environ["RAW_URI"].split("?")[0],
                    query=request.args.to_dict(),
                    headers=dict(request.headers),
                    body=request.get_json(silent=True),
                )
            )
            if not self.script:
                return Response(b'{"message": "stub: no scripted response left"}', 599)
            scripted = self.script.popleft()
            time.sleep(scripted.delay)
            # A generator keeps a scripted Content-Length; werkzeug would correct it for a bytes body.
            body = iter([scripted.body]) if "Content-Length" in scripted.headers else scripted.body
            return Response(body, scripted.status, scripted.headers)

        return app


@pytest.fixture
def github(serve_app: Callable[[Flask], str]) -> Iterator[StubGitHub]:
    stub = StubGitHub()
    stub.base_url = serve_app(stub.app())
    yield stub
    assert not stub.script, f"{len(stub.script)} scripted response(s) were never requested"


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the client asked to sleep; nothing sleeps for real."""
    return []


@pytest.fixture
def make_client(github: StubGitHub, sleeps: list[float]) -> Iterator[Callable[..., GitHubClient]]:
    clients: list[GitHubClient] = []

    def make(**overrides: Any) -> GitHubClient:
        options: dict[str, Any] = {
            "token": "ghp_test",
            "base_url": github.base_url,
            "sleep": sleeps.append,
            "clock": lambda: NOW,
            "timeout": 5,
            **overrides,
        }
        client = GitHubClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., GitHubClient]) -> GitHubClient:
    return make_client()


# --- Requests ---------------------------------------------------------------------------------------


def test_token_and_api_headers_are_sent(github: StubGitHub, client: GitHubClient) -> None:
    github.then(200, contract_example("private-user"))

    client.get_authenticated_user()

    headers = github.received[0].headers
    assert headers["Authorization"] == "token ghp_test"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-Github-Api-Version"] == API_VERSION == "2022-11-28"
    assert headers["User-Agent"].startswith("contract-harness")


def test_anonymous_client_sends_no_authorization(
    github: StubGitHub, make_client: Callable[..., GitHubClient]
) -> None:
    github.then(200, contract_example("public-user"))

    make_client(token=None).get_user("octocat")

    assert "Authorization" not in github.received[0].headers


OPERATIONS = [
    pytest.param(
        lambda c: c.get_authenticated_user(), "GET", "/user", {}, "private-user", id="get_authenticated_user"
    ),
    pytest.param(
        lambda c: c.list_my_repos(visibility="private", sort="updated", per_page=50, page=2),
        "GET",
        "/user/repos",
        {"visibility": "private", "sort": "updated", "per_page": "50", "page": "2"},
        "repository-items",
        id="list_my_repos",
    ),
    pytest.param(
        lambda c: c.list_my_repos(), "GET", "/user/repos", {}, "repository-items", id="list_my_repos-defaults"
    ),
    pytest.param(lambda c: c.get_user("octocat"), "GET", "/users/octocat", {}, "public-user", id="get_user"),
    pytest.param(
        lambda c: c.get_repo("octocat", "Hello-World"),
        "GET",
        "/repos/octocat/Hello-World",
        {},
        "full-repository",
        id="get_repo",
    ),
    pytest.param(
        lambda c: c.list_issues("octocat", "Hello-World", state="all", labels=["bug", "ui"], per_page=100),
        "GET",
        "/repos/octocat/Hello-World/issues",
        {"state": "all", "labels": "bug,ui", "per_page": "100"},
        "issue-items",
        id="list_issues",
    ),
    pytest.param(
        lambda c: c.list_issues("octocat", "Hello-World", labels="bug,ui"),
        "GET",
        "/repos/octocat/Hello-World/issues",
        {"labels": "bug,ui"},
        "issue-items",
        id="list_issues-labels-string",
    ),
]


@pytest.mark.parametrize(("call", "method", "path", "query", "example"), OPERATIONS)
def test_operation_calls_its_contract_path_and_returns_the_body(
    github: StubGitHub,
    client: GitHubClient,
    call: Callable[[GitHubClient], Any],
    method: str,
    path: str,
    query: dict[str, str],
    example: str,
) -> None:
    github.then(200, contract_example(example))

    result = call(client)

    received = github.received[0]
    assert (received.method, received.raw_path, received.query) == (method, path, query)
    assert result == contract_example(example)


def test_create_issue_posts_title_body_and_labels(github: StubGitHub, client: GitHubClient) -> None:
    github.then(201, contract_example("issue"))

    issue = client.create_issue("octocat", "Hello-World", "Found a bug", body="Details", labels=["bug"])

    received = github.received[0]
    assert (received.method, received.raw_path) == ("POST", "/repos/octocat/Hello-World/issues")
    assert received.body == {"title": "Found a bug", "body": "Details", "labels": ["bug"]}
    assert issue["number"] == 1347


def test_create_issue_omits_unset_fields(github: StubGitHub, client: GitHubClient) -> None:
    github.then(201, contract_example("issue"))

    client.create_issue("octocat", "Hello-World", "Found a bug")

    assert github.received[0].body == {"title": "Found a bug"}


def test_path_parameters_are_percent_encoded(github: StubGitHub, client: GitHubClient) -> None:
    github.then(200, contract_example("full-repository"))

    client.get_repo("octo cat", "../admin")

    assert github.received[0].raw_path == "/repos/octo%20cat/..%2Fadmin"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.list_my_repos(per_page=101), "per_page must be between 1 and 100, got 101."),
        (lambda c: c.list_my_repos(page=0), "page must be 1 or more, got 0."),
        (
            lambda c: c.list_my_repos(visibility="secret"),
            "visibility must be one of 'all', 'public', 'private', got 'secret'.",
        ),
        (lambda c: c.list_issues("o", "r", state="opened"), "state must be one of 'open', 'closed', 'all'"),
        (lambda c: c.get_user(".."), "'..' is not a valid path segment."),
    ],
    ids=["per_page", "page", "visibility", "state", "dot-dot"],
)
def test_invalid_arguments_fail_before_any_request(
    github: StubGitHub, client: GitHubClient, call: Callable[[GitHubClient], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        call(client)

    assert github.received == []


def test_bad_base_url_is_rejected_with_a_hint() -> None:
    with pytest.raises(
        ValueError, match=r"base_url must start with http:// or https://, got 'api\.github\.com'"
    ):
        GitHubClient(base_url="api.github.com")


# --- Typed errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (401, contract_error("requires_authentication", "bad-credentials"), AuthenticationError),
        (403, contract_error("forbidden", "forbidden"), ForbiddenError),
        (404, contract_error("not_found", "not-found"), NotFoundError),
        (410, contract_error("gone", "issues-disabled"), GitHubError),
        (422, contract_error("validation_failed", "missing-title"), ValidationFailed),
        (500, {"message": "Server Error"}, ServerError),
        (502, {"message": "Bad Gateway"}, ServerError),
    ],
    ids=lambda value: str(value) if isinstance(value, int) else None,
)
def test_error_status_raises_its_typed_error(
    github: StubGitHub,
    client: GitHubClient,
    status: int,
    body: dict[str, Any],
    error_class: type[GitHubError],
) -> None:
    github.then(status, body, headers={"X-GitHub-Request-Id": "CAFE:BEEF"})

    with pytest.raises(GitHubError) as excinfo:
        client.get_repo("octocat", "Hello-World")

    error = excinfo.value
    assert type(error) is error_class
    assert error.status == status
    assert error.message == body["message"]
    assert error.documentation_url == body.get("documentation_url")
    assert error.response_headers["x-github-request-id"] == "CAFE:BEEF", "headers are case-insensitive"
    assert str(error) == f"{status}: {body['message']}"


def test_validation_failed_exposes_the_field_errors(github: StubGitHub, client: GitHubClient) -> None:
    github.then(422, contract_error("validation_failed", "missing-title"))

    with pytest.raises(ValidationFailed) as excinfo:
        client.create_issue("octocat", "Hello-World", "")

    assert excinfo.value.errors == [{"resource": "Issue", "field": "title", "code": "missing_field"}]


def test_error_without_a_json_body_uses_the_reason_phrase(github: StubGitHub, client: GitHubClient) -> None:
    github.then(502, raw=b"<html>Unicorn!</html>", headers={"Content-Type": "text/html"})

    with pytest.raises(ServerError) as excinfo:
        client.get_user("octocat")

    assert (excinfo.value.message, excinfo.value.documentation_url) == ("BAD GATEWAY", None)


def test_403_without_rate_limit_signs_is_forbidden_and_not_retried(
    github: StubGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    github.then(403, contract_error("forbidden", "forbidden"), headers={"X-RateLimit-Remaining": "4000"})

    with pytest.raises(ForbiddenError):
        client.create_issue("octocat", "Hello-World", "Found a bug")

    assert sleeps == []
    assert len(github.received) == 1


# --- Retries ---------------------------------------------------------------------------------------------


def test_503_is_retried_after_the_retry_after_delay(
    github: StubGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    unavailable = contract_error("service_unavailable", "service-unavailable")
    github.then(503, unavailable, headers={"Retry-After": "2"}).then(
        503, unavailable, headers={"Retry-After": "1"}
    ).then(200, contract_example("public-user"))

    user = client.get_user("octocat")

    assert user["login"] == "octocat"
    assert sleeps == [2.0, 1.0]
    assert len(github.received) == 3


def test_503_without_retry_after_backs_off_exponentially_then_raises(
    github: StubGitHub, make_client: Callable[..., GitHubClient], sleeps: list[float]
) -> None:
    for _ in range(4):
        github.then(503, {"message": "Service unavailable"})

    with pytest.raises(ServerError) as excinfo:
        make_client(max_retries=3, backoff=0.5).get_user("octocat")

    assert excinfo.value.status == 503
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(github.received) == 4


def test_retries_can_be_disabled(
    github: StubGitHub, make_client: Callable[..., GitHubClient], sleeps: list[float]
) -> None:
    github.then(503, {"message": "Service unavailable"}, headers={"Retry-After": "1"})

    with pytest.raises(ServerError):
        make_client(max_retries=0).get_user("octocat")

    assert sleeps == []


def test_secondary_rate_limit_429_is_retried_after_retry_after(
    github: StubGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    github.then(
        429, contract_error("too_many_requests", "secondary-rate-limit"), headers={"Retry-After": "3"}
    )
    github.then(201, contract_example("issue"))

    client.create_issue("octocat", "Hello-World", "Found a bug")

    assert sleeps == [3.0]


def test_secondary_rate_limit_403_with_retry_after_is_retried(
    github: StubGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    github.then(403, contract_error("forbidden", "secondary-rate-limit"), headers={"Retry-After": "7"})
    github.then(200, contract_example("full-repository"))

    client.get_repo("octocat", "Hello-World")

    assert sleeps == [7.0]


def test_secondary_rate_limit_naming_no_wait_is_retried_after_a_minute(
    github: StubGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    github.then(
        403, contract_error("forbidden", "secondary-rate-limit"), headers={"X-RateLimit-Remaining": "4000"}
    )
    github.then(200, contract_example("full-repository"))

    client.get_repo("octocat", "Hello-World")

    assert sleeps == [60.0]


def test_primary_rate_limit_waits_until_a_near_reset(
    github: StubGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    exhausted = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(NOW + 5)}
    github.then(403, contract_error("forbidden", "rate-limit-exceeded"), headers=exhausted)
    github.then(200, contract_example("full-repository"))

    client.get_repo("octocat", "Hello-World")

    assert sleeps == [5.0]


def test_primary_rate_limit_with_a_distant_reset_raises_at_once(
    github: StubGitHub, client: GitHubClient, sleeps: list[float]
) -> None:
    exhausted = {
        "X-RateLimit-Limit": "60",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(NOW + 3600),
    }
    github.then(403, contract_error("forbidden", "rate-limit-exceeded"), headers=exhausted)

    with pytest.raises(RateLimitExceeded) as excinfo:
        client.get_repo("octocat", "Hello-World")

    assert (excinfo.value.status, excinfo.value.reset_at, excinfo.value.retry_after) == (
        403,
        NOW + 3600,
        None,
    )
    assert excinfo.value.message.startswith("API rate limit exceeded")
    assert sleeps == []
    assert client.rate_limit == RateLimit(limit=60, remaining=0, reset=NOW + 3600, used=None, resource=None)


def test_retry_after_beyond_max_wait_raises_at_once(
    github: StubGitHub, make_client: Callable[..., GitHubClient], sleeps: list[float]
) -> None:
    github.then(
        429, contract_error("too_many_requests", "secondary-rate-limit"), headers={"Retry-After": "120"}
    )

    with pytest.raises(RateLimitExceeded) as excinfo:
        make_client(max_wait=60).get_user("octocat")

    assert (excinfo.value.status, excinfo.value.retry_after) == (429, 120.0)
    assert sleeps == []


def test_rate_limit_persisting_through_every_retry_raises_rate_limit_exceeded(
    github: StubGitHub, make_client: Callable[..., GitHubClient], sleeps: list[float]
) -> None:
    for _ in range(3):
        github.then(429, {"message": "slow down"}, headers={"Retry-After": "1"})

    with pytest.raises(RateLimitExceeded):
        make_client(max_retries=2).get_user("octocat")

    assert sleeps == [1.0, 1.0]


# --- Rate-limit headers -----------------------------------------------------------------------------------


def test_rate_limit_is_none_before_any_request(client: GitHubClient) -> None:
    assert client.rate_limit is None


def test_rate_limit_headers_are_parsed(github: StubGitHub, client: GitHubClient) -> None:
    github.then(200, contract_example("public-user"), headers=RATE_LIMIT_HEADERS)

    client.get_user("octocat")

    assert client.rate_limit == RateLimit(
        limit=5000, remaining=4999, reset=1590701888, used=1, resource="core"
    )


def test_rate_limit_follows_the_latest_response(github: StubGitHub, client: GitHubClient) -> None:
    github.then(200, contract_example("public-user"), headers=RATE_LIMIT_HEADERS)
    github.then(200, contract_example("public-user"))
    client.get_user("octocat")

    client.get_user("octocat")

    assert client.rate_limit is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Remaining": "12"}, RateLimit(None, 12, None, None, None)),
        (
            {"X-RateLimit-Limit": "soon", "X-RateLimit-Resource": "search"},
            RateLimit(None, None, None, None, "search"),
        ),
        ({"x-ratelimit-used": "3"}, RateLimit(None, None, None, 3, None)),
        ({"X-RateLimit-Limit": "not-a-number"}, None),
        ({}, None),
    ],
    ids=["partial", "unparseable-field", "lowercase-names", "nothing-usable", "absent"],
)
def test_rate_limit_from_headers(headers: dict[str, str], expected: RateLimit | None) -> None:
    assert RateLimit.from_headers(requests.structures.CaseInsensitiveDict(headers)) == expected


def test_rate_limit_is_updated_from_error_responses(github: StubGitHub, client: GitHubClient) -> None:
    github.then(404, contract_error("not_found", "not-found"), headers=RATE_LIMIT_HEADERS)

    with pytest.raises(NotFoundError):
        client.get_repo("octocat", "missing")

    assert client.rate_limit is not None
    assert client.rate_limit.remaining == 4999


# --- Malformed responses and transport failures --------------------------------------------------------


def test_malformed_json_raises_malformed_response(github: StubGitHub, client: GitHubClient) -> None:
    github.then(200, raw=b'{"login": "octocat", "id": ')

    with pytest.raises(MalformedResponse) as excinfo:
        client.get_user("octocat")

    assert excinfo.value.status == 200
    assert excinfo.value.message.startswith("Expected a JSON body from GET ")
    assert isinstance(excinfo.value.__cause__, ValueError)


@pytest.mark.parametrize(
    ("call", "body", "expected"),
    [
        (lambda c: c.get_repo("o", "r"), [], "a JSON object with 'full_name'"),
        (lambda c: c.get_user("octocat"), {"message": "hi"}, "a JSON object with 'login'"),
        (lambda c: c.list_my_repos(), {"full_name": "o/r"}, "a JSON array of objects with 'full_name'"),
        (lambda c: c.list_issues("o", "r"), [{"number": 1}, "two"], "a JSON array of objects with 'number'"),
    ],
    ids=["array-for-object", "object-missing-key", "object-for-array", "array-item-not-object"],
)
def test_unexpected_shape_raises_malformed_response(
    github: StubGitHub, client: GitHubClient, call: Callable[[GitHubClient], Any], body: Any, expected: str
) -> None:
    github.then(200, body)

    with pytest.raises(MalformedResponse, match=f"Expected {expected} from GET "):
        call(client)


def test_connection_refused_raises_github_connection_error(sleeps: list[float]) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    client = GitHubClient(base_url=f"http://127.0.0.1:{port}", sleep=sleeps.append)
    with client, pytest.raises(GitHubConnectionError) as excinfo:
        client.get_user("octocat")

    assert excinfo.value.status is None
    assert excinfo.value.message.startswith(f"GET http://127.0.0.1:{port}/users/octocat failed: ")
    assert isinstance(excinfo.value.__cause__, requests.ConnectionError)


def test_read_timeout_raises_github_connection_error(
    github: StubGitHub, make_client: Callable[..., GitHubClient]
) -> None:
    github.then(200, contract_example("public-user"), delay=0.5)

    with pytest.raises(GitHubConnectionError) as excinfo:
        make_client(timeout=0.05).get_user("octocat")

    assert isinstance(excinfo.value.__cause__, requests.Timeout)


def test_truncated_body_raises_github_connection_error(github: StubGitHub, client: GitHubClient) -> None:
    github.then(200, raw=b'{"login": "octo', headers={"Content-Length": "100", "Connection": "close"})

    with pytest.raises(GitHubConnectionError):
        client.get_user("octocat")


# --- Session ownership ------------------------------------------------------------------------------


class RecordingSession(requests.Session):
    closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


def test_context_manager_closes_the_session_it_created(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests, "Session", RecordingSession)

    with GitHubClient() as client:
        session = client._session

    assert isinstance(session, RecordingSession)
    assert session.closed


def test_a_callers_session_is_used_and_left_open(github: StubGitHub) -> None:
    github.then(200, contract_example("public-user"))
    session = RecordingSession()

    with GitHubClient(base_url=github.base_url, session=session) as client:
        client.get_user("octocat")

    assert not session.closed
    assert "Authorization" not in session.headers, "the caller's session is not modified"
    session.close()
