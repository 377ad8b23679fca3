"""contracts/github.yaml: its own promises, and its faithfulness to GitHub's OpenAPI description.

The `corpus` tests compare it with GitHub's description in the shared corpus, next to the repository:
same paths, methods, operationIds and parameters, and for every kept property the same type, format,
`nullable`, enum and default, with GitHub's `required` lists restricted to the kept properties.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpus"
GITHUB_SPEC_PATH = CORPUS / "specs" / "github" / "api.github.com.json.gz"
CONTRACT = yaml.safe_load((REPO_ROOT / "contracts" / "github.yaml").read_text(encoding="utf-8"))

OPERATIONS = [
    ("get", "/user", "users/get-authenticated"),
    ("get", "/user/repos", "repos/list-for-authenticated-user"),
    ("get", "/users/{username}", "users/get-by-username"),
    ("get", "/repos/{owner}/{repo}", "repos/get"),
    ("get", "/repos/{owner}/{repo}/issues", "issues/list-for-repo"),
    ("post", "/repos/{owner}/{repo}/issues", "issues/create"),
]
OPERATION_IDS = [operation_id for _, _, operation_id in OPERATIONS]
NEEDS_TOKEN = {"users/get-authenticated", "repos/list-for-authenticated-user", "issues/create"}
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "integer",
    "X-RateLimit-Remaining": "integer",
    "X-RateLimit-Reset": "integer",
    "X-RateLimit-Used": "integer",
    "X-RateLimit-Resource": "string",
}
# Responses this contract adds; GitHub's description has no component to compare them with.
ADDED_RESPONSES = {"too_many_requests"}
COMPARED_KEYWORDS = ("type", "format", "nullable", "enum", "default")

Test = TypeVar("Test", bound=Callable[..., Any] | type)


def requires_corpus(test: Test) -> Test:
    """Mark a test (or class) as reading the shared corpus, and skip it when the corpus is absent."""
    skip_without_corpus = pytest.mark.skipif(
        not CORPUS.exists(), reason=f"the shared corpus is not at {CORPUS}"
    )
    marked: Test = pytest.mark.corpus(skip_without_corpus(test))
    return marked


def resolve(document: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (`#/components/...`) until a concrete node."""
    while isinstance(node, dict) and "$ref" in node:
        reference = node["$ref"]
        assert reference.startswith("#/"), f"only local references are supported, got {reference!r}"
        node = document
        for part in reference[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def schema_differences(
    ours_document: dict[str, Any], ours: Any, theirs_document: dict[str, Any], theirs: Any, where: str
) -> list[str]:
    """Where our schema departs from GitHub's, walking both together (GitHub's may have more properties)."""
    ours = resolve(ours_document, ours)
    theirs = resolve(theirs_document, theirs)
    differences = [
        f"{where}: {keyword} is {ours.get(keyword)!r}, GitHub has {theirs.get(keyword)!r}"
        for keyword in COMPARED_KEYWORDS
        if ours.get(keyword) != theirs.get(keyword)
    ]
    for keyword in ("oneOf", "anyOf", "allOf"):
        our_branches, their_branches = ours.get(keyword, []), theirs.get(keyword, [])
        if len(our_branches) != len(their_branches):
            differences.append(
                f"{where}: {len(our_branches)} {keyword} branches, GitHub has {len(their_branches)}"
            )
            continue
        for index, (our_branch, their_branch) in enumerate(zip(our_branches, their_branches, strict=True)):
            differences += schema_differences(
                ours_document, our_branch, theirs_document, their_branch, f"{where}.{keyword}[{index}]"
            )
    if "items" in ours or "items" in theirs:
        differences += schema_differences(
            ours_document, ours.get("items", {}), theirs_document, theirs.get("items", {}), f"{where}[]"
        )
    our_properties, their_properties = ours.get("properties", {}), theirs.get("properties", {})
    for name, subschema in our_properties.items():
        if name not in their_properties:
            differences.append(f"{where}: GitHub has no property {name!r}")
            continue
        differences += schema_differences(
            ours_document, subschema, theirs_document, their_properties[name], f"{where}.{name}"
        )
    expected_required = sorted(set(theirs.get("required", [])) & set(our_properties))
    if sorted(ours.get("required", [])) != expected_required:
        differences.append(
            f"{where}: required is {sorted(ours.get('required', []))}, expected {expected_required}"
        )
    if theirs.get("additionalProperties") is False:
        # A closed schema cannot be trimmed: real responses carry the dropped properties.
        if ours.get("additionalProperties") is not False:
            differences.append(f"{where}: GitHub forbids additional properties, we do not")
        if set(our_properties) != set(their_properties):
            missing = sorted(set(their_properties) - set(our_properties))
            differences.append(f"{where}: closed schema must keep every property, missing {missing}")
    return differences


def operation_of(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


def parameters_of(document: dict[str, Any], method: str, path: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Path-level and operation-level parameters, resolved, keyed by (name, in)."""
    path_item = document["paths"][path]
    declared = path_item.get("parameters", []) + path_item[method].get("parameters", [])
    resolved = [resolve(document, parameter) for parameter in declared]
    return {(parameter["name"], parameter["in"]): parameter for parameter in resolved}


def json_body_schema(document: dict[str, Any], response_or_body: dict[str, Any]) -> Any:
    return resolve(document, response_or_body)["content"]["application/json"]["schema"]


# --- Faithfulness to GitHub's description (corpus) -------------------------------------------------------


@pytest.fixture(scope="module")
def github() -> dict[str, Any]:
    with gzip.open(GITHUB_SPEC_PATH, "rt", encoding="utf-8") as spec:
        document: dict[str, Any] = json.load(spec)
    return document


@requires_corpus
@pytest.mark.parametrize(("method", "path", "operation_id"), OPERATIONS, ids=OPERATION_IDS)
class TestOperationsMatchGitHub:
    def test_path_method_and_operation_id(
        self, github: dict[str, Any], method: str, path: str, operation_id: str
    ) -> None:
        assert operation_of(github, method, path)["operationId"] == operation_id
        assert operation_of(CONTRACT, method, path)["operationId"] == operation_id

    def test_success_status_is_githubs(
        self, github: dict[str, Any], method: str, path: str, operation_id: str
    ) -> None:
        def successes(document: dict[str, Any]) -> list[str]:
            return [
                status
                for status in operation_of(document, method, path)["responses"]
                if status.startswith("2")
            ]

        assert successes(CONTRACT) == successes(github)

    def test_parameters_exist_in_github_with_the_same_schema(
        self, github: dict[str, Any], method: str, path: str, operation_id: str
    ) -> None:
        theirs = parameters_of(github, method, path)
        differences = []
        for key, parameter in parameters_of(CONTRACT, method, path).items():
            if key not in theirs:
                differences.append(f"{key}: GitHub has no such parameter (it has {sorted(theirs)})")
                continue
            if parameter.get("required", False) != theirs[key].get("required", False):
                differences.append(f"{key}: required differs from GitHub's")
            differences += schema_differences(
                CONTRACT, parameter["schema"], github, theirs[key]["schema"], str(key)
            )

        assert not differences, "\n".join(differences)

    def test_response_bodies_match_github(
        self, github: dict[str, Any], method: str, path: str, operation_id: str
    ) -> None:
        their_responses = operation_of(github, method, path)["responses"]
        differences = []
        compared = []
        for status, response in operation_of(CONTRACT, method, path)["responses"].items():
            if status not in their_responses:
                continue  # an addition (401, 429, 503...): checked through the shared components below
            compared.append(status)
            differences += schema_differences(
                CONTRACT,
                json_body_schema(CONTRACT, response),
                github,
                json_body_schema(github, their_responses[status]),
                f"{operation_id} {status}",
            )

        assert any(status.startswith("2") for status in compared)
        assert not differences, "\n".join(differences)


@requires_corpus
@pytest.mark.parametrize("name", sorted(CONTRACT["components"]["schemas"]))
def test_component_schema_matches_githubs(github: dict[str, Any], name: str) -> None:
    their_schemas = github["components"]["schemas"]
    assert name in their_schemas, f"GitHub has no component schema {name!r}"

    differences = schema_differences(
        CONTRACT, CONTRACT["components"]["schemas"][name], github, their_schemas[name], name
    )

    assert not differences, "\n".join(differences)


@requires_corpus
@pytest.mark.parametrize("name", sorted(set(CONTRACT["components"]["responses"]) - ADDED_RESPONSES))
def test_component_response_body_matches_githubs(github: dict[str, Any], name: str) -> None:
    ours = CONTRACT["components"]["responses"][name]
    theirs = github["components"]["responses"][name]

    differences = schema_differences(
        CONTRACT, json_body_schema(CONTRACT, ours), github, json_body_schema(github, theirs), name
    )

    assert not differences, "\n".join(differences)


def retype(path: tuple[str, ...], **changes: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        node = document
        for part in path:
            node = node[part]
        node.update(changes)

    return mutate


def drop_required(schema: str, field: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        document["components"]["schemas"][schema]["required"].remove(field)

    return mutate


def drop_property(schema: str, field: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        del document["components"]["schemas"][schema]["properties"][field]

    return mutate


@requires_corpus
@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            retype(("components", "schemas", "issue", "properties", "number"), type="string"),
            "issue.number: type",
        ),
        (
            retype(("components", "schemas", "issue", "properties", "body"), nullable=False),
            "issue.body: nullable",
        ),
        (
            retype(("components", "schemas", "repository", "properties", "pushed_at"), format="date"),
            "repository.pushed_at: format",
        ),
        (drop_required("issue", "title"), "issue: required"),
        (drop_property("public-user", "bio"), "closed schema must keep every property"),
        (
            retype(("components", "schemas", "simple-user", "properties"), nickname={"type": "string"}),
            "GitHub has no property 'nickname'",
        ),
    ],
    ids=["type", "nullable", "format", "required", "closed-schema-trimmed", "invented-property"],
)
def test_comparison_reports_a_divergence(
    github: dict[str, Any], mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    # Guards the comparison tests above against passing vacuously.
    tampered = copy.deepcopy(CONTRACT)
    mutate(tampered)

    differences = [
        difference
        for name, schema in tampered["components"]["schemas"].items()
        for difference in schema_differences(
            tampered, schema, github, github["components"]["schemas"][name], name
        )
    ]

    assert any(expected in difference for difference in differences), differences


# --- The contract's own promises (no corpus needed) -------------------------------------------------------


def test_server_is_githubs_api_root() -> None:
    assert CONTRACT["servers"] == [{"url": "https://api.github.com"}]


def test_rate_limit_extension_for_the_mock_server() -> None:
    assert CONTRACT["x-harness-rate-limit"] == {"limit": 60, "window": 3600, "resource": "core"}


def test_token_scheme_is_the_authorization_header() -> None:
    scheme = CONTRACT["components"]["securitySchemes"]["token"]

    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")


@pytest.mark.parametrize(("method", "path", "operation_id"), OPERATIONS, ids=OPERATION_IDS)
def test_security_requirement(method: str, path: str, operation_id: str) -> None:
    expected: list[dict[str, list[str]]] = (
        [{"token": []}] if operation_id in NEEDS_TOKEN else [{}, {"token": []}]
    )

    assert operation_of(CONTRACT, method, path)["security"] == expected


@pytest.mark.parametrize(("method", "path", "operation_id"), OPERATIONS, ids=OPERATION_IDS)
def test_success_responses_declare_reusable_rate_limit_headers(
    method: str, path: str, operation_id: str
) -> None:
    for status, response in operation_of(CONTRACT, method, path)["responses"].items():
        if not status.startswith("2"):
            continue
        headers = response["headers"]
        for name, json_type in RATE_LIMIT_HEADERS.items():
            assert set(headers[name]) == {"$ref"}, f"{status} {name} should reuse components.headers"
            assert resolve(CONTRACT, headers[name])["schema"] == {"type": json_type}


@pytest.mark.parametrize(("method", "path", "operation_id"), OPERATIONS, ids=OPERATION_IDS)
def test_throttling_responses_declare_retry_after(method: str, path: str, operation_id: str) -> None:
    responses = operation_of(CONTRACT, method, path)["responses"]

    assert {"403", "429", "503"} <= set(responses)
    for status in ("403", "429", "503"):
        retry_after = resolve(CONTRACT, resolve(CONTRACT, responses[status])["headers"]["Retry-After"])
        assert retry_after["schema"] == {"type": "integer"}, status


def test_per_page_is_bounded_like_githubs_documentation_says() -> None:
    per_page = CONTRACT["components"]["parameters"]["per-page"]

    assert (per_page["name"], per_page["schema"]) == (
        "per_page",
        {"type": "integer", "default": 30, "maximum": 100},
    )


def test_issue_title_is_a_string_or_an_integer_like_githubs() -> None:
    body = json_body_schema(
        CONTRACT, operation_of(CONTRACT, "post", "/repos/{owner}/{repo}/issues")["requestBody"]
    )

    assert body["required"] == ["title"]
    assert body["properties"]["title"]["oneOf"] == [{"type": "string"}, {"type": "integer"}]
