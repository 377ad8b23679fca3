"""The per-operation compiled form: request rules and response catalog, built once on first use."""

from __future__ import annotations

from dataclasses import dataclass

from harness.contracts import Operation
from harness.responses import ResponseCatalog
from harness.validation import RequestValidator


@dataclass
class CompiledOperation:
    validator: RequestValidator
    catalog: ResponseCatalog

    @classmethod
    def build(cls, operation: Operation) -> CompiledOperation:
        return cls(RequestValidator.for_operation(operation), ResponseCatalog(operation))


def compiled(operation: Operation) -> CompiledOperation:
    """The operation's compiled form, built on first call (thread-safe) and cached on it."""
    result: CompiledOperation = operation.compiled(CompiledOperation.build)
    return result
