from __future__ import annotations

import gzip
import json

import pytest

from harness.contracts import load_contract
from harness.documents import parse_document, read_document
from harness.errors import ContractError, ContractErrorKind, ContractNotFound

MINIMAL = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}}


def document(**changes):
    return json.dumps({**MINIMAL, **changes})


def test_missing_file_is_a_file_not_found_error_naming_it(tmp_path):
    with pytest.raises(ContractNotFound) as caught:
        read_document(tmp_path / "nope.yaml")
    assert isinstance(caught.value, FileNotFoundError)
    assert str(tmp_path / "nope.yaml") in str(caught.value)


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("openapi: 3.0.3\npaths:\n  /a: [unclosed\n")
    with pytest.raises(ContractError) as caught:
        read_document(path)
    assert caught.value.kind is ContractErrorKind.SYNTAX
    assert str(path) in str(caught.value)
    assert "line" in str(caught.value)


def test_not_openapi_says_what_is_expected():
    with pytest.raises(ContractError, match="no top-level `openapi` or `swagger`") as caught:
        parse_document('{"hello": "world"}', "x.json")
    assert caught.value.kind is ContractErrorKind.NOT_OPENAPI


def test_unsupported_version_points_at_the_field():
    with pytest.raises(ContractError) as caught:
        parse_document(document(openapi="4.0.0"), "x.json")
    assert caught.value.kind is ContractErrorKind.UNSUPPORTED_VERSION
    assert caught.value.pointer == "/openapi"


def test_broken_ref_names_the_file_the_pointer_and_the_missing_part():
    paths = {"/pets": {"get": {"responses": {"200": {"$ref": "#/components/responses/Gone"}}}}}
    with pytest.raises(ContractError) as caught:
        parse_document(document(paths=paths, components={"responses": {}}), "pets.json")
    error = caught.value
    assert error.kind is ContractErrorKind.BROKEN_REFERENCE
    assert error.pointer == "/paths/~1pets/get/responses/200"
    assert str(error).startswith(
        "pets.json#/paths/~1pets/get/responses/200: $ref '#/components/responses/Gone'"
    )
    assert "'Gone'" in str(error)


def test_external_refs_are_refused_with_a_fix():
    paths = {"/pets": {"get": {"responses": {"200": {"$ref": "other.yaml#/Pet"}}}}}
    with pytest.raises(ContractError, match="bundle the document"):
        parse_document(document(paths=paths), "pets.json")


@pytest.mark.parametrize(
    ("paths", "pointer", "problem"),
    [
        ({"pets": {}}, "/paths/pets", "does not start with '/'"),
        ({"/pets/{id": {}}, "/paths/~1pets~1{id", "unbalanced braces"),
        (
            {"/pets": {"get": {"responses": {"600": {}}}}},
            "/paths/~1pets/get/responses/600",
            "not a status code",
        ),
        ({"/pets": {"get": {"parameters": [{"name": "x"}]}}}, "/paths/~1pets/get/parameters/0", "`in`"),
        (
            {"/pets": {"get": {"parameters": [{"name": "x", "in": "body2"}]}}},
            "/paths/~1pets/get/parameters/0/in",
            "",
        ),
    ],
    ids=["no-leading-slash", "unbalanced", "bad-status", "parameter-without-in", "bad-location"],
)
def test_structural_problems_name_their_pointer(paths, pointer, problem):
    with pytest.raises(ContractError) as caught:
        parse_document(document(paths=paths), "x.json")
    assert caught.value.pointer == pointer
    assert problem in caught.value.problem


def test_gzipped_json_and_yaml_int_keys_load(tmp_path):
    path = tmp_path / "api.json.gz"
    path.write_bytes(
        gzip.compress(document(paths={"/a": {"get": {"responses": {"200": {"description": "ok"}}}}}).encode())
    )
    assert read_document(path).raw["paths"]["/a"]["get"]["responses"]["200"]
    yaml_path = tmp_path / "api.yaml"
    yaml_path.write_text(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n"
        "        200: {description: ok}\n"
    )
    loaded = read_document(yaml_path)
    assert loaded.version == "3.1"
    assert "200" in loaded.raw["paths"]["/a"]["get"]["responses"]


def test_base_path_comes_from_servers_or_base_path(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(
        document(
            servers=[
                {"url": "https://api.example.com/{version}/", "variables": {"version": {"default": "v2"}}}
            ]
        )
    )
    assert load_contract(path).base_path == "/v2"
    swagger = tmp_path / "b.json"
    swagger.write_text(json.dumps({"swagger": "2.0", "info": {}, "basePath": "/api/", "paths": {}}))
    assert load_contract(swagger).base_path == "/api"


# -- reading large documents ----------------------------------------------------------------------


def test_a_document_is_parsed_from_its_text_once_its_bytes_are_released(tmp_path, monkeypatch):
    # GitHub's spec: 12 MB of bytes, 50 MB of text; holding both while parsing made the peak
    import gc
    import weakref

    import harness.documents as documents

    path = tmp_path / "api.json"
    path.write_bytes(document(info={"title": "emoji 🫶", "version": "1"}).encode())
    held = []
    original_read_bytes = type(path).read_bytes

    class Tracked(bytearray):  # bytes cannot be weakly referenced; a bytearray reads the same
        pass

    def read_bytes(self):
        data = Tracked(original_read_bytes(self))
        held.append(weakref.ref(data))
        return data

    def parse_text(text, source):
        gc.collect()
        assert held[0]() is None, "the file's bytes are still alive while the text is parsed"
        return json.loads(text)

    monkeypatch.setattr(type(path), "read_bytes", read_bytes)
    monkeypatch.setattr(documents, "_parse_text", parse_text)
    assert read_document(path).raw["info"]["title"] == "emoji 🫶"


def test_invalid_json_keeps_the_stdlib_message(tmp_path):
    with pytest.raises(ContractError, match=r"invalid JSON at line 1, column 2: Expecting property name"):
        parse_document(b"{,}", "api.json")


def test_a_broken_reference_among_many_is_named_with_its_pointer():
    schemas = {f"S{index}": {"type": "string"} for index in range(50)}
    paths = {
        f"/p{index}": {"get": {"responses": {"200": {"$ref": "#/components/responses/Ok"}}}}
        for index in range(50)
    }
    paths["/p7"]["get"]["responses"]["404"] = {"$ref": "#/components/responses/Gone"}
    text = document(paths=paths, components={"schemas": schemas, "responses": {"Ok": {"description": "ok"}}})
    with pytest.raises(ContractError) as raised:
        parse_document(text, "api.json")
    assert raised.value.kind is ContractErrorKind.BROKEN_REFERENCE
    assert "#/paths/~1p7/get/responses/404: $ref '#/components/responses/Gone' does not resolve" in str(
        raised.value
    )
