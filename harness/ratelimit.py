"""Real rate limiting: a counting window per credential, per resource, on the mock's clock.

It is on for contracts that declare rate-limit response headers (`X-RateLimit-*`, as GitHub's does,
or the IETF `RateLimit`/`RateLimit-Policy`), and for any contract or operation given a limit:

    x-harness-rate-limit: {limit: 60, window: 3600, resource: core}    # contract or operation level

or a `--rate-limits FILE` (YAML: contract name -> settings, with per-operation `operations:`), which
wins over the contract. Every response then carries the true remaining count and reset time; when
the budget is spent the operation answers `rate_limited` until the window resets.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigurationError
from harness.faults import RATE_LIMIT_HEADER_STYLES

if TYPE_CHECKING:
    from harness.clock import Clock
    from harness.contracts import Contract, ContractSet, Operation
    from harness.state import StateStore

EXTENSION = "x-harness-rate-limit"
DEFAULT_LIMIT = 60  # GitHub's unauthenticated limit, per hour
DEFAULT_WINDOW = 3600
DOCUMENTATION_URL = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
_GITHUB_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
_IETF_HEADERS = ("ratelimit", "ratelimit-policy", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


class RateLimitConfigError(ConfigurationError):
    """A rate-limit setting the mock cannot use; names where it came from and what is valid."""


@dataclass(frozen=True)
class RateLimitPolicy:
    """`limit` requests per `window` seconds in the `resource` bucket, per credential."""

    limit: int = DEFAULT_LIMIT
    window: float = DEFAULT_WINDOW
    resource: str = "core"
    status: int | None = None  # None: 403 with GitHub's headers, else 429
    headers: str = "github"  # github | ietf | both
    authenticated_limit: int | None = None  # a different limit for callers with credentials

    @property
    def exceeded_status(self) -> int:
        if self.status is not None:
            return self.status
        return 403 if self.headers == "github" else 429

    def limit_for(self, authenticated: bool) -> int:
        return self.authenticated_limit if authenticated and self.authenticated_limit else self.limit

    def merged(self, settings: Mapping[str, Any], where: str) -> RateLimitPolicy:
        valid = [item.name for item in fields(self)]
        unknown = [key for key in settings if key not in valid and key != "operations"]
        if unknown:
            raise RateLimitConfigError(
                f"{where}: unknown rate-limit setting(s) {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(valid)}"
            )
        changes: dict[str, Any] = {}
        for key in ("limit", "authenticated_limit"):
            if key in settings:
                changes[key] = _positive(settings[key], f"{where}: {key}", integer=True)
        if "window" in settings:
            changes["window"] = _positive(settings["window"], f"{where}: window", integer=False)
        if "resource" in settings:
            if not isinstance(settings["resource"], str) or not settings["resource"]:
                raise RateLimitConfigError(f"{where}: resource must be a non-empty name such as 'core'")
            changes["resource"] = settings["resource"]
        if "status" in settings:
            if settings["status"] not in (403, 429):
                raise RateLimitConfigError(f"{where}: status must be 403 or 429, got {settings['status']!r}")
            changes["status"] = settings["status"]
        if "headers" in settings:
            if settings["headers"] not in RATE_LIMIT_HEADER_STYLES:
                raise RateLimitConfigError(
                    f"{where}: headers must be one of {', '.join(RATE_LIMIT_HEADER_STYLES)}, "
                    f"got {settings['headers']!r}"
                )
            changes["headers"] = settings["headers"]
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "window": self.window,
            "resource": self.resource,
            "status": self.exceeded_status,
            "headers": self.headers,
            **({"authenticated_limit": self.authenticated_limit} if self.authenticated_limit else {}),
        }


def _positive(value: object, where: str, *, integer: bool) -> Any:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value <= 0
        or not math.isfinite(value)
    ):
        raise RateLimitConfigError(f"{where} must be a positive number, got {value!r}")
    if integer and value != int(value):
        raise RateLimitConfigError(f"{where} must be a whole number, got {value!r}")
    return int(value) if integer else float(value)


@dataclass(frozen=True)
class RateLimitState:
    """One caller's window after a request: what the `X-RateLimit-*` headers say."""

    policy: RateLimitPolicy
    limit: int
    used: int
    reset: int  # epoch seconds
    now: float
    exceeded: bool

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def seconds_to_reset(self) -> int:
        return max(0, math.ceil(self.reset - self.now))

    def headers(self, style: str | None = None) -> list[tuple[str, str]]:
        style = style or self.policy.headers
        found: list[tuple[str, str]] = []
        if style in ("github", "both"):
            found += [
                ("X-RateLimit-Limit", str(self.limit)),
                ("X-RateLimit-Remaining", str(self.remaining)),
                ("X-RateLimit-Reset", str(self.reset)),
                ("X-RateLimit-Used", str(self.used)),
                ("X-RateLimit-Resource", self.policy.resource),
            ]
        if style in ("ietf", "both"):
            # draft-ietf-httpapi-ratelimit-headers-09: quota q per window w; remaining r, reset in t seconds.
            name = self.policy.resource.replace('"', "")
            found += [
                ("RateLimit-Policy", f'"{name}";q={self.limit};w={math.ceil(self.policy.window)}'),
                ("RateLimit", f'"{name}";r={self.remaining};t={self.seconds_to_reset}'),
            ]
        return found


