"""The example to-do client against the example server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from examples import todo_client
from examples.todo_client import TaskNotFound, TodoError
from examples.todo_server import create_app


@pytest.fixture
def base_url(serve_app: Callable[..., str]) -> str:
    return serve_app(create_app())


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def test_full_lifecycle_of_a_task(base_url: str, session: requests.Session) -> None:
    # When
    task_id = todo_client.create_task("Do the laundry", "Whites", base_url=base_url, session=session)
    updated = todo_client.update_task(task_id, "Do the laundry (done)", base_url=base_url, session=session)

    # Then
    assert task_id == 1
    assert updated == {"id": 1, "summary": "Do the laundry (done)", "description": ""}
    assert todo_client.get_task(task_id, base_url=base_url, session=session) == updated
    assert todo_client.list_tasks(base_url=base_url, session=session) == [
        {"id": 1, "summary": "Do the laundry (done)"}
    ]
    todo_client.delete_task(task_id, base_url=base_url, session=session)
    assert todo_client.list_tasks(base_url=base_url, session=session) == []


def test_works_without_a_session(base_url: str) -> None:
    task_id = todo_client.create_task("Water the plants", base_url=base_url)

    assert todo_client.get_task(task_id, base_url=base_url) == {
        "id": task_id,
        "summary": "Water the plants",
        "description": "",
    }


def test_trailing_slash_in_base_url_is_tolerated(base_url: str) -> None:
    assert todo_client.list_tasks(base_url=base_url + "/") == []


@pytest.mark.parametrize(
    "call",
    [
        lambda url: todo_client.get_task(7, base_url=url),
        lambda url: todo_client.update_task(7, "x", base_url=url),
        lambda url: todo_client.delete_task(7, base_url=url),
    ],
    ids=["get", "update", "delete"],
)
def test_unknown_task_raises_task_not_found(base_url: str, call: Callable[[str], object]) -> None:
    with pytest.raises(TaskNotFound) as excinfo:
        call(base_url)

    assert (excinfo.value.status, excinfo.value.message) == (404, "Task 7 does not exist.")


def test_invalid_summary_raises_todo_error_with_the_server_message(base_url: str) -> None:
    with pytest.raises(TodoError) as excinfo:
        todo_client.create_task("two\nlines", base_url=base_url)

    assert not isinstance(excinfo.value, TaskNotFound)
    assert excinfo.value.status == 422
    assert excinfo.value.message == "'summary' must be a single line (no line breaks)."
    assert str(excinfo.value) == "422: 'summary' must be a single line (no line breaks)."


def test_non_json_error_body_falls_back_to_the_text(serve_app: Callable[..., str]) -> None:
    def bad_gateway(environ: object, start_response: Callable[..., object]) -> list[bytes]:
        start_response("502 Bad Gateway", [("Content-Type", "text/html")])
        return [b"<h1>upstream down</h1>"]

    with pytest.raises(TodoError) as excinfo:
        todo_client.list_tasks(base_url=serve_app(bad_gateway))

    assert (excinfo.value.status, excinfo.value.message) == (502, "<h1>upstream down</h1>")
