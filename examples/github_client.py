"""A small typed GitHub REST client (the subset in `contracts/github.yaml`), as a harness user would write it.

It retries what GitHub asks clients to retry, and nothing else:

* 503 responses, waiting `Retry-After` seconds when given, else `backoff * 2**attempt`;
* rate limits: any 429, and 403s with `X-RateLimit-Remaining: 0`, a `Retry-After` or a "rate limit"
  message. The client waits `Retry-After` seconds, or until `X-RateLimit-Reset` for an exhausted
  primary limit, or a minute for a secondary limit that names no wait (GitHub's advice).

A wait longer than `max_wait` seconds is never slept through: the error is raised at once, so a
script does not hang for an hour on an exhausted quota.

Only `GitHubError` and its subclasses escape: HTTP errors map to typed subclasses, transport failures
(connection refused, timeouts, truncated bodies) to `GitHubConnectionError`, and unusable 2xx bodies to
`MalformedResponse`. Time is injected (`sleep`, `clock`) so tests never wait for real.

Example:
    >>> with GitHubClient(token="ghp_...") as github:  # doctest: +SKIP
    ...     repo = github.get_repo("octocat", "Hello-World")
    ...     print(repo["full_name"], github.rate_limit)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

DEFAULT_BASE_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "contract-harness-example-github-client"
VISIBILITIES = ("all", "public", "private")
REPO_SORTS = ("created", "updated", "pushed", "full_name")
ISSUE_STATES = ("open", "closed", "all")
MAX_PER_PAGE = 100
# GitHub's advice for a secondary rate limit that names no wait: "wait for at least one minute".
SECONDARY_RATE_LIMIT_WAIT = 60.0

JSONObject = dict[str, Any]


# --- Errors ---------------------------------------------------------------------------------------------


class GitHubError(Exception):
    """GitHub answered with an error, or could not be reached. Base of every error this client raises.

    Attributes:
        status: The HTTP status, or None when no response was received.
        message: GitHub's `message`, or a description of what went wrong.
        documentation_url: GitHub's `documentation_url`, when it sent one.
        response_headers: The response headers (empty when no response was received).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        documentation_url: str | None = None,
        response_headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message if status is None else f"{status}: {message}")
        self.status = status
        self.message = message
        self.documentation_url = documentation_url
        self.response_headers: Mapping[str, str] = response_headers if response_headers is not None else {}


class AuthenticationError(GitHubError):
    """401: the token is missing, wrong or expired."""


class ForbiddenError(GitHubError):
    """403 that is not a rate limit: the token lacks a permission or scope."""


class NotFoundError(GitHubError):
    """404: the resource does not exist, or is private and the token cannot see it."""


