"""An in-memory Flask server that implements `contracts/todo.yaml` exactly.

Run it with `flask --app examples.todo_server run` (port 5000, the contract's server URL).
It also serves its own contract at `GET /openapi.yaml`, so schemathesis can load it from the app:
`schemathesis.openapi.from_wsgi("/openapi.yaml", create_app())`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException, NotFound, UnprocessableEntity
from werkzeug.wrappers import Response as WerkzeugResponse

CONTRACT_PATH = Path(__file__).resolve().parents[1] / "contracts" / "todo.yaml"
SUMMARY_MAX_LENGTH = 119  # the contract says "under 120 characters"
TASK_INPUT_FIELDS = ("summary", "description")


@dataclass
class Task:
    id: int
    summary: str
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "summary": self.summary, "description": self.description}

    def as_summary(self) -> dict[str, Any]:
        return {"id": self.id, "summary": self.summary}


class TaskStore:
    """Tasks kept in memory, safe to share between request threads.

    Ids start at 1 and are never reused, even after a delete, so a stale id cannot reach a new task.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[int, Task] = {}
        self._next_id = 1

    def clear(self) -> None:
        """Forget every task and restart ids at 1, e.g. between test cases."""
        with self._lock:
            self._tasks.clear()
            self._next_id = 1

    def all_tasks(self) -> list[Task]:
        with self._lock:
            return list(self._tasks.values())

    def get(self, task_id: int) -> Task | None:
        with self._lock:
            return self._tasks.get(task_id)

    def create(self, summary: str, description: str) -> Task:
        with self._lock:
            task = Task(id=self._next_id, summary=summary, description=description)
            self._tasks[task.id] = task
            self._next_id += 1
            return task

    def update(self, task_id: int, summary: str, description: str) -> Task | None:
        with self._lock:
            if task_id not in self._tasks:
                return None
            task = Task(id=task_id, summary=summary, description=description)
            self._tasks[task_id] = task
            return task

    def delete(self, task_id: int) -> bool:
        with self._lock:
            return self._tasks.pop(task_id, None) is not None


def parse_task_input(raw_body: bytes) -> tuple[str, str]:
    """Return `(summary, description)` from a TaskInput body, or raise the contract's 400/422 errors."""
    try:
        body = json.loads(raw_body)
    except ValueError:  # covers JSONDecodeError and undecodable bytes
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise UnprocessableEntity(f"The request body must be a JSON object, got {type(body).__name__}.")
    unknown = sorted(set(body) - set(TASK_INPUT_FIELDS))
    if unknown:
        raise UnprocessableEntity(
            f"Unknown field(s): {', '.join(map(repr, unknown))}. "
            f"Allowed fields: {', '.join(map(repr, TASK_INPUT_FIELDS))}."
        )
    if "summary" not in body:
        raise UnprocessableEntity("'summary' is required.")
    summary = body["summary"]
    if not isinstance(summary, str):
        raise UnprocessableEntity(f"'summary' must be a string, got {type(summary).__name__}.")
    if len(summary) > SUMMARY_MAX_LENGTH:
        raise UnprocessableEntity(f"'summary' must be under 120 characters (got {len(summary)}).")
    if "\n" in summary or "\r" in summary:
        raise UnprocessableEntity("'summary' must be a single line (no line breaks).")
    description = body.get("description", "")
    if not isinstance(description, str):
        raise UnprocessableEntity(f"'description' must be a string, got {type(description).__name__}.")
    return summary, description


def _task_not_found(task_id: int) -> NotFound:
    return NotFound(f"Task {task_id} does not exist.")


def create_app(store: TaskStore | None = None) -> Flask:
    """Build a to-do server with its own (empty unless given) task store."""
    app = Flask(__name__)
    tasks = store if store is not None else TaskStore()

    @app.errorhandler(HTTPException)
    def render_http_error(error: HTTPException) -> WerkzeugResponse:
        # Every error, including Flask's own 404/405, answers with the contract's Error body.
        # Start from werkzeug's response to keep headers such as a 405's `Allow`.
        response = error.get_response()
        response.set_data(json.dumps({"message": error.description}))
        response.content_type = "application/json"
        return response

    @app.get("/tasks/")
    def list_tasks() -> Response:
        return jsonify([task.as_summary() for task in tasks.all_tasks()])

    @app.post("/tasks/")
    def create_task() -> tuple[Response, int]:
        summary, description = parse_task_input(request.get_data())
        task = tasks.create(summary, description)
        return jsonify(id=task.id), 201

    @app.get("/tasks/<int:task_id>/")
    def get_task(task_id: int) -> Response:
        task = tasks.get(task_id)
        if task is None:
            raise _task_not_found(task_id)
        return jsonify(task.as_dict())

    @app.put("/tasks/<int:task_id>/")
    def update_task(task_id: int) -> Response:
        # A missing task is reported before a bad body: the resource is the first thing that is wrong.
        if tasks.get(task_id) is None:
            raise _task_not_found(task_id)
        summary, description = parse_task_input(request.get_data())
        task = tasks.update(task_id, summary, description)
        if task is None:  # deleted by another request in the meantime
            raise _task_not_found(task_id)
        return jsonify(task.as_dict())

    @app.delete("/tasks/<int:task_id>/")
    def delete_task(task_id: int) -> Response:
        if not tasks.delete(task_id):
            raise _task_not_found(task_id)
        deleted = Response(status=204)
        del deleted.headers["Content-Type"]  # the 204 has no body, so no media type either
        return deleted

    @app.get("/openapi.yaml")
    def contract() -> Response:
        return Response(CONTRACT_PATH.read_bytes(), mimetype="application/yaml")

    return app


app = create_app()
