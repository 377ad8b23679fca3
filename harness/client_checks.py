"""Property-based client checks: does a client survive every response its contract allows?

    @given(response=responses_for("contracts/todo.yaml", "getTask"))
    def test_get_task(harness_mock_server, response):
        with harness_mock_server.serving(response):
            ...call the client, assert what it promises...

or the ready-made check of the common promise (return normally, or raise only declared errors):

    check_client(harness_mock_server, "getTask", lambda: get_task(1, base_url=url), raises=(TodoError,))
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigurationError, HarnessError

if TYPE_CHECKING:
    from hypothesis import settings as Settings
    from hypothesis.strategies import SearchStrategy

    from harness.contracts import Contract, Operation
    from harness.mock import RunningMock
    from harness.strategies import GeneratedResponse


class ClientCheckFailure(HarnessError, AssertionError):
    """A client raised something its contract with its callers does not allow."""


@functools.lru_cache(maxsize=16)
def _load(path: str) -> Contract:
    from harness.contracts import load_contract

    return load_contract(path)


def _operation(contract: str | Path | Contract, operation: str) -> Operation:
    from harness.contracts import Contract

    loaded = contract if isinstance(contract, Contract) else _load(str(Path(contract).resolve()))
    found = loaded.find_operation(operation)
    if found is None:
        known = ", ".join(op.name for op in loaded.operations)
        raise ConfigurationError(f"{loaded.source} has no operation {operation!r}; known: {known}")
    return found


def responses_for(
    contract: str | Path | Contract,
    operation: str,
    *,
    statuses: Sequence[int | str] | None = None,
    faults: bool = False,
) -> SearchStrategy[GeneratedResponse]:
    """A hypothesis strategy of the responses `contract` allows for `operation` (by operationId or
    'GET /path'), optionally only some `statuses`; with `faults=True`, also the fault catalogue
    (401, 403, rate limits, 5xx, malformed JSON, wrong schema, dropped and cut connections).
    The contract loads when hypothesis first draws."""
    from hypothesis import strategies as st

    from harness.strategies import fault_strategy, response_strategy

    def build() -> SearchStrategy[GeneratedResponse]:
        found = _operation(contract, operation)
        allowed = response_strategy(found, statuses)
        return st.one_of(allowed, fault_strategy(found)) if faults else allowed

    return st.deferred(build)


def check_client(
    mock: RunningMock,
    operation: str,
    call: Callable[[], Any],
    *,
    raises: tuple[type[BaseException], ...] = (),
    statuses: Sequence[int | str] | None = None,
    faults: bool = True,
    settings: Settings | None = None,
) -> None:
    """Serve every kind of response `operation` allows, and every fault, to `call` and check it
    returns normally or raises only `raises`. A failure shrinks to the smallest response that breaks
    the client and shows it as the HTTP response the client received. Requests that break the
    contract fail too.
    """
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings

    contract_operation = mock.engine.contracts.find_operation(operation)
    if contract_operation is None:
        known = ", ".join(op.name for op in mock.engine.contracts.operations)
        raise ConfigurationError(f"the mock serves no operation {operation!r}; known: {known}")
    strategy = responses_for(contract_operation.contract, operation, statuses=statuses, faults=faults)
    chosen = settings or hypothesis_settings(
        max_examples=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    # One failure, the smallest, as one ClientCheckFailure (not a group of every distinct bug).
    chosen = hypothesis_settings(chosen, report_multiple_bugs=False)
    since = mock.last_journal_id

    @chosen
    @given(response=strategy)
    def client_survives(response: GeneratedResponse) -> None:
        with mock.serving(response):
            try:
                call()
            except raises:
                pass
            except Exception as exc:
                allowed = ", ".join(kind.__name__ for kind in raises) or "nothing"
                raise ClientCheckFailure(
                    f"{type(exc).__name__} escaped the client when {operation} answered "
                    f"(it may raise: {allowed}): {exc}\nThe response it received:\n{response!r}"
                ) from exc

    client_survives()
    problems = mock.contract_problems(since)
    if problems:
        raise ClientCheckFailure("the client sent requests that break the contract:\n" + "\n".join(problems))
