"""examples/todo_server.py with three planted bugs, for the tests of `harness verify`.

1. Creating a task with a long but valid summary (over 100 characters) is a 500.
2. Reading a task answers without its required `description`.
3. Deleting a task answers 204 but deletes nothing.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request

from examples.todo_server import TaskStore
from examples.todo_server import create_app as create_todo_app


class BuggyStore(TaskStore):
    def create(self, summary: str, description: str):
        if len(summary) > 100:  # bug 1: the column is 100 characters, the contract allows 119
            raise OverflowError("summary does not fit in VARCHAR(100)")
        return super().create(summary, description)

    def delete(self, task_id: int) -> bool:
        return self.get(task_id) is not None  # bug 3: says it deleted, deletes nothing


def create_app() -> Flask:
    app = create_todo_app(BuggyStore())

    @app.after_request
    def drop_description(response: Response) -> Response:
        # bug 2: getTask forgets a required field
        if request.method == "GET" and request.endpoint == "get_task" and response.status_code == 200:
            task = response.get_json()
            task.pop("description", None)
            response.set_data(json.dumps(task))
        return response

    return app


app = create_app()
