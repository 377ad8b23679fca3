"""examples/github_client.py against the mock's simulated failures (real HTTP, the mock's clock).

The client's `sleep` advances the mock's clock and its `clock` reads it, so waiting for a rate limit
to reset takes no real time, and the mock's limiter really sees the window reset.
"""

from __future__ import annotations

import pytest

from examples.github_client import (
    AuthenticationError,
    ForbiddenError,
    GitHubClient,
    GitHubConnectionError,
    MalformedResponse,
    RateLimitExceeded,
    ServerError,
)
from harness import serve_mock
from harness.compiled import compiled
from tests.conftest import GITHUB


@pytest.fixture(scope="module")
def server():
    with serve_mock(GITHUB, rate_limits={"github": {"limit": 3, "window": 30}}) as running:
        yield running


@pytest.fixture
def mock(server):
    server.reset()
    return server


@pytest.fixture
def sleeps(mock):
    """What the client waited; each wait moves the mock's clock instead of sleeping."""
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        mock.clock.sleep(seconds)

    sleep.waited = waited
    return sleep


@pytest.fixture
def client(mock, sleeps):
    with GitHubClient(
        "ghp_example", base_url=mock.url, sleep=sleeps, clock=mock.clock.now, timeout=2
    ) as github:
        yield github


def statuses(mock):
    return [entry["response"]["status"] for entry in mock.journal()]


def test_401_raises_authentication_error(mock, client):
    mock.add_fault("unauthorized", operation="users/get-authenticated")
    with pytest.raises(AuthenticationError) as error:
        client.get_authenticated_user()
    assert error.value.message == "Requires authentication"


def test_403_raises_forbidden_error_without_retrying(mock, client):
    mock.add_fault("forbidden", operation="issues/create")
    with pytest.raises(ForbiddenError, match="Resource not accessible by personal access token"):
        client.create_issue("octocat", "Hello-World", "Found a bug")
    assert statuses(mock) == [403]


def test_503_is_retried_after_retry_after(mock, client, sleeps):
    mock.add_fault("unavailable", operation="repos/get", times=2, retry_after=7)
    assert client.get_repo("octocat", "Hello-World")["full_name"] == "octocat/Hello-World"
    assert sleeps.waited == [7, 7]
    assert statuses(mock) == [503, 503, 200]


@pytest.mark.parametrize("fault", ["server_error", "bad_gateway", "gateway_timeout"])
def test_other_5xx_raise_server_error_at_once(mock, client, fault):
    mock.add_fault(fault, operation="repos/get")
    with pytest.raises(ServerError):
        client.get_repo("octocat", "Hello-World")
    assert len(mock.journal()) == 1


def test_spent_primary_limit_waits_until_x_ratelimit_reset_then_succeeds(mock, client, sleeps):
    for _ in range(3):
        client.get_repo("octocat", "Hello-World")
    assert client.rate_limit.remaining == 0
    # When the budget is spent, the mock answers 403 until the window resets...
    assert client.get_repo("octocat", "Hello-World")["name"] == "Hello-World"
    # ...the client waited on the mock's clock until X-RateLimit-Reset, and the new window let it through.
    assert len(sleeps.waited) == 1 and 25 <= sleeps.waited[0] <= 31
    assert statuses(mock) == [200, 200, 200, 403, 200]
    assert client.rate_limit.remaining == 2


def test_distant_reset_raises_rate_limit_exceeded_at_once(mock, sleeps):
    with GitHubClient(
        "ghp_example", base_url=mock.url, sleep=sleeps, clock=mock.clock.now, max_wait=10
    ) as github:
        mock.add_fault("rate_limited", operation="repos/get", times=1)
        with pytest.raises(RateLimitExceeded) as error:
            github.get_repo("octocat", "Hello-World")
    assert error.value.status == 403 and sleeps.waited == []
    assert error.value.reset_at == pytest.approx(mock.clock.now() + 30, abs=2)


def test_secondary_limit_is_retried_after_retry_after(mock, client, sleeps):
    mock.add_fault(
        "rate_limited", operation="issues/list-for-repo", style="secondary", retry_after=45, times=1
    )
    assert client.list_issues("octocat", "Hello-World")[0]["number"] == 1347
    assert sleeps.waited == [45]
    assert statuses(mock) == [429, 200]


def test_secondary_limit_as_a_403_is_still_a_rate_limit(mock, client, sleeps):
    mock.add_fault("rate_limited", operation="repos/get", style="secondary", status=403, times=2)
    client.get_repo("octocat", "Hello-World")
    assert sleeps.waited == [60, 60]


@pytest.mark.parametrize("variant", ["truncated", "trailing_garbage", "html", "empty", "invalid_utf8"])
def test_malformed_json_raises_malformed_response(mock, client, variant):
    mock.add_fault("malformed_json", operation="repos/get", variant=variant)
    with pytest.raises(MalformedResponse, match="Expected a JSON body from GET"):
        client.get_repo("octocat", "Hello-World")


def test_wrong_schema_body_reaches_the_caller_unchecked(mock, client):
    # The example client checks one key per object, not the schema: a wrong type passes through.
    # (Pinned so a stricter client shows up here; the mock's side is that the body breaks the schema.)
    mock.add_fault("wrong_schema", operation="repos/get", variant="wrong_type")
    repo = client.get_repo("octocat", "Hello-World")
    validator = (
        compiled(mock.engine.contracts.find_operation("repos/get")).catalog.variant("200").media[0].validator
    )
    assert not validator.is_valid(repo)
    mock.add_fault("wrong_schema", operation="users/get-by-username", variant="missing_required")
    with pytest.raises(MalformedResponse, match="a JSON object with 'login'"):
        client.get_user("octocat")  # login is the first required field: the client notices its absence


@pytest.mark.parametrize(
    "fault",
    [{"fault": "drop"}, {"fault": "reset"}, {"fault": "truncated"}, {"fault": "slow", "delay": 3}],
    ids=["drop", "reset", "truncated", "slow-beyond-timeout"],
)
def test_connection_faults_raise_github_connection_error(mock, fault):
    mock.add_fault(operation="repos/get", **fault)
    with (
        GitHubClient("ghp_example", base_url=mock.url, timeout=0.3) as github,
        pytest.raises(GitHubConnectionError, match=r"GET http://127\.0\.0\.1"),
    ):
        github.get_repo("octocat", "Hello-World")


def test_slow_and_dribbled_answers_within_the_timeout_succeed(mock, client):
    mock.add_fault("slow", operation="repos/get", delay=0.1, times=1)
    mock.add_fault("dribble", operation="repos/get", chunk=512, interval=0.02)
    assert client.get_repo("octocat", "Hello-World")["full_name"] == "octocat/Hello-World"
    assert client.get_repo("octocat", "Hello-World")["full_name"] == "octocat/Hello-World"
