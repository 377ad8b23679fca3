"""Route a concrete request path to an operation through a trie of compiled path templates.

Matching walks one node per path segment, so it costs the same for 5 operations or GitHub's 1223.
At each segment a static child wins over a templated one (`/users/me` before `/users/{id}`), and a
segment mixing text and parameters (`{Sid}.json`) wins over a bare parameter.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote

from harness.documents import path_template_names

T = TypeVar("T")


@dataclass
class _Node(Generic[T]):
    static: dict[str, _Node[T]] = field(default_factory=dict)
    # (regex for one templated segment, node), most literal text first
    dynamic: list[tuple[re.Pattern[str], _Node[T]]] = field(default_factory=list)
    # method -> (template, target, parameter names in path order)
    targets: dict[str, tuple[str, T, tuple[str, ...]]] = field(default_factory=dict)
    # the child of a bare `{param}` segment (also in `dynamic`): any non-empty segment, no regex needed
    bare: _Node[T] | None = None


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    target: T
    template: str
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class RouteMiss:
    """No operation answers: `allowed` lists the methods the path has (405), else it is unknown (404)."""

    allowed: tuple[str, ...] = ()

    @property
    def is_wrong_method(self) -> bool:
        return bool(self.allowed)


class DuplicateRoute(ValueError):
    def __init__(self, method: str, template: str, existing: str):
        self.method, self.template, self.existing = method, template, existing
        super().__init__(f"{method} {template} clashes with {method} {existing}")


def _segments(path: str) -> list[str]:
    # Keep a trailing slash significant: `/tasks/` and `/tasks` are different routes.
    return path.split("/")[1:]


def _segment_regex(segment: str) -> re.Pattern[str]:
    """`{Sid}.json` -> a regex capturing each parameter by position."""
    parts = [part for part in re.split(r"(\{[^{}/]+\})", segment) if part]
    regex = "".join(
        f"(?P<p{index}>.+?)" if part.startswith("{") else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$", re.DOTALL)


def _literal_length(pattern: re.Pattern[str]) -> int:
    return len(re.sub(r"\(\?P<p\d+>\.\+\?\)", "", pattern.pattern)) - 2


_BARE = _segment_regex("{x}").pattern  # a segment that is one parameter and nothing else


class Router(Generic[T]):
    """Maps (method, template) to targets and matches concrete paths against them."""

    def __init__(self) -> None:
        self._root: _Node[T] = _Node()
        self._routes: list[tuple[str, str, T]] = []

    def add(self, method: str, template: str, target: T) -> None:
        method = method.upper()
        node = self._root
        for segment in _segments(template):
            if "{" not in segment:
                node = node.static.setdefault(segment, _Node())
                continue
            # Same shape with other names (`{id}` vs `{task_id}`) shares a node: the regex is by position.
            pattern = _segment_regex(segment)
            for existing, child in node.dynamic:
                if existing.pattern == pattern.pattern:
                    node = child
                    break
            else:
                child = _Node()
                node.dynamic.append((pattern, child))
                # More literal characters first; stable, so declaration order breaks ties.
                node.dynamic.sort(key=lambda entry: -_literal_length(entry[0]))
                if pattern.pattern == _BARE:
                    node.bare = child
                node = child
        if method in node.targets:
            raise DuplicateRoute(method, template, node.targets[method][0])
        names = tuple(name for segment in _segments(template) for name in path_template_names(segment))
        node.targets[method] = (template, target, names)
        self._routes.append((method, template, target))

    def match(self, method: str, path: str) -> RouteMatch[T] | RouteMiss:
        """The operation for `method` on the most specific template matching `path`.

        As OpenAPI prescribes, the path is matched first (concrete before templated) and the
        method second: `POST /pets/findByStatus` is a 405 when that path declares only GET, even
        if `POST /pets/{petId}` exists.
        """
        method = method.upper()
        segments = _segments(path)
        found = self._find(self._root, segments, 0)
        if found is None:
            return RouteMiss()
        node, values = found
        # HEAD is answered by GET when the contract does not declare it.
        for wanted in (method, "GET") if method == "HEAD" else (method,):
            if wanted in node.targets:
                template, target, names = node.targets[wanted]
                return RouteMatch(target, template, dict(zip(names, values, strict=True)))
        return RouteMiss(allowed=tuple(sorted(node.targets)))

    def _find(self, node: _Node[T], segments: list[str], index: int) -> tuple[_Node[T], list[str]] | None:
        if index == len(segments):
            return (node, []) if node.targets else None
        segment = segments[index]
        child = node.static.get(segment) or node.static.get(unquote(segment))
        if child is not None:
            found = self._find(child, segments, index + 1)
            if found is not None:
                return found
        if not segment:
            return None  # an empty segment never fills a parameter
        for pattern, dynamic_child in node.dynamic:
            if dynamic_child is node.bare:  # `{param}`: the whole segment, no regex to run
                found = self._find(dynamic_child, segments, index + 1)
                if found is not None:
                    return found[0], [unquote(segment), *found[1]]
                continue
            matched = pattern.match(segment)
            if matched is None:
                continue
            found = self._find(dynamic_child, segments, index + 1)
            if found is not None:
                child_node, values = found
                return child_node, [unquote(value) for value in matched.groups()] + values
        return None

    def closest(self, method: str, path: str, limit: int = 3) -> list[tuple[str, str]]:
        """The (method, template) pairs most like a request that matched nothing, for 404 hints."""

        def similarity(route: tuple[str, str, T]) -> float:
            route_method, template, _ = route
            shape = re.sub(r"\{[^{}/]+\}", "x", template)
            score = difflib.SequenceMatcher(None, shape, path).ratio()
            return score + (0.05 if route_method == method.upper() else 0.0)

        ranked = sorted(self._routes, key=similarity, reverse=True)
        return [(route_method, template) for route_method, template, _ in ranked[:limit]]

    @property
    def routes(self) -> Iterable[tuple[str, str, T]]:
        return tuple(self._routes)
