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


class _Missing(Exception):
    pass


class _Malformed(Exception):
    pass


def check_security(operation: Operation, request: HttpRequest) -> SecurityOutcome:
    requirements = operation.security
    if not requirements or any(not requirement for requirement in requirements):
        # Anonymous access allowed; still report credentials that were sent, for rate limiting.
        return SecurityOutcome(True, _present_credentials(operation, request, requirements))
    schemes = operation.contract.security_schemes
    problems: list[str] = []
    for requirement in requirements:
        credentials = []
        try:
            for name, scopes in requirement.items():
                scheme = schemes.get(name)
                if scheme is None:
                    continue  # an undeclared scheme cannot be checked; the loader warns about it
                credentials.append(Credential(name, _read(scheme, request), tuple(scopes or ())))
        except (_Missing, _Malformed) as exc:
            problems.append(str(exc))
            continue
        return SecurityOutcome(True, tuple(credentials))
    challenges = tuple(
        dict.fromkeys(
            _challenge(schemes[name], operation.contract.raw)
            for requirement in requirements
            for name in requirement
            if name in schemes
        )
    )
    return SecurityOutcome(False, (), tuple(dict.fromkeys(problems)), challenges)


def _present_credentials(
    operation: Operation, request: HttpRequest, requirements: list[dict[str, Any]]
) -> tuple[Credential, ...]:
    schemes = operation.contract.security_schemes
    found = []
    for requirement in requirements:
        for name in requirement:
            if name in schemes:
                try:
                    found.append(Credential(name, _read(schemes[name], request)))
                except (_Missing, _Malformed):
                    continue
    return tuple(found)


def _read(scheme: dict[str, Any], request: HttpRequest) -> str:
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
            raise _Missing(f"missing API key: the {where} {name!r} is required")
        if not value.strip():
            raise _Malformed(f"empty API key in the {where} {name!r}")
        return value.strip()
    if kind == "basic" or (kind == "http" and str(scheme.get("scheme", "")).lower() == "basic"):
        return _basic(request)
    if kind == "http":
        return _authorization(request, str(scheme.get("scheme", "bearer")))
    if kind in ("oauth2", "openIdConnect"):
        return _authorization(request, "bearer")
    return "mutual-tls"  # mutualTLS happens below HTTP; nothing to check here


def _authorization(request: HttpRequest, expected: str) -> str:
    header = request.headers.get("Authorization")
    if header is None:
        raise _Missing(
            f"missing credentials: an 'Authorization: {expected.capitalize()} …' header is required"
        )
    kind, _, value = header.strip().partition(" ")
    if kind.lower() != expected.lower() or not value.strip() or " " in value.strip():
        raise _Malformed(
            f"malformed Authorization header: expected '{expected.capitalize()} <credentials>', "
            f"got {kind or '(empty)'!r} …"
        )
    return value.strip()


def _basic(request: HttpRequest) -> str:
    encoded = _authorization(request, "basic")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _Malformed("malformed Basic credentials: not base64 of 'user:password'") from None
    user, colon, _ = decoded.partition(":")
    if not colon:
        raise _Malformed("malformed Basic credentials: 'user:password' has no colon")
    return user


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
