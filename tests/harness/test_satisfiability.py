"""Responses no value satisfies are found when the contract loads, with their pointer and why."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from harness.contracts import load_contract
from harness.errors import ContractError
from harness.satisfiability import empty_responses
from mock_server import create_app
from tests.conftest import GITHUB, ROOT, TODO, corpus_contract

NEVER = {"type": "integer", "minimum": 3, "maximum": 1}
BODY = "/paths/~1things/get/responses/200/content/application~1json/schema"


def contract_with(tmp_path, schema, *, version="3.0.3", headers=None):
    response = {"description": "ok", "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    document = {
        "openapi": version,
        "info": {"title": "things", "version": "1"},
        "paths": {"/things": {"get": {"operationId": "listThings", "responses": {"200": response}}}},
        "components": {
            "schemas": {
                "Never": NEVER,
                "Node": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}}},
            }
        },
    }
    path = tmp_path / "things.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("schema", "pointer", "reason"),
    [
        ({"not": {}}, f"{BODY}/not", "`not` of a schema that admits everything admits no value"),
        ({"type": "string", "enum": []}, f"{BODY}/enum", "`enum: []` admits no value"),
        (
            {"type": "integer", "enum": ["a", "b"]},
            f"{BODY}/enum",
            "no value of ['a', 'b'] is of type integer",
        ),
        (NEVER, BODY, "no number lies between minimum 3 and maximum 1"),
        (
            {"type": "number", "minimum": 1, "maximum": 1, "exclusiveMaximum": True},
            BODY,
            "no number lies between minimum 1 and maximum 1 (exclusive)",
        ),
        (
            {"type": "integer", "minimum": 1.2, "maximum": 1.8},
            BODY,
            "no integer lies between minimum 1.2 and maximum 1.8",
        ),
        ({"type": "string", "minLength": 5, "maxLength": 2}, BODY, "minLength 5 is greater than maxLength 2"),
        ({"type": "array", "minItems": 3, "maxItems": 1}, BODY, "minItems 3 is greater than maxItems 1"),
        (
            {"type": "array", "minItems": 1, "items": {"not": {}}},
            f"{BODY}/items/not",
            "at least one item is required but items admit no value: "
            "`not` of a schema that admits everything admits no value",
        ),
        (
            {
                "type": "object",
                "required": ["id"],
                "properties": {"name": {"type": "string"}},
                "additionalProperties": False,
            },
            f"{BODY}/required",
            "required property 'id' is forbidden by additionalProperties",
        ),
        (
            {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"$ref": "#/components/schemas/Never"}},
            },
            "/components/schemas/Never",
            "required property 'id' admits no value: no number lies between minimum 3 and maximum 1",
        ),
        (
            {"allOf": [{"type": "string"}, {"type": "integer"}]},
            f"{BODY}/allOf",
            "its branches require different types, so no value satisfies all of them",
        ),
        (
            {"anyOf": [{"not": {}}, {"$ref": "#/components/schemas/Never"}]},
            f"{BODY}/anyOf",
            "every branch of anyOf admits no value",
        ),
    ],
    ids=[
        "not-anything",
        "empty-enum",
        "enum-of-other-type",
        "minimum-above-maximum",
        "exclusive-bounds",
        "no-integer-in-range",
        "string-lengths",
        "array-sizes",
        "required-item-empty",
        "required-property-forbidden",
        "required-property-empty-through-ref",
        "allOf-types",
        "anyOf-all-empty",
    ],
)
def test_an_empty_response_schema_is_reported_with_its_pointer(tmp_path, schema, pointer, reason):
    [found] = empty_responses(load_contract(contract_with(tmp_path, schema)))

    assert (found.operation, found.status, found.media_type) == ("listThings", "200", "application/json")
    assert (found.pointer, found.reason) == (pointer, reason)
    assert str(found) == f"listThings 200 application/json: {found.contract}#{pointer}: {reason}"


def test_openapi_3_1_spellings(tmp_path):
    assert [
        f.reason for f in empty_responses(load_contract(contract_with(tmp_path, False, version="3.1.0")))
    ] == ["the schema `false` admits no value"]
    numeric_exclusive = {"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 2}
    assert [
        f.reason
        for f in empty_responses(load_contract(contract_with(tmp_path, numeric_exclusive, version="3.1.0")))
    ] == ["no integer lies between minimum 1 and maximum 2"]


def test_a_required_header_that_admits_no_value(tmp_path):
    headers = {"X-Rate": {"required": True, "schema": {"type": "integer", "minimum": 5, "maximum": 0}}}
    [found] = empty_responses(load_contract(contract_with(tmp_path, {"type": "object"}, headers=headers)))

    assert (found.header, found.media_type) == ("X-Rate", "")
    assert found.pointer == "/paths/~1things/get/responses/200/headers/X-Rate/schema"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer", "minimum": 10, "maximum": 5, "nullable": True},
        {"type": ["string", "integer"], "minLength": 5, "maxLength": 2},
        {"anyOf": [{"not": {}}, {"type": "string"}]},
        {"type": "object", "properties": {"gone": {"not": {}}}},
        {
            "type": "object",
            "required": ["secret"],
            "properties": {"secret": {"type": "string", "writeOnly": True}},
        },
        {"$ref": "#/components/schemas/Node"},
        {"type": "string", "pattern": "^$", "minLength": 1},  # undecided: patterns are not analysed
    ],
    ids=[
        "nullable",
        "another-type-fits",
        "one-branch-fits",
        "optional-empty",
        "write-only",
        "recursive",
        "pattern",
    ],
)
def test_satisfiable_or_undecided_schemas_are_not_reported(tmp_path, schema):
    assert empty_responses(load_contract(contract_with(tmp_path, schema))) == []


SPECS = [
    "petstore/openapi.yaml",
    "twilio/twilio_api_v2010.json.gz",
    "discord/openapi.json.gz",
    "openai/openapi.yaml.gz",
    "stripe/spec3.yaml.gz",
    "github/api.github.com.json.gz",
    "docker-engine/swagger.yaml",
]


def test_the_shipped_contracts_have_no_empty_response():
    assert empty_responses(load_contract(TODO)) == []
    assert empty_responses(load_contract(GITHUB)) == []


@pytest.mark.corpus
@pytest.mark.parametrize("spec", SPECS)
def test_real_world_specs_have_no_false_positive(spec):
    contract = corpus_contract("specs", *spec.split("/"))
    started = time.perf_counter()
    assert empty_responses(contract) == []
    assert time.perf_counter() - started < 5  # GitHub's 1223 operations take ~0.1 s


def test_the_mock_reports_them_at_load_time_and_strict_refuses_to_start(tmp_path):
    path = contract_with(tmp_path, {"type": "object", "required": ["id"], "properties": {"id": NEVER}})

    app = create_app([path])
    from mock_server.app import engine_of

    [found] = engine_of(app).empty_responses
    assert found.pointer == f"{BODY}/properties/id"
    response = app.test_client().get("/things")
    assert response.status_code == 500
    assert "reported when the contract was loaded: listThings 200 application/json" in response.json["detail"]

    with pytest.raises(ContractError) as raised:
        create_app([path], strict=True)
    where = f"{path}#{BODY}/properties/id"
    assert str(raised.value).startswith(
        f"{where}: 1 declared response(s) admit no value, so the mock cannot serve them:\n"
        f"  listThings 200 application/json: {where}: required property 'id' admits no value"
    )


def test_harness_mock_warns_at_start_and_strict_exits_2(tmp_path):
    path = contract_with(tmp_path, {"not": {}})
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}

    strict = subprocess.run(
        [sys.executable, "-m", "harness", "mock", str(path), "--port", "0", "--strict"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert strict.returncode == 2
    assert "1 declared response(s) admit no value" in strict.stderr

    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "mock", str(path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("Press Ctrl+C" in line for line in lines):
            lines.append(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        process.stdout.close()
    warning = next(line for line in lines if line.startswith("warning:"))
    assert re.match(r"warning: no value satisfies listThings 200 application/json: .*/not: ", warning)
