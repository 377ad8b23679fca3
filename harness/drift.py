"""Drift: how a live (or recorded) response departs from the contract.

The recorder checks every live response as it records it, so a user learns that the real API no
longer does what the contract says while recording, not when the mock later answers differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.compiled import compiled
from harness.contracts import Contract, ContractSet, load_contract
from harness.routing import RouteMatch
from harness.validation import Violation


@dataclass(frozen=True)
class Drift:
    """One difference between a response and its operation's contract."""

    method: str
    path: str
    operation: str | None  # None when no operation of the contract matches the request
    status: int
    violation: Violation

    @property
    def pointer(self) -> str:
        """Where, as a JSON pointer into the body ('/items/0/id'), or the part ('status', 'header/...')."""
        location = self.violation.location
        if location == "body":
            return "body#"
        if location.startswith("body/"):
            return "body#/" + location[len("body/") :]
        return location

    def __str__(self) -> str:
        where = self.operation or "no operation"
        value = f" (got {self.violation.value})" if self.violation.value is not None else ""
        return (
            f"{self.method} {self.path} [{where}] -> {self.status}: {self.pointer}: "
            f"{self.violation.message} [{self.violation.rule}]{value}"
        )


class DriftDetector:
    """Checks responses against contracts; compiles each operation's responses once."""

    def __init__(self, contracts: ContractSet | Sequence[Contract | str | Path]):
        if not isinstance(contracts, ContractSet):
            contracts = ContractSet(
                [item if isinstance(item, Contract) else load_contract(item) for item in contracts]
            )
        self.contracts = contracts

    def check(self, method: str, path: str, status: int, content_type: str, body: bytes) -> list[Drift]:
        """Every drift of one response; `path` is the request's path (with any base path)."""
        matched = self.contracts.match(method.upper(), path)
        if not isinstance(matched, RouteMatch):
            reason = "wrong method" if matched.is_wrong_method else "unknown path"
            violation = Violation("request", "operation", f"no operation of the contract matches ({reason})")
            return [Drift(method, path, None, status, violation)]
        operation = matched.target
        return [
            Drift(method, path, operation.name, status, violation)
            for violation in compiled(operation).catalog.check(status, content_type, body)
        ]
