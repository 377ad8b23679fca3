"""Scenario files: the faults, token scopes and rate limits a mock starts with (`--faults FILE`).

# scenario.yaml
seed: 42                          # reproducible probabilities and delays
faults:
  - {fault: unavailable, operation: repos/get, times: 2}
  - {fault: slow, delay: "uniform(0.1, 0.5)", probability: 0.2}
tokens:                           # scopes granted to bearer tokens (403 when an operation needs more)
  read-only-token: {scopes: ["read:user"]}
rate_limits:                      # as in a --rate-limits file
  github: {limit: 10, window: 60}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import FaultError

SCENARIO_KEYS = ("seed", "faults", "tokens", "rate_limits")


class ScenarioError(FaultError):
    """A scenario or settings file that cannot be used; names the file and the entry."""


def read_yaml_mapping(path: Path, kind: str) -> dict[str, Any]:
    """A YAML (or JSON) file holding a mapping; errors name the file and say what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such {kind}") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the {kind}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ScenarioError(
            f"{path}: the {kind} is not valid YAML{where}: {getattr(exc, 'problem', exc)}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a {kind} holds a mapping at the top, got {type(data).__name__}")
    return data


@dataclass
class Scenario:
    """What a mock starts with (and returns to on reset)."""

    faults: list[Any] = field(default_factory=list)
    tokens: dict[str, list[str]] = field(default_factory=dict)
    rate_limits: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    source: str = "scenario"

    @classmethod
    def load(cls, source: str | Path | Mapping[str, Any] | None) -> Scenario:
        if source is None:
            return cls()
        if isinstance(source, Mapping):
            data, name = dict(source), "scenario"
        else:
            data, name = read_yaml_mapping(Path(source), "scenario file"), str(source)
        unknown = [key for key in data if key not in SCENARIO_KEYS]
        if unknown:
            raise ScenarioError(
                f"{name}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"a scenario has: {', '.join(SCENARIO_KEYS)}",
                choices=SCENARIO_KEYS,
            )
        faults = data.get("faults") or []
        if not isinstance(faults, list):
            raise ScenarioError(
                f"{name}: faults is a list of rules such as [{{fault: unavailable, times: 2}}]"
            )
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ScenarioError(f"{name}: seed must be an integer, got {seed!r}")
        rate_limits = data.get("rate_limits") or {}
        if not isinstance(rate_limits, dict):
            raise ScenarioError(f"{name}: rate_limits maps contract names to settings such as {{limit: 60}}")
        return cls(list(faults), parse_tokens(data.get("tokens") or {}, name), rate_limits, seed, name)


def parse_tokens(tokens: object, where: str) -> dict[str, list[str]]:
    """`{token: {scopes: [...]}}` or `{token: [...]}` -> {token: scopes}."""
    if not isinstance(tokens, Mapping):
        raise ScenarioError(f"{where}: tokens maps each token to {{scopes: [...]}}")
    parsed = {}
    for token, grant in tokens.items():
        scopes = grant.get("scopes", []) if isinstance(grant, Mapping) else grant
        if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
            raise ScenarioError(
                f"{where}: tokens: {token}: give the scopes as a list of strings, e.g. {{scopes: ['repo']}}"
            )
        parsed[str(token)] = list(scopes)
    return parsed
