"""Check a request's credentials against the operation's security requirements.

The mock cannot know which tokens are real, so it checks what a server can check without a
database: that the credentials the contract requires are present and well formed. Requirements
are alternatives (any one set suffices), and a set needs all of its schemes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.http import HttpRequest

if TYPE_CHECKING:
    from harness.contracts import Operation


@dataclass(frozen=True)
class Credential:
    scheme: str  # the securitySchemes name
    value: str  # the token, key or user name; identifies the caller (rate limits count per credential)
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SecurityOutcome:
    ok: bool
    credentials: tuple[Credential, ...] = ()
    problems: tuple[str, ...] = ()
    challenges: tuple[str, ...] = field(default=())

    @property
    def identity(self) -> str | None:
        return self.credentials[0].value if self.credentials else None


@dataclass(frozen=True)
class _Plan:
    """An operation's requirements, resolved once: alternatives of (scheme name, scheme, scopes)."""

    anonymous: bool  # no requirements, or an empty one: credentials are optional
    alternatives: tuple[tuple[tuple[str, dict[str, Any], tuple[str, ...]], ...], ...]
    challenges: tuple[str, ...]


def _plan(operation: Operation) -> _Plan:
    requirements = operation.security
    schemes = operation.contract.security_schemes
    alternatives = tuple(
        tuple(
            (name, schemes[name], tuple(scopes or ()))
            for name, scopes in requirement.items()
            if name in schemes
        )
        for requirement in requirements
    )
    challenges = tuple(
        dict.fromkeys(
            _challenge(schemes[name], operation.contract.raw)
            for requirement in requirements
            for name in requirement
            if name in schemes
        )
    )
    anonymous = not requirements or any(not requirement for requirement in requirements)
    return _Plan(anonymous, alternatives, challenges)


def check_security(operation: Operation, request: HttpRequest) -> SecurityOutcome:
    # An undeclared scheme cannot be checked (the loader warns about it): the plan leaves it out.
    plan: _Plan = operation.memoized("security", _plan)
    if plan.anonymous:
        # Anonymous access allowed; still report credentials that were sent, for rate limiting.
        found = []
        for requirement in plan.alternatives:
            for name, scheme, _ in requirement:
                value, problem = _read(scheme, request)
                if problem is None:
                    found.append(Credential(name, value))
        return SecurityOutcome(True, tuple(found))
    problems: list[str] = []
    for requirement in plan.alternatives:
        credentials = []
        for name, scheme, scopes in requirement:
            value, problem = _read(scheme, request)
            if problem is not None:
                problems.append(problem)
                break
            credentials.append(Credential(name, value, scopes))
        else:
            return SecurityOutcome(True, tuple(credentials))
    return SecurityOutcome(False, (), tuple(dict.fromkeys(problems)), plan.challenges)


def _read(scheme: dict[str, Any], request: HttpRequest) -> tuple[str, str | None]:
    """(the credential, None), or ("", what is missing or malformed)."""
    kind = scheme.get("type")
    if kind == "apiKey":
        name, where = scheme.get("name", ""), scheme.get("in", "header")
        if where == "query":
            value = next((v for k, v in request.query if k == name), None)
        elif where == "cookie":
            value = request.cookies.get(name)
        else:
            value = request.headers.get(name)
        if value is None:
            return "", f"missing API key: the {where} {name!r} is required"
        if not value.strip():
            return "", f"empty API key in the {where} {name!r}"
        return value.strip(), None
    if kind == "basic" or (kind == "http" and str(scheme.get("scheme", "")).lower() == "basic"):
        return _basic(request)
    if kind == "http":
        return _authorization(request, str(scheme.get("scheme", "bearer")))
    if kind in ("oauth2", "openIdConnect"):
        return _authorization(request, "bearer")
    return "mutual-tls", None  # mutualTLS happens below HTTP; nothing to check here


def _authorization(request: HttpRequest, expected: str) -> tuple[str, str | None]:
    header = request.headers.get("Authorization")
    if header is None:
        return "", f"missing credentials: an 'Authorization: {expected.capitalize()} …' header is required"
    kind, _, value = header.strip().partition(" ")
    if kind.lower() != expected.lower() or not value.strip() or " " in value.strip():
        return "", (
            f"malformed Authorization header: expected '{expected.capitalize()} <credentials>', "
            f"got {kind or '(empty)'!r} …"
        )
    return value.strip(), None


def _basic(request: HttpRequest) -> tuple[str, str | None]:
    encoded, problem = _authorization(request, "basic")
    if problem is not None:
        return "", problem
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", "malformed Basic credentials: not base64 of 'user:password'"
    user, colon, _ = decoded.partition(":")
    if not colon:
        return "", "malformed Basic credentials: 'user:password' has no colon"
    return user, None


def _challenge(scheme: dict[str, Any], raw: dict[str, Any]) -> str:
    realm = str(raw.get("info", {}).get("title", "api")).replace('"', "'")
    kind = scheme.get("type")
    if kind == "basic" or (kind == "http" and str(scheme.get("scheme", "")).lower() == "basic"):
        return f'Basic realm="{realm}"'
    if kind == "http":
        return f'{str(scheme.get("scheme", "Bearer")).capitalize()} realm="{realm}"'
    if kind == "apiKey":
        return f'ApiKey realm="{realm}", in="{scheme.get("in", "header")}", name="{scheme.get("name", "")}"'
    return f'Bearer realm="{realm}"'
