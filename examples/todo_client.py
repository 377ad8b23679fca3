"""A client for the to-do list API (`contracts/todo.yaml`), as a contract-harness user would write it.

Each function makes one request. Pass a `requests.Session` to reuse connections; without one, each
call opens its own. Every failure surfaces as a `TodoError`: HTTP errors, network failures
(`TodoConnectionError`) and answers that are not what the contract promises (`MalformedResponse`).

Example:
    >>> task_id = create_task("Do the laundry", base_url="http://127.0.0.1:5000")  # doctest: +SKIP
    >>> get_task(task_id)["summary"]  # doctest: +SKIP
    'Do the laundry'
"""

from __future__ import annotations

import json
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


class TodoConnectionError(TodoError):
    """No complete answer arrived: the connection failed, was reset, or timed out."""

    def __init__(self, reason: BaseException) -> None:
        super().__init__(0, f"no complete answer from the server: {reason}")


class MalformedResponse(TodoError):
    """A success status with a body that is not the JSON the contract promises."""


def list_tasks(
    *, base_url: str = DEFAULT_BASE_URL, session: requests.Session | None = None
) -> list[TaskSummary]:
    """Return every task's id and summary, oldest first."""
    tasks = _call("GET", "/tasks/", base_url=base_url, session=session)
    if not isinstance(tasks, list):
        raise MalformedResponse(200, f"expected a list of tasks, got {type(tasks).__name__}")
    return [cast("TaskSummary", _expect(task, _SUMMARY_FIELDS)) for task in tasks]


def get_task(
    task_id: int, *, base_url: str = DEFAULT_BASE_URL, session: requests.Session | None = None
) -> Task:
    """Return one task; raise `TaskNotFound` if it does not exist."""
    return cast(
        "Task", _expect(_call("GET", f"/tasks/{task_id}/", base_url=base_url, session=session), _TASK_FIELDS)
    )


def create_task(
    summary: str,
    description: str | None = None,
    *,
    base_url: str = DEFAULT_BASE_URL,
    session: requests.Session | None = None,
) -> int:
    """Create a task and return its id."""
    created = _call("POST", "/tasks/", _task_input(summary, description), base_url=base_url, session=session)
    return int(_expect(created, {"id": int})["id"])


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
    updated = _call("PUT", f"/tasks/{task_id}/", body, base_url=base_url, session=session)
    return cast("Task", _expect(updated, _TASK_FIELDS))


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
    try:
        response = send(method, url, json=json_body, timeout=TIMEOUT_SECONDS)
        content = response.content  # read it all here, so a cut-off body fails inside the try
    except requests.RequestException as exc:
        raise TodoConnectionError(exc) from exc
    if response.status_code >= 400:
        error_class = TaskNotFound if response.status_code == 404 else TodoError
        raise error_class(response.status_code, _error_message(response))
    if response.status_code == 204:
        return None
    try:
        return json.loads(content)
    except ValueError as exc:  # JSONDecodeError and invalid UTF-8 both
        raise MalformedResponse(response.status_code, f"the body is not JSON: {exc}") from exc


_SUMMARY_FIELDS: dict[str, type] = {"id": int, "summary": str}
_TASK_FIELDS: dict[str, type] = {"id": int, "summary": str, "description": str}


def _expect(body: Any, fields: dict[str, type]) -> dict[str, Any]:
    """The body if it is an object with these fields of these types, else `MalformedResponse`."""
    if not isinstance(body, dict):
        raise MalformedResponse(200, f"expected an object, got {type(body).__name__}")
    for name, kind in fields.items():
        value = body.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise MalformedResponse(200, f"field {name!r} should be a {kind.__name__}, got {value!r}")
    return body


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
