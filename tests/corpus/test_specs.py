"""Every real-world spec of the shared corpus loads, and the mock answers a sample of each."""

from __future__ import annotations

import pytest
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from harness.contracts import load_contract
from mock_server import create_app
from mock_server.engine import compiled
from tests.conftest import CORPUS, corpus_path

pytestmark = pytest.mark.corpus

SPECS = [
    "github/api.github.com.json.gz",
    "stripe/spec3.yaml.gz",
    "openai/openapi.yaml.gz",
    "petstore/openapi.yaml",
    "twilio/twilio_api_v2010.json.gz",
    "twilio/twilio_lookups_v1.json",
    "docker-engine/swagger.yaml",
    "discord/openapi.json.gz",
    "apis-guru-npm/vercel.com.json",
    "apis-guru-npm/spotify.com_sonallux.json",
    "apis-guru-npm/slack.com.json",
    "apis-guru-npm/xkcd.com.json",
    "httpbin/spec.json",
    "jupyter-server/api.yaml",
]
SAMPLE = 12


def test_the_list_covers_every_spec_in_the_corpus():
    if not CORPUS.exists():
        pytest.skip(f"the shared corpus is not beside this checkout ({CORPUS}); CI provides it")
    on_disk = {
        str(p.relative_to(CORPUS / "specs"))
        for p in (CORPUS / "specs").rglob("*")
        if p.is_file() and p.suffix != ".md"
    }
    assert on_disk == set(SPECS)


@pytest.mark.parametrize("spec", SPECS)
def test_spec_loads_and_the_mock_answers_a_sample_with_valid_bodies(spec):
    contract = load_contract(corpus_path("specs", spec))
    assert contract.operations
    app = create_app([contract], validate=False)
    app.extensions["harness"].middlewares = []  # no credentials or request checks: responses are under test
    client = app.test_client()
    step = max(1, len(contract.operations) // SAMPLE)
    answered = 0
    for operation in contract.operations[::step][:SAMPLE]:
        catalog = compiled(operation).catalog
        status = catalog.default_status()
        if not status.isdigit():
            continue
        path = contract.mount_of(operation) + fill_template(operation.path)
        response = client.open(path, method=operation.method, headers={"Prefer": f"code={status}"})
        routed = app.extensions["harness"].journal.entries()[-1].operation
        if routed != operation.name:
            continue  # a sibling template took the filled-in path; that operation is checked on its own
        assert response.status_code == int(status), response.data[:500]
        st_operation = operation.schemathesis_operation()
        case = st_operation.Case(method=operation.method, path_parameters=path_values(operation.path))
        case.validate_response(response, checks=[response_schema_conformance, content_type_conformance])
        answered += 1
    assert answered > 0


def path_values(template: str) -> dict[str, str]:
    import re

    return dict.fromkeys(re.findall(r"\{([^{}]+)\}", template), "1")


def fill_template(template: str) -> str:
    import re

    return re.sub(r"\{[^{}]+\}", "1", template)
