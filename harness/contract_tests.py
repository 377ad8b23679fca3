"""One line in a test module turns a contract into pytest tests: a thin layer over schemathesis.

    # tests/test_todo_contract.py
    from harness import contract_tests, contract_state_machine

    test_todo_api = contract_tests("contracts/todo.yaml", app="examples.todo_server:app", max_examples=25)
    TestTodoWorkflows = contract_state_machine("contracts/todo.yaml", app="examples.todo_server:app")

`contract_tests` is schemathesis' `schema.parametrize()` (one pytest item per operation, running
the examples, coverage and fuzzing phases with positive and negative data and every check);
`contract_state_machine` is its `schema.as_state_machine().TestCase` (stateful sequences following
the contract's links). What they add: the contract is loaded by the harness (YAML, JSON, .gz,
with its errors), the target and options are set right after loading (schemathesis snapshots them
when an operation is first built), and options share `harness verify`'s names and validation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.contracts import load_contract
from harness.errors import ConfigurationError
from harness.verify import Phase, VerifyOptions, resolve_includes

_PYTEST_PHASES = (Phase.EXAMPLES, Phase.COVERAGE, Phase.FUZZING)


def contract_tests(
    contract: str | Path, *, url: str | None = None, app: Any = None, **options: Any
) -> Callable[..., None]:
    """A pytest test, parametrized with one item per operation of `contract`.

    Assign it to a `test_*` name in a test module. Each item generates cases and checks every
    response with all of schemathesis' checks.

    Args:
        contract: path of the OpenAPI document.
        url: base URL of the server under test (with its base path).
        app: a WSGI app or 'module:attribute', called in process (no socket).
        **options: `VerifyOptions` fields: max_examples, include, headers, auth, phases
            (examples, coverage, fuzzing), checks, exclude_checks, mode, request_timeout, seed.

    Raises:
        ConfigurationError: no target or both, an unknown option, an --include that matches nothing.
        ContractError: the contract cannot be loaded.
    """
    schema, settings = _schema(contract, url, app, options, phases=_PYTEST_PHASES)

    def test_contract(case: Any) -> None:
        case.call_and_validate()

    test_contract = schema.parametrize()(test_contract)

    if settings.seed is not None:
        from hypothesis import seed

        test_contract = seed(settings.seed)(test_contract)
    return test_contract


def contract_state_machine(
    contract: str | Path, *, url: str | None = None, app: Any = None, **options: Any
) -> type:
    """A unittest-style `TestCase` class running stateful sequences through the contract's links.

    Assign it to a `Test*` name in a test module. Takes the same arguments as `contract_tests`;
    `max_examples` bounds the number of sequences.
    """
    from hypothesis import HealthCheck, settings

    schema, chosen = _schema(contract, url, app, options, phases=(Phase.STATEFUL,))
    test_case: type = schema.as_state_machine().TestCase
    test_case.settings = settings(  # type: ignore[attr-defined]
        max_examples=chosen.max_examples or 50,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=chosen.seed is not None,
    )
    return test_case


def _schema(
    contract: str | Path, url: str | None, app: Any, options: dict[str, Any], *, phases: tuple[Phase, ...]
) -> tuple[Any, VerifyOptions]:
    import schemathesis
    from schemathesis import GenerationMode

    if (url is None) == (app is None):
        raise ConfigurationError("give exactly one target: url='http://…' or app=<WSGI app or 'module:attr'>")
    fields = set(VerifyOptions.__dataclass_fields__) - {"workers"}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) {', '.join(unknown)}; valid options: {', '.join(sorted(fields))} "
            "(run in parallel with pytest-xdist rather than workers)"
        )
    chosen = VerifyOptions(**{"phases": phases, **options})
    loaded = load_contract(contract)
    schema: Any = schemathesis.openapi.from_dict(loaded.raw)
    # Configure before anything builds an operation: operations snapshot the app and base URL.
    if app is not None:
        from harness.apps import load_app

        schema.app = load_app(app) if isinstance(app, str) else app
    else:
        schema.config.update(base_url=url)
    headers = dict(_header(value) for value in chosen.headers)
    if headers:
        schema.config.update(headers=headers)
    if chosen.auth is not None:
        user, _, password = chosen.auth.partition(":")
        schema.config.update(basic_auth=(user, password))
    if chosen.request_timeout is not None:
        schema.config.update(request_timeout=chosen.request_timeout)
    modes = {
        "positive": [GenerationMode.POSITIVE],
        "negative": [GenerationMode.NEGATIVE],
        "all": [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    }[chosen.mode.value]
    schema.config.generation.update(modes=modes, max_examples=chosen.max_examples)
    schema.config.phases.update(phases=[phase.value for phase in chosen.phases])
    if chosen.checks or chosen.exclude_checks:
        schema.config.checks.update(
            included_check_names=list(chosen.checks) or None,
            excluded_check_names=list(chosen.exclude_checks) or None,
        )
    if chosen.include:
        schema = schema.include(name=resolve_includes(loaded, chosen.include))
    return schema, chosen


def _header(value: str) -> tuple[str, str]:
    name, _, text = value.partition(":")
    return name.strip(), text.strip()
