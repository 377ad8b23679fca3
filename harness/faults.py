"""The catalogue of simulated failures, and the rules that choose when the mock injects them.

A fault is named (`Fault`) and tuned by options (`FaultSpec`): `rate_limited; status=429`,
`slow; delay=uniform(0.1, 0.5)`. A `FaultRule` says which requests get it: an operation (operationId
or 'GET /path'), or a method and a path pattern, the next `times` of them, `after` N that pass, with a
`probability` drawn from a `seed` for reproducible chaos. The `FaultBook` keeps the rules in the state
store, so every worker sharing the store applies them, and counts `times`/`after` atomically.

This module only decides; `mock_server/faults.py` builds the failing responses.
"""

from __future__ import annotations

import difflib
import enum
import fnmatch
import json
import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from harness.errors import FaultError

if TYPE_CHECKING:
    from harness.contracts import ContractSet, Operation
    from harness.state import StateStore

FAULT_HEADER = "X-Harness-Fault"
FAULT_QUERY = "harness_fault"


class Fault(enum.StrEnum):
    """Every failure the mock can simulate."""

    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    SERVER_ERROR = "server_error"
    BAD_GATEWAY = "bad_gateway"
    GATEWAY_TIMEOUT = "gateway_timeout"
    MALFORMED_JSON = "malformed_json"
    WRONG_SCHEMA = "wrong_schema"
    SLOW = "slow"
    DRIBBLE = "dribble"
    DROP = "drop"
    RESET = "reset"
    TRUNCATED = "truncated"

    @classmethod
    def parse(cls, name: object) -> Fault:
        try:
            return cls(str(name).strip().lower())
        except ValueError:
            raise FaultError(
                f"unknown fault {name!r}; valid faults: {', '.join(FAULT_NAMES)}", choices=FAULT_NAMES
            ) from None

    @property
    def status(self) -> int | None:
        """The status the fault answers with (None: it keeps the operation's own)."""
        return _STATUS.get(self)

    @property
    def transport(self) -> bool:
        """True for faults of the connection (timing, cut bodies), which wrap the normal answer."""
        return self in (Fault.SLOW, Fault.DRIBBLE, Fault.DROP, Fault.RESET, Fault.TRUNCATED)


FAULT_NAMES = tuple(fault.value for fault in Fault)
_STATUS = {
    Fault.UNAUTHORIZED: 401,
    Fault.FORBIDDEN: 403,
    Fault.UNAVAILABLE: 503,
    Fault.SERVER_ERROR: 500,
    Fault.BAD_GATEWAY: 502,
    Fault.GATEWAY_TIMEOUT: 504,
}
MALFORMED_VARIANTS = ("truncated", "trailing_garbage", "html", "empty", "invalid_utf8")
WRONG_SCHEMA_VARIANTS = ("missing_required", "wrong_type")
RATE_LIMIT_STYLES = ("primary", "secondary")
RATE_LIMIT_HEADER_STYLES = ("github", "ietf", "both")
DISTRIBUTIONS = ("uniform", "exponential", "normal")


@dataclass(frozen=True)
class Delay:
    """A fixed delay, or one drawn from `uniform(low, high)`, `exponential(mean)`, `normal(mean, sd)`."""

    distribution: str  # "fixed" or one of DISTRIBUTIONS
    parameters: tuple[float, ...]

    @classmethod
    def parse(cls, value: object) -> Delay:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return cls._fixed(float(value), value)
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            pass
        else:
            return cls._fixed(seconds, value)
        match = re.fullmatch(r"(\w+)\(([^()]*)\)", text)
        hint = "a number of seconds, uniform(low, high), exponential(mean) or normal(mean, stddev)"
        if not match:
            raise FaultError(f"delay {value!r} is not {hint}", choices=("seconds", *DISTRIBUTIONS))
        name, raw = match.group(1).lower(), match.group(2)
        arity = {"uniform": 2, "exponential": 1, "normal": 2}
        if name not in arity:
            raise FaultError(
                f"unknown delay distribution {name!r}; valid: {', '.join(DISTRIBUTIONS)}",
                choices=DISTRIBUTIONS,
            )
        try:
            parameters = tuple(float(part) for part in raw.split(","))
        except ValueError:
            raise FaultError(f"delay {value!r} is not {hint}") from None
        if len(parameters) != arity[name] or any(p < 0 or not math.isfinite(p) for p in parameters):
            raise FaultError(f"delay {value!r} is not {hint} (with numbers of seconds >= 0)")
        if name == "uniform" and parameters[0] > parameters[1]:
            raise FaultError(f"delay {value!r}: uniform(low, high) needs low <= high")
        return cls(name, parameters)

    @classmethod
    def _fixed(cls, seconds: float, original: object) -> Delay:
        if seconds < 0 or not math.isfinite(seconds):
            raise FaultError(f"delay {original!r} must be a number of seconds >= 0")
        return cls("fixed", (seconds,))

    def sample(self, rng: random.Random) -> float:
        if self.distribution == "uniform":
            return rng.uniform(*self.parameters)
        if self.distribution == "exponential":
            mean = self.parameters[0]
            return rng.expovariate(1 / mean) if mean > 0 else 0.0
        if self.distribution == "normal":
            return max(0.0, rng.gauss(*self.parameters))
        return self.parameters[0]

    def __str__(self) -> str:
        if self.distribution == "fixed":
            return f"{self.parameters[0]:g}"
        return f"{self.distribution}({', '.join(f'{p:g}' for p in self.parameters)})"


