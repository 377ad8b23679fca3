"""How the mock turns down a request that breaks the contract, without breaking the contract itself.

The answer is the operation's own error response when the contract declares one, so a client
under test parses exactly what the real API would send (Prism does the same). The status is the
one the violation calls for (400 unparsable, 415 media type, 422 otherwise) when declared, else the
closest declared one: 404 for a path parameter (no such resource), then 422, 400, `4XX`,
`default`, then any other declared 4xx except the authentication and rate-limit ones. What was
wrong travels in the `X-Harness-Violations` header (JSON) and in the journal. Only when the
contract declares no error response at all is the answer the mock's own `application/problem+json`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from harness.compiled import compiled
from harness.contracts import Operation
from harness.http import MockResponse
from harness.responses import NoValidBody, ResponseChoiceError
from harness.validation import Violation
from mock_server.problems import problem

VIOLATIONS_HEADER = "X-Harness-Violations"
_HEADER_LIMIT = 4096
# Declared statuses with a meaning of their own: answering a bad parameter with them would mislead.
_NOT_FOR_VALIDATION = {401, 403, 407, 429}


def error_status(
    declared: Sequence[str], wanted: int, violations: Sequence[Violation]
) -> tuple[str, int] | None:
    """The declared response key and status code that answer `violations`, or None."""
    keys = set(declared)
    candidates: list[int] = [wanted]
    if any(violation.location.startswith("path/") for violation in violations):
        candidates.append(404)
    candidates += [422, 400]
    for code in candidates:
        if str(code) in keys:
            return str(code), code
    if "4XX" in keys:
        return "4XX", wanted
    if "default" in keys:
        return "default", wanted
    others = sorted(
        int(key)
        for key in keys
        if key.isdigit() and key.startswith("4") and int(key) not in _NOT_FOR_VALIDATION
    )
    return (str(others[0]), others[0]) if others else None


def reject(
    operation: Operation, status: int, violations: Sequence[Violation], *, problem_only: bool = False
) -> MockResponse:
    """The contract's error response (or problem+json) for a request with these violations;
    `problem_only` always answers problem+json (`harness mock --problem-errors`)."""
    catalog = compiled(operation).catalog
    chosen = None if problem_only else error_status(catalog.statuses, status, violations)
    response = None
    if chosen is not None:
        try:
            response = catalog.respond(status=chosen[1])
        except (ResponseChoiceError, NoValidBody):
            response = None
    if response is None:
        response = problem(
            status,
            "Request does not match the contract",
            f"{len(violations)} violation(s) of {operation.name}",
            operation=operation.name,
            violations=[violation.as_dict() for violation in violations],
        )
    response.headers.set(VIOLATIONS_HEADER, violations_header(violations))
    return response


def violations_header(violations: Sequence[Violation]) -> str:
    """The violations as compact JSON, cut to fit in a header (ASCII only)."""
    listed = [violation.as_dict() for violation in violations]
    text = json.dumps(listed, separators=(",", ":"))
    while len(text) > _HEADER_LIMIT and len(listed) > 1:
        listed = listed[: len(listed) // 2]
        text = json.dumps([*listed, {"more": len(violations) - len(listed)}], separators=(",", ":"))
    return text[:_HEADER_LIMIT]