class RateLimits:
    """Which policy applies to each operation: config file > operation extension > contract extension >
    detection (a contract that declares rate-limit headers gets GitHub's 60 per hour)."""

    def __init__(
        self, contracts: ContractSet, config: Mapping[str, Any] | None = None, source: str = "rate limits"
    ):
        self._config = dict(config or {})
        self._source = source
        self._policies: dict[int, RateLimitPolicy | None] = {}
        by_name = {contract.name: contract for contract in contracts.contracts}
        for name, settings in self._config.items():
            if name not in by_name:
                raise RateLimitConfigError(
                    f"{source}: no served contract is named {name!r}; contracts: {', '.join(sorted(by_name))}"
                )
            if settings is not False and not isinstance(settings, Mapping):
                raise RateLimitConfigError(
                    f"{source}: {name}: give a mapping such as {{limit: 60, window: 3600}}, "
                    "or false to turn it off"
                )
            operations = settings.get("operations", {}) if isinstance(settings, Mapping) else {}
            for key in operations:
                if by_name[name].find_operation(key) is None:
                    names = sorted(op.operation_id or op.label for op in by_name[name].operations)
                    raise RateLimitConfigError(
                        f"{source}: {name}: no operation {key!r}; operations: {', '.join(names[:20])}"
                    )
        for operation in contracts.operations:
            self._policies[id(operation)] = self._resolve(operation)

    def policy(self, operation: Operation) -> RateLimitPolicy | None:
        return self._policies.get(id(operation))

    def listing(self, contracts: ContractSet) -> list[dict[str, Any]]:
        return [
            {"contract": op.contract.name, "operation": op.name, **policy.as_dict()}
            for op in contracts.operations
            if (policy := self.policy(op)) is not None
        ]

    def _resolve(self, operation: Operation) -> RateLimitPolicy | None:
        contract = operation.contract
        file_settings = self._config.get(contract.name)
        if file_settings is False:
            return None
        contract_extension = contract.raw.get(EXTENSION)
        operation_extension = operation.definition.get(EXTENSION)
        declared = _declared_header_style(contract)
        file_operation = None
        if isinstance(file_settings, Mapping):
            for key, value in (file_settings.get("operations") or {}).items():
                if contract.find_operation(key) is operation:
                    file_operation = value
        if operation_extension is False or file_operation is False:
            return None
        if not any((declared, contract_extension, operation_extension, file_settings, file_operation)):
            return None
        policy = RateLimitPolicy(headers=declared or "github")
        where = f"{contract.source}#/{EXTENSION}"
        for settings, place in (
            (contract_extension, where),
            (operation_extension, f"{contract.source}: {operation.name}: {EXTENSION}"),
            (file_settings, f"{self._source}: {contract.name}"),
            (file_operation, f"{self._source}: {contract.name}: operations: {operation.name}"),
        ):
            if isinstance(settings, Mapping):
                policy = policy.merged(settings, place)
            elif settings not in (None, True, False):
                raise RateLimitConfigError(f"{place}: give a mapping such as {{limit: 60, window: 3600}}")
        return policy