def _choice(choices: tuple[str, ...]) -> Any:
    def parse(name: str, value: object) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise FaultError(
                f"{name}={value!r} is not valid; choose one of: {', '.join(choices)}", choices=choices
            )
        return text

    return parse


def _status(allowed: tuple[int, ...]) -> Any:
    def parse(name: str, value: object) -> int:
        try:
            status = int(str(value))
        except ValueError:
            status = -1
        if status not in allowed:
            valid = tuple(str(code) for code in allowed)
            raise FaultError(
                f"{name}={value!r} is not valid; choose one of: {', '.join(valid)}", choices=valid
            )
        return status

    return parse


def _number(minimum: float, integer: bool = False) -> Any:
    def parse(name: str, value: object) -> float | int:
        try:
            number = float(str(value))
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number < minimum or (integer and number != int(number)):
            kind = "an integer" if integer else "a number"
            raise FaultError(f"{name}={value!r} must be {kind} >= {minimum:g}")
        return int(number) if integer else number

    return parse


# The options each fault takes, with their parsers; anything else is refused with this list.
OPTIONS: dict[Fault, dict[str, Any]] = {
    Fault.UNAUTHORIZED: {},
    Fault.FORBIDDEN: {},
    Fault.RATE_LIMITED: {
        "style": _choice(RATE_LIMIT_STYLES),
        "status": _status((403, 429)),
        "retry_after": _number(0),
        "headers": _choice(RATE_LIMIT_HEADER_STYLES),
    },
    Fault.UNAVAILABLE: {"retry_after": _number(0)},
    Fault.SERVER_ERROR: {},
    Fault.BAD_GATEWAY: {},
    Fault.GATEWAY_TIMEOUT: {},
    Fault.MALFORMED_JSON: {"variant": _choice(MALFORMED_VARIANTS)},
    Fault.WRONG_SCHEMA: {"variant": _choice(WRONG_SCHEMA_VARIANTS)},
    Fault.SLOW: {"delay": lambda name, value: Delay.parse(value)},
    Fault.DRIBBLE: {"chunk": _number(1, integer=True), "interval": _number(0)},
    Fault.DROP: {},
    Fault.RESET: {"at": _number(0, integer=True)},
    Fault.TRUNCATED: {"at": _number(0, integer=True)},
}


