"""The admin API for simulated failures: fault rules, the clock, token scopes, rate limits.

POST   /__harness/faults       {"fault": "unavailable", "operation": "repos/get", "times": 2}
GET    /__harness/faults       the rules, with how many requests each has seen and failed
DELETE /__harness/faults       clear every rule (DELETE /__harness/faults/<id>: one)
GET    /__harness/clock        {"now": epoch seconds, "offset": seconds}
POST   /__harness/clock        {"advance": 3600} or {"now": 1700000000}
GET    /__harness/tokens       token -> granted scopes;  POST {"token": "t", "scopes": ["repo"]}
GET    /__harness/rate-limits  the rate-limit policy of every limited operation
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from harness.errors import FaultError
from harness.faults import FAULT_NAMES, OPTIONS
from mock_server.engine import MockEngine
from mock_server.problems import problem

fault_admin = Blueprint("harness_fault_admin", __name__, url_prefix="/__harness")


def _engine() -> MockEngine:
    engine: MockEngine = current_app.extensions["harness"]
    return engine


def _problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    answer = problem(status, title, detail, **extra)
    return Response(answer.body, status=status, content_type="application/problem+json")


def _json_body() -> Any:
    data = request.get_json(silent=True)
    if data is None:
        raise FaultError("the request body must be JSON (Content-Type: application/json)")
    return data


@fault_admin.get("/faults")
def list_faults() -> Any:
    return jsonify(
        faults=_engine().faults.book.listing(),
        catalogue={name: sorted(OPTIONS[fault]) for name, fault in zip(FAULT_NAMES, OPTIONS, strict=True)},
    )


@fault_admin.post("/faults")
def add_faults() -> Any:
    try:
        data = _json_body()
        rules = data if isinstance(data, list) else [data]
        book = _engine().faults.book
        from harness.faults import FaultRule

        parsed = [FaultRule.from_dict(rule, _engine().contracts) for rule in rules]  # all or none
        added = book.install(parsed)
    except FaultError as exc:
        return _problem(422, "Invalid fault rule", str(exc), choices=exc.choices)
    return jsonify(faults=[rule.as_dict() for rule in added]), 201


@fault_admin.delete("/faults")
def clear_faults() -> Any:
    _engine().faults.book.clear()
    return jsonify(status="cleared")


@fault_admin.delete("/faults/<int:rule_id>")
def remove_fault(rule_id: int) -> Any:
    if not _engine().faults.book.remove(rule_id):
        ids = [str(rule.id) for rule in _engine().faults.book.rules()]
        return _problem(
            404, "No such fault rule", f"no fault rule {rule_id}; rules: {', '.join(ids) or 'none'}"
        )
    return jsonify(status="removed", id=rule_id)


def _clock_state() -> dict[str, float]:
    clock = _engine().clock
    return {"now": round(clock.now(), 3), "offset": round(clock.offset, 3)}


@fault_admin.get("/clock")
def get_clock() -> Any:
    return jsonify(_clock_state())


@fault_admin.post("/clock")
def move_clock() -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        data = {}
    valid = len(data) == 1 and next(iter(data)) in ("advance", "now")
    value = next(iter(data.values())) if valid else None
    if not valid or isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _problem(
            422,
            "Invalid clock change",
            'send {"advance": seconds} or {"now": epoch seconds}, with a number',
            choices=["advance", "now"],
        )
    clock = _engine().clock
    if "advance" in data:
        clock.advance(value)
    else:
        clock.set(value)
    return jsonify(_clock_state())


@fault_admin.get("/tokens")
def list_tokens() -> Any:
    return jsonify(tokens=_engine().faults.grants.listing())


@fault_admin.post("/tokens")
def grant_token() -> Any:
    data = request.get_json(silent=True)
    token = data.get("token") if isinstance(data, dict) else None
    scopes = data.get("scopes") if isinstance(data, dict) else None
    if (
        not isinstance(token, str)
        or not token
        or not isinstance(scopes, list)
        or not all(isinstance(scope, str) for scope in scopes)
    ):
        return _problem(422, "Invalid token grant", 'send {"token": "<token>", "scopes": ["scope", ...]}')
    _engine().faults.grants.grant(token, scopes)
    return jsonify(token=token, scopes=scopes), 201


@fault_admin.get("/rate-limits")
def rate_limits() -> Any:
    engine = _engine()
    return jsonify(policies=engine.faults.rate_limits.listing(engine.contracts))