def _declared_header_style(contract: Contract) -> str | None:
    """'github', 'ietf' or 'both' when the contract's responses declare those headers, else None."""
    names: set[str] = set()
    raw = contract.raw
    responses = [
        response
        for path_item in raw.get("paths", {}).values()
        if isinstance(path_item, Mapping)
        for operation in path_item.values()
        if isinstance(operation, Mapping)
        for response in (operation.get("responses") or {}).values()
    ]
    responses += list((raw.get("components", {}).get("responses") or {}).values())
    for response in responses:
        if isinstance(response, Mapping):
            names.update(str(name).lower() for name in (response.get("headers") or {}))
    github = any(name in names for name in _GITHUB_HEADERS)
    ietf = any(name in names for name in _IETF_HEADERS)
    if github and ietf:
        return "both"
    return "github" if github else "ietf" if ietf else None


class RateLimiter:
    """Counts requests per (contract, resource, caller) in the state store, on the mock's clock."""

    def __init__(self, store: StateStore, clock: Clock):
        self._store = store
        self._clock = clock

    def hit(
        self, policy: RateLimitPolicy, contract: str, identity: str, *, authenticated: bool
    ) -> RateLimitState:
        """Count one request; `exceeded` when the window's budget was already spent."""
        now = self._clock.now()
        limit = policy.limit_for(authenticated)
        count = self._store.window_hit(self._key(policy, contract, identity), now, policy.window, limit)
        return RateLimitState(policy, limit, count.used, math.ceil(count.reset), now, not count.allowed)

    def exhausted(
        self, policy: RateLimitPolicy, contract: str, identity: str, *, authenticated: bool
    ) -> RateLimitState:
        """The state a forced `rate_limited` fault reports: the caller's window, with nothing left."""
        now = self._clock.now()
        limit = policy.limit_for(authenticated)
        window = self._store.window_peek(self._key(policy, contract, identity), now)
        reset = window.reset if window is not None else now + policy.window
        return RateLimitState(policy, limit, limit, math.ceil(reset), now, True)

    def current(
        self, policy: RateLimitPolicy, contract: str, identity: str, *, authenticated: bool
    ) -> RateLimitState:
        """The caller's window as it stands, without counting a request."""
        now = self._clock.now()
        limit = policy.limit_for(authenticated)
        window = self._store.window_peek(self._key(policy, contract, identity), now)
        used, reset = (window.used, window.reset) if window is not None else (0, now + policy.window)
        return RateLimitState(policy, limit, used, math.ceil(reset), now, False)

    @staticmethod
    def _key(policy: RateLimitPolicy, contract: str, identity: str) -> str:
        # Hashed: raw tokens do not belong in a shared Redis.
        caller = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24]
        return f"ratelimit:{contract}:{policy.resource}:{caller}"


def load_rate_limits(source: str | Path | Mapping[str, Any] | None) -> tuple[dict[str, Any], str]:
    """A `--rate-limits` file (YAML or JSON) or mapping, with a name for messages."""
    if source is None:
        return {}, "rate limits"
    if isinstance(source, Mapping):
        return dict(source), "rate limits"
    from harness.scenario import read_yaml_mapping

    return read_yaml_mapping(Path(source), "rate-limits file"), str(source)