@dataclass(frozen=True)
class FaultSpec:
    """One fault with its options, validated: `FaultSpec.parse("slow", {"delay": "0.5"})`."""

    fault: Fault
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, name: object, options: Mapping[str, Any] | None = None) -> FaultSpec:
        fault = Fault.parse(name)
        valid = OPTIONS[fault]
        parsed: dict[str, Any] = {}
        for key, value in (options or {}).items():
            if key not in valid:
                names = tuple(valid) or ("(none)",)
                raise FaultError(
                    f"fault {fault.value!r} takes no option {key!r}; its options: {', '.join(names)}",
                    choices=tuple(valid),
                )
            parsed[key] = valid[key](key, value)
        return cls(fault, parsed)

    def get(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def as_dict(self) -> dict[str, Any]:
        options = {
            key: str(value) if isinstance(value, Delay) else value for key, value in self.options.items()
        }
        return {"fault": self.fault.value, **options}

    def __str__(self) -> str:
        options = [f"{key}={value}" for key, value in self.as_dict().items() if key != "fault"]
        return "; ".join([self.fault.value, *options])


def parse_fault_header(value: str) -> list[FaultSpec]:
    """`unavailable; retry_after=5` or several, comma-separated: `malformed_json, slow; delay=0.5`."""
    specs = []
    for part in _split_outside_parentheses(value, ","):
        if not part.strip():
            continue
        name, *raw_options = _split_outside_parentheses(part, ";")
        options: dict[str, str] = {}
        for raw in raw_options:
            key, sep, option = raw.partition("=")
            if not sep or not key.strip():
                raise FaultError(f"fault option {raw.strip()!r} in {value!r} is not name=value")
            options[key.strip().lower()] = option.strip()
        specs.append(FaultSpec.parse(name, options))
    if not specs:
        raise FaultError(
            f"no fault named in {value!r}; valid faults: {', '.join(FAULT_NAMES)}", choices=FAULT_NAMES
        )
    replacing = [spec for spec in specs if not spec.fault.transport]
    if len(replacing) > 1:
        raise FaultError(
            f"{value!r} names {len(replacing)} faults that each replace the response "
            f"({', '.join(spec.fault.value for spec in replacing)}); combine at most one with slow, dribble, "
            "drop, reset or truncated"
        )
    return specs


def _split_outside_parentheses(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts]


# -- rules -----------------------------------------------------------------------------------------

RULE_KEYS = ("fault", "operation", "method", "path", "times", "after", "probability", "seed", "id")


@dataclass(frozen=True)
class FaultRule:
    """When to inject a fault: which requests, how many, after how many successes, how likely."""

    spec: FaultSpec
    operation: str | None = None
    method: str | None = None
    path: str | None = None
    times: int | None = None
    after: int = 0
    probability: float = 1.0
    seed: int | None = None
    id: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], contracts: ContractSet | None = None) -> FaultRule:
        """Validate a rule as the admin API, scenario files and the pytest marker give it.

        Raises:
            FaultError: unknown fault or option, a probability outside 0..1, bad counts, or a rule
                that matches no operation of `contracts`; the message lists the valid choices.
        """
        if not isinstance(data, Mapping):
            raise FaultError(
                f"a fault rule is a mapping such as {{'fault': 'unavailable', 'times': 2}}, got {data!r}"
            )
        if "fault" not in data:
            raise FaultError(
                f"fault rule {dict(data)!r} names no fault; add 'fault': one of {', '.join(FAULT_NAMES)}",
                choices=FAULT_NAMES,
            )
        fault = Fault.parse(data["fault"])
        unknown = [key for key in data if key not in RULE_KEYS and key not in OPTIONS[fault]]
        if unknown:
            valid = (*RULE_KEYS[1:-1], *OPTIONS[fault])
            raise FaultError(
                f"fault rule has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"valid keys for {fault.value!r}: {', '.join(valid)}",
                choices=valid,
            )
        spec = FaultSpec.parse(fault, {key: value for key, value in data.items() if key in OPTIONS[fault]})
        probability = _probability(data.get("probability", 1.0))
        rule = cls(
            spec,
            operation=_optional_text(data, "operation"),
            method=(_optional_text(data, "method") or "").upper() or None,
            path=_optional_text(data, "path"),
            times=_count(data, "times", minimum=1),
            after=_count(data, "after", minimum=0) or 0,
            probability=probability,
            seed=_count(data, "seed", minimum=None),
            id=_count(data, "id", minimum=0),
        )
        if contracts is not None:
            rule.check_matches(contracts)
        return rule

    def check_matches(self, contracts: ContractSet) -> None:
        """Refuse a rule that no operation of the served contracts can match."""
        operations = contracts.operations
        if any(self.matches(operation) for operation in operations):
            return
        if self.operation is not None:
            names = sorted({name for op in operations for name in (op.operation_id, op.label) if name})
            closest = difflib.get_close_matches(self.operation, names, n=5, cutoff=0.4) or names[:10]
            raise FaultError(
                f"fault rule for operation {self.operation!r} matches no operation of the served contracts; "
                f"closest: {', '.join(closest)}",
                choices=closest,
            )
        labels = sorted({f"{op.method} {op.mounted_path}" for op in operations})
        wanted = f"{self.method or '*'} {self.path or '*'}"
        closest = difflib.get_close_matches(wanted, labels, n=5, cutoff=0.3) or labels[:10]
        raise FaultError(
            f"fault rule for {wanted} matches no operation of the served contracts; "
            f"closest: {', '.join(closest)}",
            choices=closest,
        )

    def matches(self, operation: Operation, request_path: str | None = None) -> bool:
        if self.operation is not None and self.operation not in (operation.operation_id, operation.label):
            return False
        if self.method is not None and self.method != operation.method:
            return False
        if self.path is not None:
            candidates = [operation.mounted_path, operation.path]
            if request_path is not None:
                candidates.append(request_path)
            if not any(fnmatch.fnmatchcase(candidate, self.path) for candidate in candidates):
                return False
        return True

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"id": self.id, **self.spec.as_dict()}
        for key in ("operation", "method", "path", "times", "seed"):
            if getattr(self, key) is not None:
                found[key] = getattr(self, key)
        if self.after:
            found["after"] = self.after
        if self.probability != 1.0:
            found["probability"] = self.probability
        return found


