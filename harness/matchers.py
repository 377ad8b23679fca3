"""Request matchers for replay: vcrpy's own, chosen by name, plus the vcrpy configuration around them.

Replay matches exactly as vcrpy does, by calling vcrpy's matcher functions through a `vcr.VCR`
built from the user's `vcr_config` (the dict pytest-recording's `vcr_config` fixture returns), so
the same filters and matchers apply to recorded and incoming requests.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.errors import ConfigurationError

# vcrpy's default is ("method", "scheme", "host", "port", "path", "query"); the mock runs on another
# origin than the one recorded, so scheme, host and port are left out.
DEFAULT_MATCH_ON: tuple[str, ...] = ("method", "path", "query")

Matcher = Callable[[Any, Any], Any]  # vcrpy's signature: (incoming, recorded) -> bool | None, may raise


def builtin_matcher_names() -> list[str]:
    """The matcher names vcrpy knows: method, uri, url, scheme, host, port, path, query, headers..."""
    import vcr

    return sorted(vcr.VCR().matchers)


def parse_match_on(text: str) -> tuple[str, ...]:
    """`"method, path,query"` -> `("method", "path", "query")`, validated against vcrpy's names.

    Raises:
        ConfigurationError: an empty list or an unknown name; the message lists the valid ones.
    """
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    return matcher_names(names, builtin_matcher_names())


def replay_vcr(vcr_config: Mapping[str, Any] | None, match_on: Sequence[str | Matcher]) -> Any:
    """A `vcr.VCR` holding the user's configuration, with custom matcher functions registered."""
    import vcr

    config = dict(vcr_config or {})
    unknown = sorted(set(config) - _vcr_config_keys())
    if unknown:
        raise ConfigurationError(
            f"vcr_config has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys: {', '.join(sorted(_vcr_config_keys()))}"
        )
    recorder = vcr.VCR()
    for matcher in match_on:
        if callable(matcher):
            recorder.register_matcher(matcher.__name__, matcher)
    return recorder


def matcher_names(match_on: Sequence[str | Matcher], known: Sequence[str]) -> tuple[str, ...]:
    """Names for `match_on`, each checked against the registered `known` names.

    Raises:
        ConfigurationError: an unknown name; the message lists the valid ones.
    """
    names = tuple(matcher if isinstance(matcher, str) else matcher.__name__ for matcher in match_on)
    if not names:
        raise ConfigurationError(f"match_on is empty; valid matchers: {', '.join(sorted(known))}")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigurationError(
            f"unknown matcher(s) {', '.join(map(repr, unknown))} in match_on; "
            f"valid matchers: {', '.join(sorted(known))}"
        )
    return names


def index_fields(matchers: Sequence[Matcher]) -> tuple[bool, bool]:
    """Whether requests these matchers accept agree on the method, and on the path, so both can key
    an index. Only vcrpy's own functions count: a custom matcher may be named "path" and be lenient."""
    from vcr import matchers as vcr_matchers

    return (
        any(matcher is vcr_matchers.method for matcher in matchers),
        any(matcher in (vcr_matchers.path, vcr_matchers.uri) for matcher in matchers),
    )


def _vcr_config_keys() -> set[str]:
    import vcr

    keys = set(inspect.signature(vcr.VCR.__init__).parameters) - {"self"}
    # Accepted by use_cassette (where pytest-recording passes vcr_config) but not by VCR().
    return keys | {"additional_matchers", "allow_playback_repeats", "persister", "match_on"}
