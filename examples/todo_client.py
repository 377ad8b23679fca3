"""A client for the to-do list API (`contracts/todo.yaml`), as a contract-harness user would write it.

Each function makes one request. Pass a `requests.Session` to reuse connections; without one, each
call opens its own. Network failures surface as `requests` exceptions; HTTP errors as `TodoError`.

Example:
    >>> task_id = create_task("Do the laundry", base_url="http://127.0.0.1:5000")  # doctest: +SKIP
    >>> get_task(task_id)["summary"]  # doctest: +SKIP
    'Do the laundry'
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

import requests

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
TIMEOUT_SECONDS = 10


class TaskSummary(TypedDict):
    id: int
    summary: str


class Task(TypedDict):
    id: int
    summary: str
    description: str


class TodoError(Exception):
    """The server answered with a 4xx or 5xx status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class TaskNotFound(TodoError):
    """No task has the requested id (404)."""


def list_tasks(
    *, base_url: str = DEFAULT_BASE_URL, session: requests.Session | None = None
) -> list[TaskSummary]:
    """Return every task's id and summary, oldest first."""
    return cast("list[TaskSummary]", _call("GET", "/tasks/", base_url=base_url, session=session))


def get_task(
    task_id: int, *, base_url: str = DEFAULT_BASE_URL, session: requests.Session | None = None
) -> Task:
    """Return one task; raise `TaskNotFound` if it does not exist."""
    return cast("Task", _call("GET", f"/tasks/{task_id}/", base_url=base_url, session=session))


def create_task(
    summary: str,
    description: str | None = None,
    *,
    base_url: str = DEFAULT_BASE_URL,
    session: requests.Session | None = None,
) -> int:
    """Create a task and return its id."""
    created = _call("POST", "/tasks/", _task_input(summary, description), base_url=base_url, session=session)
    return int(created["id"])


def update_task(
    task_id: int,
    summary: str,
    description: str | None = None,
    *,
    base_url: str = DEFAULT_BASE_URL,
    session: requests.Session | None = None,
) -> Task:
    """Replace a task's summary and description (omitting the description clears it); return the task."""
    body = _task_input(summary, description)
    return cast("Task", _call("PUT", f"/tasks/{task_id}/", body, base_url=base_url, session=session))


def delete_task(
    task_id: int, *, base_url: str = DEFAULT_BASE_URL, session: requests.Session | None = None
) -> None:
    """Delete a task; raise `TaskNotFound` if it does not exist."""
    _call("DELETE", f"/tasks/{task_id}/", base_url=base_url, session=session)


def _task_input(summary: str, description: str | None) -> dict[str, str]:
    body = {"summary": summary}
    if description is not None:
        body["description"] = description
    return body


def _call(
    method: str,
    path: str,
    json_body: dict[str, str] | None = None,
    *,
    base_url: str,
    session: requests.Session | None,
) -> Any:
    url = base_url.rstrip("/") + path
    send = session.request if session is not None else requests.request
    response = send(method, url, json=json_body, timeout=TIMEOUT_SECONDS)
    if response.status_code >= 400:
        error_class = TaskNotFound if response.status_code == 404 else TodoError
        raise error_class(response.status_code, _error_message(response))
    if response.status_code == 204:
        return None
    return response.json()


def _error_message(response: requests.Response) -> str:
    """The contract's `{"message": ...}`, or the raw text when the body is something else (a proxy page)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str):
        return message
    return response.text or response.reason
