"""Request validation by parameter location and style, and readOnly/writeOnly on each side."""

from __future__ import annotations

import json

import pytest

from mock_server import create_app

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/items": {
            "get": {
                "parameters": [
                    {
                        "name": "X-Request-Id",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    },
                    {"name": "session", "in": "cookie", "schema": {"type": "string", "minLength": 8}},
                    {
                        "name": "filter",
                        "in": "query",
                        "style": "deepObject",
                        "explode": True,
                        "schema": {
                            "type": "object",
                            "properties": {
                                "state": {"type": "string", "enum": ["open", "closed"]},
                                "limit": {"type": "integer", "maximum": 10},
                            },
                        },
                    },
                    {
                        "name": "ids",
                        "in": "query",
                        "explode": False,
                        "schema": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
                    },
                    {"name": "flag", "in": "query", "schema": {"type": "boolean"}},
                ],
                "responses": {
                    "200": {
                        "description": "",
                        "content": {
                            "application/json": {
                                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}
                            }
                        },
                    }
                },
            },
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}},
                },
                "responses": {
                    "201": {
                        "description": "",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}},
                    }
                },
            },
        }
    },
    "components": {
        "schemas": {
            "User": {
                "type": "object",
                "required": ["id", "name", "password"],
                "properties": {
                    "id": {"type": "integer", "readOnly": True},
                    "name": {"type": "string"},
                    "password": {"type": "string", "writeOnly": True, "minLength": 8},
                },
            }
        }
    },
}
VALID_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


@pytest.fixture
def client(tmp_path):
    path = tmp_path / "items.json"
    path.write_text(json.dumps(SPEC))
    return create_app([path]).test_client()


def violations(response):
    assert response.status_code == 422, response.data
    return {(v["location"], v["rule"]) for v in response.json["violations"]}


def test_valid_parameters_in_every_location_pass(client):
    client.set_cookie("session", "abcdefgh")
    response = client.get(
        "/items?filter[state]=open&filter[limit]=3&ids=1,2&flag=true", headers={"X-Request-Id": VALID_ID}
    )
    assert response.status_code == 200


def test_missing_required_header_and_bad_formats_are_reported(client):
    assert violations(client.get("/items")) == {("header/X-Request-Id", "required")}
    assert violations(client.get("/items", headers={"X-Request-Id": "nope"})) == {
        ("header/X-Request-Id", "format")
    }


def test_cookie_parameters_are_validated(client):
    client.set_cookie("session", "short")
    assert violations(client.get("/items", headers={"X-Request-Id": VALID_ID})) == {
        ("cookie/session", "minLength")
    }


def test_deep_object_and_form_arrays_are_deserialized_before_validation(client):
    found = violations(
        client.get(
            "/items?filter[state]=lost&filter[limit]=50&ids=1,2,3,4&flag=maybe",
            headers={"X-Request-Id": VALID_ID},
        )
    )
    assert found == {
        ("query/filter/state", "enum"),
        ("query/filter/limit", "maximum"),
        ("query/ids", "maxItems"),
        ("query/flag", "type"),
    }


def test_read_only_fields_are_refused_in_requests_and_write_only_ones_required(client):
    found = violations(client.post("/items", json={"id": 1, "name": "ada"}))
    assert found == {("body/id", "forbidden"), ("body/password", "required")}
    assert client.post("/items", json={"name": "ada", "password": "secret-pw"}).status_code == 201


def test_write_only_fields_never_appear_in_responses(client):
    body = client.post("/items", json={"name": "ada", "password": "secret-pw"}).json
    assert "password" not in body
    assert set(body) == {"id", "name"}


FORM_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "pets", "version": "1"},
    "paths": {
        "/pets": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["name", "photoUrls"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "photoUrls": {"type": "array", "items": {"type": "string"}},
                                    "ages": {"type": "array", "items": {"type": "integer"}},
                                },
                            }
                        }
                    },
                },
                "responses": {"200": {"description": "ok"}, "422": {"description": "invalid"}},
            }
        }
    },
}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("name=Rex&photoUrls=a&photoUrls=b", 200),
        ("name=Rex&photoUrls=a", 200),  # one value is an array of one
        ("name=Rex", 200),  # an empty array cannot be sent in a form: absent is empty
        ("name=Rex&ages=3", 200),
        ("name=Rex&ages=three", 422),
        ("photoUrls=a", 422),
    ],
    ids=["two-values", "one-value", "empty-array", "one-integer", "bad-integer", "missing-scalar"],
)
def test_form_arrays_as_clients_encode_them(tmp_path, body, status):
    path = tmp_path / "pets.json"
    path.write_text(json.dumps(FORM_SPEC))
    client = create_app([path]).test_client()

    response = client.post("/pets", data=body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == status, response.headers.get("X-Harness-Violations")


def test_a_large_multipart_upload_leaves_no_temporary_file_open(tmp_path):
    import gc

    import requests

    from harness import serve_mock

    spec = json.loads(
        json.dumps(FORM_SPEC).replace("application/x-www-form-urlencoded", "multipart/form-data")
    )
    path = tmp_path / "pets.json"
    path.write_text(json.dumps(spec))
    upload = {"photoUrls": ("rex.png", b"\x89PNG" + b"\0" * 600_000, "image/png")}

    with serve_mock(path) as mock:
        response = requests.post(f"{mock.url}/pets", data={"name": "Rex"}, files=upload, timeout=10)
    gc.collect()  # an unclosed spooled upload would be reported here (ResourceWarning -> error)

    assert response.status_code == 200, response.headers.get("X-Harness-Violations")
