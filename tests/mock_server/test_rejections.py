"""Which declared response turns down a request that breaks the contract."""

from __future__ import annotations

import json

import pytest

from harness.validation import Violation
from mock_server.rejections import error_status, violations_header

BODY = [Violation("body/summary", "maxLength", "too long", "xxx")]
PATH = [Violation("path/id", "minimum", "0 is less than 1", "0")]


@pytest.mark.parametrize(
    ("declared", "wanted", "violations", "chosen"),
    [
        (["201", "400", "422"], 422, BODY, ("422", 422)),
        (["201", "400", "422"], 400, BODY, ("400", 400)),
        (["201", "400"], 422, BODY, ("400", 400)),
        (["200", "404"], 422, PATH, ("404", 404)),
        (["200", "404"], 422, BODY, ("404", 404)),
        (["200", "4XX"], 415, BODY, ("4XX", 415)),
        (["200", "default"], 422, BODY, ("default", 422)),
        (["200", "409"], 422, BODY, ("409", 409)),
        (["200", "401", "403", "429"], 422, BODY, None),
        (["200"], 422, BODY, None),
    ],
    ids=[
        "wanted-declared",
        "unparsable-400",
        "fallback-400",
        "bad-path-is-not-found",
        "only-404-declared",
        "4XX-range",
        "default",
        "any-other-4xx",
        "never-auth-or-rate-limit",
        "none",
    ],
)
def test_the_status_that_answers_a_violation(declared, wanted, violations, chosen):
    assert error_status(declared, wanted, violations) == chosen


def test_the_violations_header_is_ascii_json_cut_to_a_header_size():
    many = [Violation(f"body/items/{i}", "type", "é" * 50, "x" * 60) for i in range(200)]

    header = violations_header(many)

    assert header.isascii() and len(header) <= 4096
    listed = json.loads(header)
    assert listed[0]["location"] == "body/items/0"
    assert listed[-1] == {"more": 200 - (len(listed) - 1)}
