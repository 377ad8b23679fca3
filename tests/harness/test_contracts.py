"""Loading contracts: what stays lazy, so a large spec is served quickly and in little memory."""

from __future__ import annotations

import json

from harness.contracts import load_contract
from mock_server import create_app
from tests.conftest import GITHUB


def registry_of(contract):
    return contract.schema.root_resolver.inner


def test_answering_builds_no_registry_of_the_whole_document():
    # schemathesis would copy the whole document into a jsonschema-rs registry on the first request
    # (+69 MiB for GitHub's spec); local references are resolved by walking the document instead
    app = create_app([GITHUB])
    client = app.test_client()
    assert client.get("/repos/octocat/Hello-World/issues").status_code == 200
    assert (
        client.post(
            "/repos/octocat/Hello-World/issues", json={"title": "bug"}, headers={"Authorization": "token x"}
        ).status_code
        == 201
    )
    (contract,) = app.extensions["harness"].contracts.contracts
    assert registry_of(contract)._real is None


def test_a_reference_only_the_registry_can_resolve_still_resolves(tmp_path):
    # Given a reference schemathesis cannot walk to (percent-encoded), which jsonschema-rs resolves
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/items": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Pet%20Item"}}
                            },
                        }
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "Pet Item": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
            }
        },
    }
    path = tmp_path / "items.json"
    path.write_text(json.dumps(spec))
    app = create_app([path])
    # When the operation answers
    response = app.test_client().get("/items")
    # Then the registry was built on demand and the body follows the referenced schema
    assert response.status_code == 200 and isinstance(response.json["id"], int)
    (contract,) = app.extensions["harness"].contracts.contracts
    assert registry_of(contract)._real is not None


def test_the_deferred_registry_is_installed_once_per_contract():
    contract = load_contract(GITHUB)
    first = contract.schema.root_resolver
    assert contract.schema.root_resolver is first
    assert registry_of(contract).base_uri == first.base_uri
