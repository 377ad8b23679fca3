"""contract-harness: contract mocks, cassettes, simulated failures and property tests for HTTP APIs.

The public API is what `__all__` lists; other modules are internal.
"""

from __future__ import annotations

from harness.client_checks import ClientCheckFailure, check_client, responses_for
from harness.contract_tests import contract_state_machine, contract_tests
from harness.contracts import Contract, ContractSet, Operation, load_contract
from harness.errors import (
    ConfigurationError,
    ContractError,
    ContractErrorKind,
    ContractNotFound,
    FaultError,
    HarnessError,
)
from harness.faults import Fault
from harness.http import Headers, HttpRequest, MockResponse
from harness.mock import RunningMock, serve_mock
from harness.recorder import RecordMode, RunningRecorder, serve_recorder
from harness.redaction import Redactor, vcr_config
from harness.strategies import GeneratedResponse
from harness.validation import Violation

__all__ = [
    "ClientCheckFailure",
    "ConfigurationError",
    "Contract",
    "ContractError",
    "ContractErrorKind",
    "ContractNotFound",
    "ContractSet",
    "Fault",
    "FaultError",
    "GeneratedResponse",
    "HarnessError",
    "Headers",
    "HttpRequest",
    "MockResponse",
    "Operation",
    "RecordMode",
    "Redactor",
    "RunningMock",
    "RunningRecorder",
    "Violation",
    "check_client",
    "contract_state_machine",
    "contract_tests",
    "load_contract",
    "responses_for",
    "serve_mock",
    "serve_recorder",
    "vcr_config",
]
