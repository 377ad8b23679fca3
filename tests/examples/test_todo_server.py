"""The example to-do server implements contracts/todo.yaml: every operation and every error path."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from examples.todo_server import Task, TaskStore, create_app

CONTRACT_PATH = Path(__file__).resolve().parents[2] / "contracts" / "todo.yaml"


@pytest.fixture
def app() -> Flask:
    return create_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def create(client: FlaskClient, body: dict[str, Any]) -> int:
    response = client.post("/tasks/", json=body)
    assert response.status_code == 201, response.get_json()
    task_id: int = response.get_json()["id"]
    return task_id


# --- listTasks ---------------------------------------------------------------------------------------


def test_list_is_empty_on_a_fresh_server(client: FlaskClient) -> None:
    response = client.get("/tasks/")

    assert response.status_code == 200
    assert response.get_json() == []


def test_list_shows_id_and_summary_only_in_creation_order(client: FlaskClient) -> None:
    create(client, {"summary": "Do the laundry", "description": "Whites at 60°C"})
    create(client, {"summary": "Water the plants"})

    response = client.get("/tasks/")

    assert response.get_json() == [
        {"id": 1, "summary": "Do the laundry"},
        {"id": 2, "summary": "Water the plants"},
    ]


# --- createTask / getTask ----------------------------------------------------------------------------


def test_create_returns_201_with_incremental_ids(client: FlaskClient) -> None:
    first = client.post("/tasks/", json={"summary": "first"})
    second = client.post("/tasks/", json={"summary": "second"})

    assert (first.status_code, first.get_json()) == (201, {"id": 1})
    assert (second.status_code, second.get_json()) == (201, {"id": 2})


def test_created_task_can_be_read_back(client: FlaskClient) -> None:
    task_id = create(client, {"summary": "Do the laundry", "description": "Whites at 60°C"})

    response = client.get(f"/tasks/{task_id}/")

    assert response.status_code == 200
    assert response.get_json() == {
        "id": task_id,
        "summary": "Do the laundry",
        "description": "Whites at 60°C",
    }


def test_description_defaults_to_empty_string(client: FlaskClient) -> None:
    task_id = create(client, {"summary": "Water the plants"})

    assert client.get(f"/tasks/{task_id}/").get_json()["description"] == ""


def test_summary_of_119_characters_is_accepted(client: FlaskClient) -> None:
    summary = "x" * 119

    task_id = create(client, {"summary": summary})

    assert client.get(f"/tasks/{task_id}/").get_json()["summary"] == summary


def test_description_may_span_several_lines(client: FlaskClient) -> None:
    task_id = create(client, {"summary": "Shopping", "description": "milk\nbread\r\neggs"})

    assert client.get(f"/tasks/{task_id}/").get_json()["description"] == "milk\nbread\r\neggs"


# --- updateTask ----------------------------------------------------------------------------------------


def test_update_replaces_summary_and_description(client: FlaskClient) -> None:
    task_id = create(client, {"summary": "Do the laundry", "description": "Whites"})

    response = client.put(
        f"/tasks/{task_id}/", json={"summary": "Do the laundry (done)", "description": "All"}
    )

    assert response.status_code == 200
    expected = {"id": task_id, "summary": "Do the laundry (done)", "description": "All"}
    assert response.get_json() == expected
    assert client.get(f"/tasks/{task_id}/").get_json() == expected


def test_update_without_description_resets_it(client: FlaskClient) -> None:
    task_id = create(client, {"summary": "Do the laundry", "description": "Whites"})

    response = client.put(f"/tasks/{task_id}/", json={"summary": "Do the laundry"})

    assert response.get_json()["description"] == ""


# --- deleteTask ----------------------------------------------------------------------------------------


def test_delete_returns_204_with_an_empty_body(client: FlaskClient) -> None:
    task_id = create(client, {"summary": "Do the laundry"})

    response = client.delete(f"/tasks/{task_id}/")

    assert response.status_code == 204
    assert response.data == b""
    assert "Content-Type" not in response.headers


def test_deleted_task_is_gone(client: FlaskClient) -> None:
    task_id = create(client, {"summary": "Do the laundry"})

    client.delete(f"/tasks/{task_id}/")

    assert client.get(f"/tasks/{task_id}/").status_code == 404
    assert client.get("/tasks/").get_json() == []


def test_ids_are_not_reused_after_a_delete(client: FlaskClient) -> None:
    first = create(client, {"summary": "first"})
    client.delete(f"/tasks/{first}/")

    assert create(client, {"summary": "second"}) == first + 1


# --- 404 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_task_id_is_404_with_a_message(client: FlaskClient, method: str) -> None:
    response = client.open("/tasks/42/", method=method, json={"summary": "anything"})

    assert response.status_code == 404
    assert response.get_json() == {"message": "Task 42 does not exist."}


@pytest.mark.parametrize("path", ["/tasks/0/", "/tasks/-1/", "/tasks/abc/", "/nowhere"], ids=str)
def test_ids_outside_the_contract_and_unknown_paths_are_404_json(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response.is_json
    assert isinstance(response.get_json()["message"], str)


def test_unsupported_method_is_405_json_with_allow_header(client: FlaskClient) -> None:
    response = client.patch("/tasks/")

    assert response.status_code == 405
    assert response.get_json() == {"message": "The method is not allowed for the requested URL."}
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_update_of_unknown_task_is_404_even_with_an_invalid_body(client: FlaskClient) -> None:
    response = client.put("/tasks/42/", json={"summary": 1})

    assert response.status_code == 404


# --- 400 / 422 on POST and PUT -----------------------------------------------------------------------

INVALID_BODIES = [
    pytest.param({}, "'summary' is required.", id="summary-missing"),
    pytest.param({"description": "x"}, "'summary' is required.", id="only-description"),
    pytest.param({"summary": 42}, "'summary' must be a string, got int.", id="summary-int"),
    pytest.param({"summary": None}, "'summary' must be a string, got NoneType.", id="summary-null"),
    pytest.param(
        {"summary": "x" * 120}, "'summary' must be under 120 characters (got 120).", id="summary-120-chars"
    ),
    pytest.param(
        {"summary": "a\nb"}, "'summary' must be a single line (no line breaks).", id="summary-newline"
    ),
    pytest.param({"summary": "a\rb"}, "'summary' must be a single line (no line breaks).", id="summary-cr"),
    pytest.param(
        {"summary": "trailing\n"},
        "'summary' must be a single line (no line breaks).",
        id="summary-trailing-lf",
    ),
    pytest.param(
        {"summary": "x", "description": None},
        "'description' must be a string, got NoneType.",
        id="description-null",
    ),
    pytest.param(
        {"summary": "x", "description": 5}, "'description' must be a string, got int.", id="description-int"
    ),
    pytest.param(
        {"summary": "x", "priority": 1},
        "Unknown field(s): 'priority'. Allowed fields: 'summary', 'description'.",
        id="unknown-field",
    ),
    pytest.param(["summary"], "The request body must be a JSON object, got list.", id="array-body"),
    pytest.param("summary", "The request body must be a JSON object, got str.", id="string-body"),
]


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize(("body", "message"), INVALID_BODIES)
def test_invalid_body_is_422_with_a_message(
    client: FlaskClient, method: str, body: Any, message: str
) -> None:
    task_id = create(client, {"summary": "existing"})
    path = "/tasks/" if method == "POST" else f"/tasks/{task_id}/"

    response = client.open(path, method=method, json=body)

    assert response.status_code == 422
    assert response.get_json() == {"message": message}
    assert client.get(f"/tasks/{task_id}/").get_json()["summary"] == "existing", "nothing was changed"


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("raw", [b"{", b"", b"\xff\xfe\xfd", b"{'summary': 'x'}"], ids=repr)
def test_unparseable_body_is_400(client: FlaskClient, method: str, raw: bytes) -> None:
    task_id = create(client, {"summary": "existing"})
    path = "/tasks/" if method == "POST" else f"/tasks/{task_id}/"

    response = client.open(path, method=method, data=raw, content_type="application/json")

    assert response.status_code == 400
    assert response.get_json() == {"message": "The request body is not valid JSON."}


# --- The store -----------------------------------------------------------------------------------------


def test_concurrent_creates_get_distinct_consecutive_ids() -> None:
    store = TaskStore()
    created: list[Task] = []
    lock = threading.Lock()

    def create_many() -> None:
        for _ in range(100):
            task = store.create("x", "")
            with lock:
                created.append(task)

    threads = [threading.Thread(target=create_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(task.id for task in created) == list(range(1, 801))


# --- The served contract and conformance ---------------------------------------------------------------


def test_server_serves_its_own_contract(client: FlaskClient) -> None:
    response = client.get("/openapi.yaml")

    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert yaml.safe_load(response.data) == yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))


# schemathesis loads the contract from the app itself, then runs examples, coverage and fuzzing cases
# (positive and negative) with every check. This is also how a user would test their own server.
contract = schemathesis.openapi.from_wsgi("/openapi.yaml", create_app())
contract.config.generation.update(max_examples=20)


@contract.parametrize()
def test_server_conforms_to_its_contract(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate()


STATEFUL_SETTINGS = settings(
    max_examples=30, stateful_step_count=6, deadline=None, database=None, derandomize=True, print_blob=False
)


def run_stateful(store: TaskStore) -> None:
    """Follow the contract's links: create a task, then read, update or delete it."""
    schema = schemathesis.openapi.from_wsgi("/openapi.yaml", create_app(store))

    class TodoWorkflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each scenario starts from an empty list; leftovers make Hypothesis' replays diverge.
            store.clear()

    run_state_machine_as_test(TodoWorkflow, settings=STATEFUL_SETTINGS)  # type: ignore[no-untyped-call]


def test_stateful_sequences_conform_to_the_contract() -> None:
    run_stateful(TaskStore())


class OffByOneStore(TaskStore):
    """A buggy store: create reports the id of the next task instead of the new one."""

    def create(self, summary: str, description: str) -> Task:
        task = super().create(summary, description)
        return Task(task.id + 1, task.summary, task.description)


def test_stateful_run_catches_a_server_that_misreports_created_ids() -> None:
    # Guards the stateful test above against passing vacuously (e.g. if the links stopped resolving):
    # only following the POST -> GET link reveals this bug.
    with pytest.raises(AssertionError, match="Created resource not found"):
        try:
            run_stateful(OffByOneStore())
        except BaseExceptionGroup as group:  # schemathesis' FailureGroup is not an Exception
            raise AssertionError(str(group)) from group