def _probability(value: object) -> float:
    try:
        probability = float(str(value))
    except ValueError:
        probability = math.nan
    if not 0.0 <= probability <= 1.0:
        raise FaultError(f"probability {value!r} is outside 0..1; give a number from 0 (never) to 1 (always)")
    return probability


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FaultError(f"fault rule {key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _count(data: Mapping[str, Any], key: str, *, minimum: int | None) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
        raise FaultError(f"fault rule {key!r} must be an integer, got {value!r}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise FaultError(f"fault rule {key!r} must be >= {minimum}, got {number}")
    return number


def parse_shortcut(text: str) -> dict[str, Any]:
    """The CLI's `--fault NAME[:PROBABILITY]` (e.g. `unavailable:0.1`) as a rule mapping."""
    name, sep, probability = text.partition(":")
    rule: dict[str, Any] = {"fault": name}
    if sep:
        rule["probability"] = probability
    return rule


class FaultBook:
    """The fault rules in force, kept in the state store and shared by every worker using it."""

    _RULES = "fault-rules"
    _IDS = "fault-rule-ids"

    def __init__(self, store: StateStore, contracts: ContractSet, *, seed: int | None = None):
        self._store = store
        self._contracts = contracts
        self._seed = seed
        self._parsed: dict[str, FaultRule] = {}

    def add(self, rule: FaultRule | Mapping[str, Any]) -> FaultRule:
        if not isinstance(rule, FaultRule):
            rule = FaultRule.from_dict(rule, self._contracts)
        else:
            rule.check_matches(self._contracts)
        rule = replace(rule, id=self._store.incr(self._IDS))
        self._store.hash_set(self._RULES, str(rule.id), json.dumps(rule.as_dict()))
        return rule

    def rules(self) -> list[FaultRule]:
        stored = self._store.hash_items(self._RULES)
        return [self._parse(stored[key]) for key in sorted(stored, key=int)]

    def listing(self) -> list[dict[str, Any]]:
        """The rules with how many matching requests each has seen and how many it failed."""
        return [
            {
                **rule.as_dict(),
                "seen": int(self._store.get(f"fault-rule:{rule.id}:seen") or 0),
                "injected": min(
                    int(self._store.get(f"fault-rule:{rule.id}:fired") or 0),
                    rule.times if rule.times is not None else math.inf,
                ),
            }
            for rule in self.rules()
        ]

    def remove(self, rule_id: int) -> bool:
        self._store.delete(f"fault-rule:{rule_id}:seen", f"fault-rule:{rule_id}:fired")
        return self._store.hash_delete(self._RULES, str(rule_id))

    def clear(self) -> None:
        for rule in self.rules():
            self._store.delete(f"fault-rule:{rule.id}:seen", f"fault-rule:{rule.id}:fired")
        self._store.delete(self._RULES)

    def install(self, rules: Iterable[FaultRule | Mapping[str, Any]]) -> list[FaultRule]:
        return [self.add(rule) for rule in rules]

    def choose(self, operation: Operation, request_path: str | None = None) -> tuple[FaultRule, int] | None:
        """The first rule that fires for this request, with its count of matching requests so far.

        Every matching rule counts the request (for `after` and seeded draws), in the store, so the
        counts hold across workers.
        """
        for rule in self.rules():
            if not rule.matches(operation, request_path):
                continue
            seen = self._store.incr(f"fault-rule:{rule.id}:seen")
            if seen <= rule.after:
                continue
            if rule.probability < 1.0 and self.rng(rule, "fire", seen).random() >= rule.probability:
                continue
            fired = self._store.incr(f"fault-rule:{rule.id}:fired")
            if rule.times is not None and fired > rule.times:
                continue
            return rule, seen
        return None

    def rng(self, rule: FaultRule | None, purpose: str, draw: int) -> random.Random:
        """A random source for one draw; seeded (by the rule, else the mock's seed) it depends only on
        (seed, rule, purpose, nth matching request), so a chaos run fails the same way every time,
        whichever worker serves each request."""
        seed = rule.seed if rule is not None and rule.seed is not None else self._seed
        if seed is None:
            return random.Random()
        return random.Random(f"{seed}:{rule.id if rule else 0}:{purpose}:{draw}")

    def _parse(self, text: str) -> FaultRule:
        rule = self._parsed.get(text)
        if rule is None:
            rule = FaultRule.from_dict(json.loads(text))
            if len(self._parsed) > 1000:
                self._parsed.clear()
            self._parsed[text] = rule
        return rule