class ValidationFailed(GitHubError):
    """422: GitHub rejected the request's content; `errors` holds its per-field details."""

    def __init__(self, message: str, *, errors: Sequence[JSONObject] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = list(errors)


class RateLimitExceeded(GitHubError):
    """403 or 429 caused by a primary or secondary rate limit.

    Attributes:
        reset_at: When the primary limit resets (UTC epoch seconds, `X-RateLimit-Reset`), if sent.
        retry_after: How long GitHub asked to wait, in seconds (`Retry-After`), if sent.
    """

    def __init__(
        self, message: str, *, reset_at: int | None, retry_after: float | None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at
        self.retry_after = retry_after


class ServerError(GitHubError):
    """5xx: GitHub failed; 503s are retried before this is raised."""


class MalformedResponse(GitHubError):
    """A 2xx response whose body is not JSON or not the shape the operation promises."""


class GitHubConnectionError(GitHubError):
    """No usable response: connection refused or reset, DNS failure, timeout, truncated body."""


# --- Rate-limit headers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """GitHub's `X-RateLimit-*` headers of one response; a field is None when its header is absent."""

    limit: int | None
    remaining: int | None
    reset: int | None  # UTC epoch seconds
    used: int | None
    resource: str | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """Parse the headers, or return None when the response carries none of them."""
        rate_limit = cls(
            limit=_int_header(headers, "X-RateLimit-Limit"),
            remaining=_int_header(headers, "X-RateLimit-Remaining"),
            reset=_int_header(headers, "X-RateLimit-Reset"),
            used=_int_header(headers, "X-RateLimit-Used"),
            resource=headers.get("X-RateLimit-Resource"),
        )
        if rate_limit == cls(None, None, None, None, None):
            return None
        return rate_limit


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` in seconds; GitHub sends delta-seconds, so an HTTP-date is treated as absent."""
    try:
        seconds = float(headers["Retry-After"])
    except (KeyError, ValueError):
        return None
    return seconds if seconds >= 0 else None


# --- Client ---------------------------------------------------------------------------------------------


class GitHubClient:
    """GitHub REST client with typed errors, retries and rate-limit tracking.

    Args:
        token: A personal access token or app token, sent as `Authorization: token <token>`.
            Without one, requests are anonymous (and rate-limited to 60 per hour by GitHub).
        base_url: The API root; point it at a mock server in tests.
        max_retries: How many times to retry a retryable response (0 disables retries).
        backoff: First exponential backoff delay in seconds, used when GitHub gives no wait time.
        timeout: Connect and read timeout per request, in seconds.
        max_wait: The longest wait, in seconds, the client sleeps through before a retry; when GitHub
            asks for longer (e.g. an hour until the rate limit resets) the error is raised at once.
        sleep: Called with the delay before each retry; inject a fake in tests.
        clock: Returns the current UTC epoch time; compared with `X-RateLimit-Reset`.
        session: A `requests.Session` to send with; the client closes only a session it created.

    Attributes:
        rate_limit: The rate-limit headers of the latest response (None if it had none, or before
            the first request).
    """

    def __init__(
        self,
        token: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        max_retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 10,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}.")
        for name, value in (("max_retries", max_retries), ("backoff", backoff), ("max_wait", max_wait)):
            if value < 0:
                raise ValueError(f"{name} must be zero or more, got {value!r}.")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}.")
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = backoff
        self.timeout = timeout
        self.max_wait = max_wait
        self.rate_limit: RateLimit | None = None
        self._sleep = sleep
        self._clock = clock
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        # Sent per request rather than set on the session, so a caller's session is left untouched.
        self._headers = {
            "Accept": "application/vnd.github+json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Api-Version": API_VERSION,
        }
        if token is not None:
            self._headers["Authorization"] = f"token {token}"

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session if the client created it."""
        if self._owns_session:
            self._session.close()

    # --- Operations ---------------------------------------------------------------------------------------

    def get_authenticated_user(self) -> JSONObject:
        """`GET /user` (users/get-authenticated). Needs a token."""
        return _json_object(self._request("GET", "/user"), "login")

    def list_my_repos(
        self,
        visibility: str | None = None,
        sort: str | None = None,
        per_page: int | None = None,
        page: int | None = None,
    ) -> list[JSONObject]:
        """`GET /user/repos` (repos/list-for-authenticated-user): a page of the token owner's repositories."""
        _check_choice("visibility", visibility, VISIBILITIES)
        _check_choice("sort", sort, REPO_SORTS)
        params = {"visibility": visibility, "sort": sort, **_page_params(per_page, page)}
        return _json_list(self._request("GET", "/user/repos", params=params), "full_name")

    def get_user(self, username: str) -> JSONObject:
        """`GET /users/{username}` (users/get-by-username)."""
        return _json_object(self._request("GET", f"/users/{_segment(username)}"), "login")

    def get_repo(self, owner: str, repo: str) -> JSONObject:
        """`GET /repos/{owner}/{repo}` (repos/get)."""
        return _json_object(self._request("GET", f"/repos/{_segment(owner)}/{_segment(repo)}"), "full_name")

    def list_issues(
        self,
        owner: str,
        repo: str,
        state: str | None = None,
        labels: str | Sequence[str] | None = None,
        per_page: int | None = None,
        page: int | None = None,
    ) -> list[JSONObject]:
        """`GET /repos/{owner}/{repo}/issues` (issues/list-for-repo). Pull requests are listed too.

        `labels` is a list of names or GitHub's comma-separated string; issues must carry all of them.
        """
        _check_choice("state", state, ISSUE_STATES)
        if labels is not None and not isinstance(labels, str):
            labels = ",".join(labels)
        params = {"state": state, "labels": labels, **_page_params(per_page, page)}
        path = f"/repos/{_segment(owner)}/{_segment(repo)}/issues"
        return _json_list(self._request("GET", path, params=params), "number")

    def create_issue(
        self,
        owner: str,
        repo: str,
        title: str,
        body: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> JSONObject:
        """`POST /repos/{owner}/{repo}/issues` (issues/create). Needs a token; returns the new issue."""
        payload: JSONObject = {"title": title}
        if body is not None:
            payload["body"] = body
        if labels is not None:
            payload["labels"] = list(labels)
        path = f"/repos/{_segment(owner)}/{_segment(repo)}/issues"
        return _json_object(self._request("POST", path, json_body=payload), "number")

    # --- Transport --------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | None] | None = None,
        json_body: JSONObject | None = None,
    ) -> requests.Response:
        """Send, retrying as documented in the module docstring; return the 2xx response."""
        query = {name: value for name, value in (params or {}).items() if value is not None}
        attempt = 0
        while True:
            response = self._send(method, self.base_url + path, query, json_body)
            self.rate_limit = RateLimit.from_headers(response.headers)
            if 200 <= response.status_code < 300:
                return response
            error = _error_from(response)
            delay = self._retry_delay(response, error, attempt)
            if delay is None or attempt >= self.max_retries:
                raise error
            self._sleep(delay)
            attempt += 1

    def _send(
        self, method: str, url: str, query: Mapping[str, str | int], json_body: JSONObject | None
    ) -> requests.Response:
        try:
            return self._session.request(
                method, url, params=query, json=json_body, headers=self._headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            # Timeout, ConnectionError, ChunkedEncodingError (truncated body), TooManyRedirects...
            raise GitHubConnectionError(f"{method} {url} failed: {exc}") from exc

    def _retry_delay(self, response: requests.Response, error: GitHubError, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the error must be raised now."""
        if isinstance(error, RateLimitExceeded):
            if error.retry_after is not None:
                delay = error.retry_after
            elif error.reset_at is not None and _int_header(response.headers, "X-RateLimit-Remaining") == 0:
                delay = max(0.0, error.reset_at - self._clock())
            else:
                delay = max(SECONDARY_RATE_LIMIT_WAIT, self.backoff * 2**attempt)
        elif response.status_code == 503:
            retry_after = _retry_after_seconds(response.headers)
            delay = retry_after if retry_after is not None else self.backoff * 2**attempt
        else:
            return None
        return delay if delay <= self.max_wait else None


# --- Helpers --------------------------------------------------------------------------------------------


def _segment(value: str) -> str:
    """Quote a path parameter so `a/b` or `..` cannot change which endpoint is called."""
    if value in ("", ".", ".."):
        raise ValueError(f"{value!r} is not a valid path segment.")
    return quote(value, safe="")


def _check_choice(name: str, value: str | None, choices: Sequence[str]) -> None:
    if value is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}.")


def _page_params(per_page: int | None, page: int | None) -> dict[str, int | None]:
    if per_page is not None and not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page!r}.")
    if page is not None and page < 1:
        raise ValueError(f"page must be 1 or more, got {page!r}.")
    return {"per_page": per_page, "page": page}


def _is_rate_limited(response: requests.Response, message: str) -> bool:
    # GitHub signals primary and secondary limits with 403 or 429; the headers (or, for some secondary
    # limits, only the message) tell a rate limit from a plain permission error.
    if response.status_code == 429:
        return True
    return response.status_code == 403 and (
        _int_header(response.headers, "X-RateLimit-Remaining") == 0
        or "Retry-After" in response.headers
        or "rate limit" in message.lower()
    )


def _error_from(response: requests.Response) -> GitHubError:
    """Map an error response to the most specific `GitHubError`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    message = body.get("message")
    if not isinstance(message, str):
        message = response.reason or "HTTP error"
    documentation_url = body.get("documentation_url")
    common: dict[str, Any] = {
        "status": response.status_code,
        "documentation_url": documentation_url if isinstance(documentation_url, str) else None,
        "response_headers": response.headers.copy(),
    }
    status = response.status_code
    if _is_rate_limited(response, message):
        return RateLimitExceeded(
            message,
            reset_at=_int_header(response.headers, "X-RateLimit-Reset"),
            retry_after=_retry_after_seconds(response.headers),
            **common,
        )
    if status == 401:
        return AuthenticationError(message, **common)
    if status == 403:
        return ForbiddenError(message, **common)
    if status == 404:
        return NotFoundError(message, **common)
    if status == 422:
        errors = body.get("errors")
        details = [item for item in errors if isinstance(item, dict)] if isinstance(errors, list) else []
        return ValidationFailed(message, errors=details, **common)
    if status >= 500:
        return ServerError(message, **common)
    return GitHubError(message, **common)


def _json_object(response: requests.Response, key: str) -> JSONObject:
    """The body as a JSON object holding `key`, or `MalformedResponse`."""
    data = _decode_json(response)
    if not isinstance(data, dict) or key not in data:
        raise _malformed(response, f"a JSON object with {key!r}", data)
    return data


def _json_list(response: requests.Response, key: str) -> list[JSONObject]:
    """The body as a JSON array of objects that each hold `key`, or `MalformedResponse`."""
    data = _decode_json(response)
    if not isinstance(data, list) or not all(isinstance(item, dict) and key in item for item in data):
        raise _malformed(response, f"a JSON array of objects with {key!r}", data)
    return data


def _decode_json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:  # requests' JSONDecodeError, and bodies that are not even text
        raise _malformed(response, "a JSON body", response.text) from exc


def _malformed(response: requests.Response, expected: str, got: Any) -> MalformedResponse:
    return MalformedResponse(
        f"Expected {expected} from {response.request.method} {response.url}, got {str(got)[:80]!r}.",
        status=response.status_code,
        response_headers=response.headers.copy(),
    )
