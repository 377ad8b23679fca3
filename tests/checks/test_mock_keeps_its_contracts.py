"""The mock checked by `harness verify`: no server error and no response that breaks its contract.

Runs schemathesis against the mock serving the shipped contracts and a selection of real-world
specs, with bounded examples (and, for the big specs, a fixed sample of operations) so CI stays
fast. Checks: server errors, status codes, content types, headers and bodies of responses, the
rejection of invalid data, 405s and `Allow`. Left out on purpose: checks that need server state
(use_after_free, ensure_resource_availability, object_level_authorization), a real credential store
(ignored_auth: a mock accepts any well-formed token) or a faithful wire encoding that schemathesis
does not have (positive_data_acceptance: it drops nested and empty values from form bodies).

What no mock can avoid is filtered, each case explained in `unavoidable`.
"""

from __future__ import annotations

import pytest

from harness import serve_mock
from harness.compiled import compiled
from harness.contracts import load_contract
from harness.verify import Phase, VerifyOptions, verify
from mock_server.rejections import error_status
from tests.conftest import GITHUB, TODO, corpus_contract

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
)
# Unknown query parameters and mangled credentials are accepted by design (clients add cache
# busters; a mock cannot tell a real token from a fake one).
SCHEMATHESIS_TOML = """
[generation]
allow-extra-parameters = false
with-security-parameters = false
"""
ALL_PHASES = (Phase.EXAMPLES, Phase.COVERAGE, Phase.FUZZING, Phase.STATEFUL)

SPECS = [
    pytest.param(lambda: load_contract(TODO), (), ALL_PHASES, None, id="contracts/todo"),
    pytest.param(
        lambda: load_contract(GITHUB), ("Authorization: token x",), ALL_PHASES, None, id="contracts/github"
    ),
    pytest.param(
        lambda: corpus_contract("specs", "petstore", "openapi.yaml"),
        ("api_key: k", "Authorization: Bearer x"),
        (Phase.COVERAGE, Phase.FUZZING),
        None,
        id="petstore",
        marks=pytest.mark.corpus,
    ),
    pytest.param(
        lambda: corpus_contract("specs", "twilio", "twilio_api_v2010.json.gz"),
        ("Authorization: Basic QUMxOnRvaw==",),
        (Phase.FUZZING,),
        8,
        id="twilio",
        marks=pytest.mark.corpus,
    ),
    pytest.param(
        lambda: corpus_contract("specs", "discord", "openapi.json.gz"),
        ("Authorization: Bot x",),
        (Phase.FUZZING,),
        8,
        id="discord",
        marks=pytest.mark.corpus,
    ),
    pytest.param(
        lambda: corpus_contract("specs", "openai", "openapi.yaml.gz"),
        ("Authorization: Bearer x",),
        (Phase.FUZZING,),
        8,
        id="openai",
        marks=pytest.mark.corpus,
    ),
    pytest.param(
        lambda: corpus_contract("specs", "stripe", "spec3.yaml.gz"),
        ("Authorization: Bearer sk_test_x",),
        (Phase.FUZZING,),
        8,
        id="stripe",
        marks=pytest.mark.corpus,
    ),
]


def sample(contract, size):
    """Every n-th operation by label: a fixed, spread-out selection of a big spec."""
    if size is None:
        return ()
    labels = sorted(operation.label for operation in contract.operations)
    return tuple(labels[:: max(1, len(labels) // size)][:size])


def unavoidable(finding, contract) -> str | None:
    """Why a finding is not the mock's fault, or None when it is."""
    titles = set(finding.titles)
    if finding.status == 414:
        return "the HTTP server's 64 KiB request-line limit answered before the mock saw the request"
    if titles == {"Undocumented status code"} and finding.status is not None and 400 <= finding.status < 500:
        operation = contract.find_operation(finding.operation)
        declared = compiled(operation).catalog.statuses if operation is not None else []
        if finding.status == 401 and not {"401", "4XX", "default"} & set(declared):
            return "credentials are required but the contract declares no 401"
        if finding.status != 401 and error_status(declared, finding.status, []) is None:
            return "the contract declares no error response for invalid input"
    if titles == {"Schema-violating request accepted"}:
        media_type = finding.example.get("media_type", "")
        if media_type in ("application/x-www-form-urlencoded", "application/xml", "text/xml"):
            # Form: requests drops nested and empty values, so the invalid part never reaches the
            # wire. XML request bodies are accepted unchecked (the mock does not parse XML).
            return f"schemathesis' {media_type} body is not what it generated, or the mock does not parse it"
    return None


@pytest.mark.parametrize(("spec", "headers", "phases", "operations"), SPECS)
def test_the_mock_keeps_the_contract_it_serves(tmp_path, spec, headers, phases, operations):
    contract = spec()
    (tmp_path / "schemathesis.toml").write_text(SCHEMATHESIS_TOML)
    options = VerifyOptions(
        max_examples=5,
        seed=1,
        phases=phases,
        checks=CHECKS,
        headers=headers,
        include=sample(contract, operations),
    )

    with serve_mock([contract]) as mock:
        result = verify(
            contract, url=mock.url + contract.base_path, options=options, workdir=tmp_path, timeout=300
        )

    # schemathesis cannot use some schemas of the contract itself (OpenAI's POST /containers):
    # those operations go untested, which is the contract's problem, not the mock's.
    assert [error for error in result.errors if error.kind != "InvalidSchema"] == []
    assert result.test_cases > 0
    broken = [
        f"{finding.title} | {finding.operation} | {finding.status}\n{finding.curl[:300]}"
        for finding in result.findings
        if unavoidable(finding, contract) is None
    ]
    assert broken == [], "\n\n".join(broken)
