"""pytest plugin: a mock server per session, reset for every test.

Kept import-light (pytest imports it in every run): the mock is built inside the fixture.

    # conftest.py (optional; the default is every contracts/*.yaml under the rootdir)
    @pytest.fixture(scope="session")
    def harness_contracts():
        return ["contracts/todo.yaml"]

    def test_lists_tasks(harness_mock):
        assert requests.get(f"{harness_mock.url}/tasks/").status_code == 200

Precedence: `--harness-contract` on the command line > the `harness_contracts` fixture > the
`harness_contracts` ini option.

Simulated failures: `@pytest.mark.harness_fault("unavailable", operation="repos/get", times=2)` adds
a fault rule for one test (repeatable); `harness_mock.fault(...)` does it for a `with` block, and
`harness_mock.clock` moves the mock's time (inject `harness_mock.clock.sleep` into clients).

`--harness-coverage PATH` writes PATH.json and PATH.html at the end of the session: which declared
responses the tests exercised through the mock (plus `--harness-coverage-cassettes` recordings).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.coverage import SessionCoverage
    from harness.mock import RunningMock

_COVERAGE: pytest.StashKey[SessionCoverage] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "contract-harness mock server")
    group.addoption(
        "--harness-contract",
        action="append",
        default=[],
        metavar="PATH",
        help="OpenAPI contract the harness_mock fixture serves (repeatable).",
    )
    parser.addini("harness_contracts", "OpenAPI contracts the harness_mock fixture serves.", type="linelist")
    group.addoption(
        "--harness-coverage",
        metavar="PATH",
        help="At the end of the session, write the coverage matrix of the mock's contracts (what the tests "
        "exercised) to PATH.json and PATH.html.",
    )
    group.addoption(
        "--harness-coverage-cassettes",
        action="append",
        default=[],
        metavar="PATH",
        help="Cassette file or folder that also counts for --harness-coverage (repeatable).",
    )
    parser.addini(
        "harness_api",
        "API name for harness_vcr_config: cassettes go to cassettes/<api>/ (default: the test module name).",
    )


@pytest.fixture(scope="session")
def harness_contracts(pytestconfig: pytest.Config) -> list[str]:
    """The contracts to serve; override this fixture in a conftest.py to choose them in code."""
    configured = pytestconfig.getini("harness_contracts")
    if configured:
        return [str(pytestconfig.rootpath / path) for path in configured]
    found = sorted(str(path) for path in (pytestconfig.rootpath / "contracts").glob("*.yaml"))
    if not found:
        raise pytest.UsageError(
            "harness_mock has no contract to serve: pass --harness-contract PATH, set `harness_contracts` "
            "in the pytest ini options, or override the `harness_contracts` fixture"
        )
    return found


@pytest.fixture(scope="session")
def harness_mock_server(request: pytest.FixtureRequest) -> Iterator[RunningMock]:
    """One mock server for the whole session, on a free port of 127.0.0.1."""
    from harness.errors import HarnessError
    from harness.mock import serve_mock

    paths = request.config.getoption("harness_contract") or request.getfixturevalue("harness_contracts")
    try:
        running = serve_mock([Path(path) for path in paths])
    except HarnessError as exc:
        raise pytest.UsageError(f"harness_mock cannot start: {exc}") from None
    coverage = request.config.stash.get(_COVERAGE, None)
    if coverage is not None:
        coverage.contracts = list(running.engine.contracts.contracts)
    with running:
        yield running
        if coverage is not None:
            coverage.collect(running.journal())


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("harness_coverage", None)
    if target:
        from harness.coverage import SessionCoverage

        config.stash[_COVERAGE] = SessionCoverage(target, config.getoption("harness_coverage_cassettes"))
    config.addinivalue_line(
        "markers",
        "harness_allow_violations: the harness_mock fixture does not fail the test when the code under "
        "test sent requests that break the contract or match no operation",
    )
    config.addinivalue_line(
        "markers",
        "harness_fault(fault, **rule): a fault rule the harness_mock fixture applies for this test, e.g. "
        "harness_fault('unavailable', operation='repos/get', times=2)",
    )


@pytest.fixture
def harness_mock(harness_mock_server: RunningMock, request: pytest.FixtureRequest) -> Iterator[RunningMock]:
    """The session's mock server, reset (journal and state) before this test, with the fault rules of
    the test's `harness_fault` markers.

    At teardown the test fails if the code under test sent a request that broke the contract or
    matched no operation, listing each one; `@pytest.mark.harness_allow_violations` opts out.
    """
    from harness.errors import HarnessError

    coverage = request.config.stash.get(_COVERAGE, None)
    if coverage is not None:  # keep what earlier tests sent before the journal is cleared
        coverage.collect(harness_mock_server.journal())
    harness_mock_server.reset()
    # Closest markers first: rules are tried in the order they were added.
    for marker in request.node.iter_markers("harness_fault"):
        problem = None
        try:
            harness_mock_server.add_fault(*marker.args, **marker.kwargs)
        except (HarnessError, TypeError) as exc:
            problem = str(exc)
        if problem is not None:
            given = ", ".join([*map(repr, marker.args), *(f"{k}={v!r}" for k, v in marker.kwargs.items())])
            pytest.fail(f"@pytest.mark.harness_fault({given}): {problem}", pytrace=False)
    yield harness_mock_server
    if request.node.get_closest_marker("harness_allow_violations") is not None:
        return
    problems = harness_mock_server.contract_problems()
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        pytest.fail(
            f"requests sent to the mock broke the contract:\n{listing}\n"
            "(mark the test with @pytest.mark.harness_allow_violations if that is intended)",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def harness_vcr_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A pytest-recording `vcr_config`: the recorder's redaction defaults, `cassettes/<api>/`.

    <api> is the `harness_api` ini option, else the test module's name without `test_`; when
    `contracts/<api>.yaml` exists, the credentials its `securitySchemes` name are redacted too.

        @pytest.fixture(scope="module")
        def vcr_config(harness_vcr_config):
            return harness_vcr_config

        @pytest.fixture(scope="module")
        def vcr_cassette_dir(harness_vcr_config):
            return harness_vcr_config["cassette_library_dir"]
    """
    from harness.errors import HarnessError
    from harness.redaction import vcr_config

    root = request.config.rootpath
    api = request.config.getini("harness_api") or request.path.stem.removeprefix("test_")
    contract = root / "contracts" / f"{api}.yaml"
    try:
        return vcr_config(api, contract=contract if contract.exists() else None, root=root)
    except HarnessError as exc:
        raise pytest.UsageError(f"harness_vcr_config: {exc}") from None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    coverage = config.stash.get(_COVERAGE, None)
    if coverage is None:
        return
    matrix = coverage.write()
    if matrix is None:
        terminalreporter.write_line(
            "harness coverage: no test used the harness_mock fixture; nothing written"
        )
        return
    summary = matrix.summary()
    json_path, html_path = coverage.paths
    terminalreporter.write_line(
        f"harness coverage: {summary.covered} of {summary.declared} declared responses exercised "
        f"({summary.percent:.0f}%); written to {json_path} and {html_path}"
    )
