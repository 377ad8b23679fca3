"""The mock never sends a body its own contract forbids: every status, media type and mode."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from harness.contracts import load_contract
from mock_server import create_app
from mock_server.engine import compiled
from tests.conftest import GITHUB, TODO

CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def concrete(path: str) -> str:
    return (
        path.replace("{owner}", "octocat")
        .replace("{repo}", "hello")
        .replace("{username}", "octocat")
        .replace("{id}", "1")
    )


def cases():
    for path in (TODO, GITHUB):
        contract = load_contract(path)
        for operation in contract.operations:
            for status in compiled(operation).catalog.statuses:
                if status.isdigit():
                    yield pytest.param(
                        path, operation.label, int(status), id=f"{contract.name}:{operation.name}:{status}"
                    )


@pytest.mark.parametrize("dynamic_seed", [None, 1, 2], ids=["examples", "seed-1", "seed-2"])
@pytest.mark.parametrize(("contract_path", "label", "status"), list(cases()))
def test_every_declared_response_keeps_the_contract(contract_path, label, status, dynamic_seed):
    schema = schemathesis.openapi.from_path(contract_path)
    method, path = label.split(" ", 1)
    st_operation = schema[path][method]
    app = create_app([contract_path], validate=False, dynamic=dynamic_seed is not None, seed=dynamic_seed)
    response = app.test_client().open(
        concrete(path), method=method, headers={"Prefer": f"code={status}", "Authorization": "token x"}
    )
    assert response.status_code == status
    path_parameters = dict.fromkeys(("id",), "1") | {
        "owner": "octocat",
        "repo": "hello",
        "username": "octocat",
    }
    case = st_operation.Case(
        method=method, path_parameters={k: v for k, v in path_parameters.items() if "{" + k + "}" in path}
    )
    case.validate_response(response, checks=CHECKS)
