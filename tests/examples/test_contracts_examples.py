"""Every example in the shipped contracts is valid against its schema, as schemathesis validates it.

schemathesis converts each schema (bundled `$ref`s, `nullable`, read/write-only) and builds the
jsonschema-rs validator it would use on real traffic; the examples are checked with that validator.
Examples are parametrized one per test, so a broken one is reported by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from schemathesis.core.result import Err

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"
CONTRACT_PATHS = sorted(CONTRACTS_DIR.glob("*.yaml"))


@dataclass(frozen=True)
class NamedExample:
    contract: str
    location: str  # e.g. "GET /tasks/{id}/ -> 200 application/json"
    name: str
    value: Any
    validator: jsonschema_rs.Validator = field(compare=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.contract}: {self.location} [{self.name}]"


@dataclass(frozen=True)
class ResponseBody:
    contract: str
    location: str
    example_names: tuple[str, ...]


def resolve(document: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (`#/components/examples/...`), which schemathesis leaves to the caller."""
    while isinstance(node, dict) and "$ref" in node:
        reference = node["$ref"]
        assert reference.startswith("#/"), f"only local references are supported, got {reference!r}"
        node = document
        for part in reference[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def named_examples(document: dict[str, Any], media_type_object: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for name, example in media_type_object.get("examples", {}).items():
        yield name, resolve(document, example)["value"]


def collect(contract_path: Path) -> tuple[list[NamedExample], list[ResponseBody]]:
    schema = schemathesis.openapi.from_path(contract_path)
    document = schema.raw_schema
    contract = contract_path.stem
    examples: list[NamedExample] = []
    bodies: list[ResponseBody] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation schemathesis cannot load: the contract itself is broken
        operation = result.ok()
        for parameter in operation.iter_parameters():
            if "example" in parameter.definition:
                location = f"{operation.label} parameter {parameter.definition['name']}"
                examples.append(
                    NamedExample(
                        contract,
                        location,
                        "example",
                        parameter.definition["example"],
                        parameter.get_validator(),
                    )
                )
        for body in operation.body:
            location = f"{operation.label} request {body.media_type}"
            for name, value in named_examples(document, body.definition):
                examples.append(NamedExample(contract, location, name, value, body.get_validator()))
        for status, response in operation.responses.items():
            for media_type, media_type_object in response.definition.get("content", {}).items():
                location = f"{operation.label} -> {status} {media_type}"
                resolved = response.get_schema(media_type)
                assert resolved.schema is not None, f"{contract}: {location} has no schema"
                validator = response.get_validator(resolved.media_type, resolved.schema)
                found = list(named_examples(document, media_type_object))
                bodies.append(ResponseBody(contract, location, tuple(name for name, _ in found)))
                examples.extend(
                    NamedExample(contract, location, name, value, validator) for name, value in found
                )
            for header_name, header in response.headers.items():
                if "example" in header.definition:
                    location = f"{operation.label} -> {status} header {header_name}"
                    examples.append(
                        NamedExample(
                            contract, location, "example", header.definition["example"], header.validator
                        )
                    )
    return examples, bodies


EXAMPLES: list[NamedExample] = []
RESPONSE_BODIES: list[ResponseBody] = []
for path in CONTRACT_PATHS:
    found_examples, found_bodies = collect(path)
    EXAMPLES.extend(found_examples)
    RESPONSE_BODIES.extend(found_bodies)


def test_the_shipped_contracts_are_collected() -> None:
    assert {path.name for path in CONTRACT_PATHS} >= {"todo.yaml", "github.yaml"}
    assert {example.contract for example in EXAMPLES} >= {"todo", "github"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.id)
def test_example_is_valid(example: NamedExample) -> None:
    errors = [
        f"{'/'.join(map(str, error.instance_path)) or '<root>'}: {error.message}"
        for error in example.validator.iter_errors(example.value)
    ]

    assert not errors, f"{example.id} does not match its schema:\n" + "\n".join(errors)


def of_another_type(value: Any) -> Any:
    """A value whose JSON type differs from `value`'s."""
    if isinstance(value, dict):
        return []
    if isinstance(value, (str, bool)):
        return 12345
    return "not-the-right-type"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.id)
def test_validator_rejects_a_value_of_another_type(example: NamedExample) -> None:
    # Guards test_example_is_valid against an empty or permissive schema that accepts anything.
    assert not example.validator.is_valid(of_another_type(example.value))


@pytest.mark.parametrize("body", RESPONSE_BODIES, ids=lambda body: f"{body.contract}: {body.location}")
def test_every_response_body_has_a_named_example(body: ResponseBody) -> None:
    assert body.example_names, f"{body.contract}: {body.location} has no named example"


def test_todo_get_task_has_laundry_and_empty_description_examples() -> None:
    names = {
        example.name for example in EXAMPLES if example.location == "GET /tasks/{id}/ -> 200 application/json"
    }

    assert names == {"laundry", "empty-description"}


@pytest.mark.parametrize(
    ("summary", "valid"),
    [
        ("Do the laundry", True),
        ("C:\\new\\report", True),
        ("x" * 119, True),
        ("x" * 120, False),
        ("a\nb", False),
        ("trailing\n", False),
        ("a\r", False),
        ("", True),
    ],
    ids=[
        "letters-n-and-r",
        "backslashes",
        "119-chars",
        "120-chars",
        "newline",
        "trailing-lf",
        "trailing-cr",
        "empty",
    ],
)
def test_todo_summary_constraints_as_schemathesis_sees_them(summary: str, valid: bool) -> None:
    # Pins the escaping of the `pattern`: a doubled backslash would reject "laundry" (it has an n and an r).
    operation = schemathesis.openapi.from_path(CONTRACTS_DIR / "todo.yaml")["/tasks/"]["POST"]
    body = next(iter(operation.body))

    assert body.is_valid({"summary": summary}) is valid
