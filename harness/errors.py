"""Every error the harness raises, under one base class.

Messages are part of the API: each says what happened, where, and how to fix it.
"""

from __future__ import annotations

import enum


class HarnessError(Exception):
    """Base class of every error raised by contract-harness."""


class ContractErrorKind(enum.StrEnum):
    """Why a contract could not be loaded; the CLI branches on it."""

    NOT_FOUND = "not_found"
    SYNTAX = "syntax"
    NOT_OPENAPI = "not_openapi"
    UNSUPPORTED_VERSION = "unsupported_version"
    BROKEN_REFERENCE = "broken_reference"
    INVALID = "invalid"
    CONFLICT = "conflict"


class ContractError(HarnessError):
    """A contract that cannot be served: names the file, the JSON pointer and the problem."""

    def __init__(
        self, kind: ContractErrorKind, source: str, problem: str, *, pointer: str = "", hint: str = ""
    ):
        self.kind = kind
        self.source = source
        self.pointer = pointer
        self.problem = problem
        self.hint = hint
        where = f"{source}#{pointer}" if pointer else source
        message = f"{where}: {problem}"
        if hint:
            message += f"\n  hint: {hint}"
        super().__init__(message)


class ContractNotFound(ContractError, FileNotFoundError):
    """The contract file does not exist."""

    def __init__(self, source: str):
        super().__init__(
            ContractErrorKind.NOT_FOUND,
            source,
            "no such file",
            hint="pass the path of an OpenAPI document (YAML or JSON, optionally .gz)",
        )


class ConfigurationError(HarnessError, ValueError):
    """An option or setting with a value the harness cannot use."""


class FaultError(ConfigurationError):
    """A fault, fault rule or fault option the mock cannot apply; `choices` lists the valid values."""

    def __init__(self, message: str, *, choices: list[str] | tuple[str, ...] = ()):
        self.choices = list(choices)
        super().__init__(message)
