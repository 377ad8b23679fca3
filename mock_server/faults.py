"""Simulated failures in the mock's pipeline: fault injection, OAuth scopes, and real rate limiting.

Three middlewares, in the order a request meets them (see `default_pipeline`):

    inject_faults  outermost: a fault asked for (header, query, rule) replaces the answer before
                   credentials are checked, as a failing gateway would; connection faults (slow,
                   dribble, drop, reset, truncated) wrap whatever the rest of the pipeline answers.
    check_credentials  (engine.py) 401 for missing credentials; sets exchange.security.
    check_scopes   403 when the token was granted fewer OAuth scopes than the operation requires.
    limit_rate     after credentials, so it counts per token (anonymous: per client address),
                   and before validation, so rejected requests spend budget as on real APIs.

Faults are shaped by the contract: the operation's declared response for the status (its example
that fits, e.g. the rate-limit one of GitHub's 403s) or else problem+json; a fault whose status the
operation does not declare is journaled as `off_contract`.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from harness.compiled import compiled
from harness.corruption import break_schema, malformed_json
from harness.errors import FaultError
from harness.faults import (
    FAULT_HEADER,
    FAULT_QUERY,
    Fault,
    FaultBook,
    FaultRule,
    FaultSpec,
    parse_fault_header,
    parse_shortcut,
)
from harness.grants import Grants
from harness.http import Delivery, DeliveryMode, Headers, HttpRequest, MockResponse
from harness.ratelimit import (
    DOCUMENTATION_URL,
    RateLimiter,
    RateLimitPolicy,
    RateLimits,
    RateLimitState,
    load_rate_limits,
)
from harness.responses import NoValidBody, Preference, ResponseChoiceError
from harness.scenario import Scenario, ScenarioError
from harness.security import check_security
from harness.validation import is_json_media_type
from mock_server.problems import problem

if TYPE_CHECKING:
    from harness.contracts import Operation
    from mock_server.engine import Exchange, MockEngine, Next

_RATE_LIMIT_HEADERS = (
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
)
_STARTED = "faults:started"
DEFAULT_SLOW_DELAY = 2.0
DEFAULT_RETRY_AFTER = {Fault.UNAVAILABLE: 30.0, Fault.RATE_LIMITED: 60.0}
_TITLES = {
    Fault.UNAUTHORIZED: "Unauthorized",
    Fault.FORBIDDEN: "Forbidden",
    Fault.UNAVAILABLE: "Service Unavailable",
    Fault.SERVER_ERROR: "Internal Server Error",
    Fault.BAD_GATEWAY: "Bad Gateway",
    Fault.GATEWAY_TIMEOUT: "Gateway Timeout",
}


class FaultControl:
    """The fault rules, token grants, rate limits and clock of one mock (its `engine.faults`).

    Built from the settings up front, so a bad scenario, shortcut or rate-limit file fails before
    the server listens. `reset()` returns to the start: state cleared, start-up rules reinstalled.
    """

    def __init__(self, engine: MockEngine):
        settings = engine.settings
        self.engine = engine
        self.store = engine.state
        self.clock = engine.clock
        self.sleep: Callable[[float], None] = time.sleep
        scenario = Scenario.load(settings.faults)
        limits, limits_source = load_rate_limits(settings.rate_limits)
        self.rate_limits = RateLimits(
            engine.contracts,
            {**scenario.rate_limits, **limits},
            limits_source if limits else scenario.source,
        )
        self.limiter = RateLimiter(self.store, self.clock)
        seed = scenario.seed if scenario.seed is not None else settings.seed
        self.book = FaultBook(self.store, engine.contracts, seed=seed)
        self.grants = Grants(self.store)
        self._start_rules = self._startup_rules(scenario, settings.fault)
        self._start_tokens = scenario.tokens
        self.start()
        engine.on_reset(self.reset)

    def _startup_rules(self, scenario: Scenario, shortcuts: Iterable[str]) -> list[FaultRule]:
        rules = []
        for index, data in enumerate(scenario.faults):
            try:
                rules.append(FaultRule.from_dict(data, self.engine.contracts))
            except FaultError as exc:
                raise ScenarioError(
                    f"{scenario.source}: faults[{index}]: {exc}", choices=exc.choices
                ) from None
        for shortcut in shortcuts:
            try:
                rules.append(FaultRule.from_dict(parse_shortcut(shortcut), self.engine.contracts))
            except FaultError as exc:
                raise FaultError(f"--fault {shortcut}: {exc}", choices=exc.choices) from None
        return rules

    def start(self) -> None:
        """Install the start-up rules and grants once per store (several workers may share one)."""
        fingerprint = hashlib.sha256(
            json.dumps(
                [[rule.as_dict() for rule in self._start_rules], self._start_tokens], sort_keys=True
            ).encode()
        ).hexdigest()
        if not self.store.set_if_absent(_STARTED, fingerprint):
            if self.store.get(_STARTED) == fingerprint:
                return  # another worker of this mock installed them
            # The store still holds an earlier run's configuration: replace it.
            self.book.clear()
            self.store.delete("token-scopes")
            self.store.set(_STARTED, fingerprint)
        self.book.install(self._start_rules)
        for token, scopes in self._start_tokens.items():
            self.grants.grant(token, scopes)

    def reset(self) -> None:
        self.store.clear()
        self.start()


# -- choosing faults -------------------------------------------------------------------------------


def _requested(request: HttpRequest) -> tuple[list[FaultSpec], str] | None:
    header = request.headers.get(FAULT_HEADER)
    if header is not None:
        return parse_fault_header(header), "header"
    for name, value in request.query:
        if name == FAULT_QUERY:
            return parse_fault_header(value), "query"
    return None


class InjectFaults:
    """The outermost middleware: per-request faults (header, query parameter) and fault rules."""

    def __init__(self, control: FaultControl):
        self.control = control

    def __call__(self, exchange: Exchange, call_next: Next) -> MockResponse:
        try:
            requested = _requested(exchange.request)
        except FaultError as exc:
            return problem(400, "Invalid fault", str(exc), choices=exc.choices)
        rule: FaultRule | None = None
        draw = 0
        if requested is not None:
            specs, origin = requested
        elif exchange.operation is not None:
            chosen = self.control.book.choose(exchange.operation, exchange.request.path)
            if chosen is None:
                return call_next(exchange)
            (rule, draw), origin = chosen, "rule"
            specs = [rule.spec]
        else:
            return call_next(exchange)
        replacing = next((spec for spec in specs if not spec.fault.transport), None)
        if replacing is not None:
            response = build_fault(self.control, replacing, exchange)
            if replacing.fault is not Fault.RATE_LIMITED:
                _current_rate_limit(self.control, exchange, response)
        else:
            response = call_next(exchange)
        for spec in specs:
            if spec.fault.transport:
                response = _transport(self.control, spec, response, rule, draw)
            _journal(exchange, spec, response, origin, rule)
        return response


def _journal(
    exchange: Exchange, spec: FaultSpec, response: MockResponse, origin: str, rule: FaultRule | None
) -> None:
    entry: dict[str, Any] = {**spec.as_dict(), "source": origin, "status": response.status}
    if rule is not None:
        entry["rule"] = rule.id
    if spec.fault is Fault.SLOW and response.delivery is not None:
        entry["delay_seconds"] = round(response.delivery.delay, 3)
    if spec.fault is Fault.WRONG_SCHEMA and "wrong_schema" in exchange.notes:
        entry["change"] = exchange.notes.pop("wrong_schema")
    entry["off_contract"] = exchange.operation is None or not declares(exchange.operation, response.status)
    exchange.notes.setdefault("faults", []).append(entry)


def _strip_rate_limit_headers(response: MockResponse, *, retry_after: bool = True) -> None:
    # A contract's header examples (X-RateLimit-Remaining: 4999, Retry-After: 60) would lie about
    # the limiter, and a Retry-After on a 403 makes clients take it for a rate limit.
    def stale(name: str) -> bool:
        lowered = name.lower()
        if lowered == "retry-after":
            return retry_after
        return lowered.startswith("x-ratelimit-") or lowered in _RATE_LIMIT_HEADERS

    response.headers = Headers([(name, value) for name, value in response.headers.items() if not stale(name)])


def _current_rate_limit(control: FaultControl, exchange: Exchange, response: MockResponse) -> None:
    """A replaced answer does not count against the limit, but reports it as it stands."""
    retry_after = response.headers.get("Retry-After") if response.status == 503 else None
    _strip_rate_limit_headers(response)
    if retry_after is not None:
        response.headers.set("Retry-After", retry_after)
    operation = exchange.operation
    policy = control.rate_limits.policy(operation) if operation is not None else None
    if operation is None or policy is None:
        return
    identity, authenticated = _identity(exchange)
    state = control.limiter.current(policy, operation.contract.name, identity, authenticated=authenticated)
    for name, value in state.headers():
        response.headers.add(name, value)


def declares(operation: Operation, status: int) -> bool:
    declared = operation.declared_statuses
    return any(key in declared for key in (str(status), f"{str(status)[0]}XX", "default"))


# -- building failing responses --------------------------------------------------------------------


def contract_answer(
    operation: Operation | None,
    status: int,
    accept: str | None,
    *,
    prefer: tuple[str, ...] = (),
    avoid: tuple[str, ...] = (),
) -> MockResponse | None:
    """The operation's declared response for `status`, choosing the example whose name fits the fault
    (`prefer` words, none of the `avoid` words); None when it declares none, or none that fits."""
    if operation is None or not declares(operation, status):
        return None
    catalog = compiled(operation).catalog
    key = next(key for key in (str(status), f"{str(status)[0]}XX", "default") if key in catalog.statuses)
    names = list(dict.fromkeys(name for media in catalog.variant(key).media for name in media.examples))
    fitting = [
        name
        for name in names
        if not any(word in name.lower() for word in avoid)
        and (not prefer or any(word in name.lower() for word in prefer))
    ]
    if prefer and not fitting:
        return None
    preferences = [Preference(example=fitting[0])] if fitting else []
    for preference in [*preferences, Preference()]:
        for media in (accept, None):
            try:
                return catalog.respond(status=status, accept=media, preference=preference)
            except (ResponseChoiceError, NoValidBody):
                continue
    return None


def build_fault(control: FaultControl, spec: FaultSpec, exchange: Exchange) -> MockResponse:
    """The response of a fault that replaces the operation's answer."""
    fault, operation, request = spec.fault, exchange.operation, exchange.request
    accept = request.headers.get("Accept")
    if fault is Fault.RATE_LIMITED:
        return rate_limited(control, spec, exchange, None)
    if fault is Fault.MALFORMED_JSON:
        return _malformed(spec, exchange)
    if fault is Fault.WRONG_SCHEMA:
        return _wrong_schema(spec, exchange)
    status = fault.status
    assert status is not None
    avoid = ("rate", "secondary", "limit") if fault is Fault.FORBIDDEN else ()
    response = contract_answer(operation, status, accept, avoid=avoid) or problem(
        status,
        _TITLES[fault],
        f"simulated {fault.value} fault" + (f" on {operation.name}" if operation else ""),
        source=f"fault:{fault.value}",
    )
    response.source = f"fault:{fault.value}"
    if fault is Fault.UNAUTHORIZED:
        response.headers.remove("WWW-Authenticate")
        for challenge in _challenges(exchange):
            response.headers.add("WWW-Authenticate", challenge)
    if fault is Fault.UNAVAILABLE:
        retry_after = spec.get("retry_after", DEFAULT_RETRY_AFTER[Fault.UNAVAILABLE])
        response.headers.set("Retry-After", str(math.ceil(retry_after)))
    return response


def _challenges(exchange: Exchange) -> list[str]:
    operation = exchange.operation
    if operation is not None:
        outcome = check_security(operation, HttpRequest(exchange.request.method, exchange.request.path))
        if outcome.challenges:
            return list(outcome.challenges)
        title = str(operation.contract.raw.get("info", {}).get("title", "api")).replace('"', "'")
        return [f'Bearer realm="{title}"']
    return ['Bearer realm="api"']


def _identity(exchange: Exchange) -> tuple[str, bool]:
    """Who the rate limit counts: the credential, else the client's address."""
    outcome = exchange.security
    if outcome is None and exchange.operation is not None:
        outcome = check_security(exchange.operation, exchange.request)
    if outcome is not None and outcome.identity is not None:
        return f"credential:{outcome.identity}", True
    return f"address:{exchange.request.client_address}", False


def rate_limited(
    control: FaultControl, spec: FaultSpec, exchange: Exchange, state: RateLimitState | None
) -> MockResponse:
    """GitHub's primary limit (403/429 with X-RateLimit-Remaining 0 and the reset time) or a secondary
    limit (429/403 with Retry-After); `state` is the real limiter's when it refused the request."""
    operation = exchange.operation
    policy = control.rate_limits.policy(operation) if operation is not None else None
    style = spec.get("style", "primary")
    if state is None and style == "primary":
        identity, authenticated = _identity(exchange)
        contract = operation.contract.name if operation is not None else "-"
        state = control.limiter.exhausted(
            policy or RateLimitPolicy(), contract, identity, authenticated=authenticated
        )
    # GitHub's primary limit is a 403 where the contract speaks GitHub's headers; elsewhere 429.
    default_status = policy.exceeded_status if policy is not None and style == "primary" else 429
    status = spec.get("status", default_status)
    prefer = (
        ("secondary",) if style == "secondary" else ("rate-limit", "rate_limit", "ratelimit", "rate limit")
    )
    avoid = () if style == "secondary" else ("secondary",)
    response = contract_answer(
        operation, status, exchange.request.headers.get("Accept"), prefer=prefer, avoid=avoid
    )
    if response is None:
        if style == "secondary":
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
            )
            documentation = DOCUMENTATION_URL + "#about-secondary-rate-limits"
        else:
            who = exchange.request.client_address or "your address"
            message = f"API rate limit exceeded for {who}."
            documentation = DOCUMENTATION_URL
        body = json.dumps({"message": message, "documentation_url": documentation}).encode()
        response = MockResponse(status, Headers([("Content-Type", "application/json; charset=utf-8")]), body)
    response.source = "fault:rate_limited"
    _strip_rate_limit_headers(response)
    header_style = spec.get("headers") or (policy.headers if policy else "github")
    if state is not None:
        for name, value in state.headers(header_style):
            response.headers.add(name, value)
    retry_after = spec.get("retry_after")
    if retry_after is None and style == "secondary":
        retry_after = DEFAULT_RETRY_AFTER[Fault.RATE_LIMITED]
    if retry_after is None and state is not None and header_style != "github":
        retry_after = state.seconds_to_reset  # IETF-style 429s say when to come back
    if retry_after is not None:
        response.headers.set("Retry-After", str(math.ceil(retry_after)))
    return response


def _success(exchange: Exchange) -> MockResponse:
    operation = exchange.operation
    if operation is None:
        return MockResponse(200, Headers([("Content-Type", "application/json")]), b'{"message": "ok"}')
    return compiled(operation).catalog.respond(accept=exchange.request.headers.get("Accept"))


def _malformed(spec: FaultSpec, exchange: Exchange) -> MockResponse:
    """The operation's success status, `Content-Type: application/json`, and a body that does not parse."""
    try:
        base = _success(exchange)
    except (ResponseChoiceError, NoValidBody):
        base = MockResponse(200, Headers(), b"")
    status = base.status if 200 <= base.status < 300 else 200
    body = malformed_json(base.body, spec.get("variant", "truncated"))
    return MockResponse(status, Headers([("Content-Type", "application/json")]), body, "fault:malformed_json")


def _wrong_schema(spec: FaultSpec, exchange: Exchange) -> MockResponse:
    """Valid JSON that the operation's success schema rejects (a required field missing, a wrong type)."""
    operation = exchange.operation
    variant = spec.get("variant", "missing_required")
    if operation is None:
        return problem(422, "Fault not applicable", "wrong_schema needs a request that matches an operation")
    catalog = compiled(operation).catalog
    try:
        base = catalog.respond(accept=exchange.request.headers.get("Accept"))
        value = json.loads(base.body)
    except (ResponseChoiceError, NoValidBody, ValueError):
        return problem(
            422,
            "Fault not applicable",
            f"wrong_schema needs a JSON success response; {operation.name} has none",
            operation=operation.name,
        )
    media = next(
        (
            media
            for media in catalog.variant(catalog.default_status()).media
            if media.media_type.split(";")[0].strip() == base.content_type
            or is_json_media_type(media.media_type)
        ),
        None,
    )
    validator = media.validator if media is not None else None
    broken = break_schema(value, variant, validator.is_valid if validator is not None else None)
    if broken is None:
        other = "wrong_type" if variant == "missing_required" else "missing_required"
        return problem(
            422,
            "Fault not applicable",
            f"wrong_schema ({variant}) cannot break {operation.name}'s {base.status} body: its schema "
            f"accepts every variant tried; try variant={other}",
            operation=operation.name,
        )
    value, change = broken
    exchange.notes["wrong_schema"] = change
    headers = Headers(
        [(name, value) for name, value in base.headers.items() if name.lower() != "content-length"]
    )
    return MockResponse(base.status, headers, json.dumps(value).encode("utf-8"), "fault:wrong_schema")


def _transport(
    control: FaultControl, spec: FaultSpec, response: MockResponse, rule: FaultRule | None, draw: int
) -> MockResponse:
    """Connection faults: how the (otherwise unchanged) response travels."""
    delivery = response.delivery or Delivery()
    fault = spec.fault
    size = len(response.body)
    if fault is Fault.SLOW:
        delay = spec.get("delay")
        seconds = (
            delay.sample(control.book.rng(rule, "delay", draw)) if delay is not None else DEFAULT_SLOW_DELAY
        )
        delivery = replace(delivery, delay=delivery.delay + seconds)
    elif fault is Fault.DRIBBLE:
        delivery = replace(delivery, chunk_size=spec.get("chunk", 64), interval=spec.get("interval", 0.1))
    elif fault is Fault.DROP:
        delivery = replace(delivery, mode=DeliveryMode.DROP)
    elif fault is Fault.RESET:
        delivery = replace(delivery, mode=DeliveryMode.RESET, cut_at=min(spec.get("at", size // 2), size))
    elif fault is Fault.TRUNCATED:
        cut = spec.get("at", size // 2)
        delivery = replace(delivery, mode=DeliveryMode.TRUNCATE, cut_at=min(cut, max(size - 1, 0)))
    response.delivery = delivery
    return response


# -- scopes and rate limits ------------------------------------------------------------------------


class CheckScopes:
    """403 (not 401) when a token granted scopes lacks one the operation's security requires."""

    def __init__(self, control: FaultControl):
        self.control = control

    def __call__(self, exchange: Exchange, call_next: Next) -> MockResponse:
        outcome = exchange.security
        if exchange.operation is None or outcome is None or not outcome.ok:
            return call_next(exchange)
        missing, required = self.control.grants.missing(outcome)
        if not missing:
            return call_next(exchange)
        operation = exchange.operation
        response = contract_answer(
            operation, 403, exchange.request.headers.get("Accept"), avoid=("rate", "secondary", "limit")
        ) or problem(
            403,
            "Insufficient scope",
            f"{operation.name} requires the scope(s) {', '.join(missing)}, which this token was not granted",
            required_scopes=required,
            missing_scopes=missing,
        )
        response.source = "fault:forbidden"
        response.headers.set(
            "WWW-Authenticate", f'Bearer error="insufficient_scope", scope="{" ".join(required)}"'
        )
        exchange.notes.setdefault("faults", []).append(
            {
                "fault": Fault.FORBIDDEN.value,
                "source": "scopes",
                "status": 403,
                "missing_scopes": missing,
                "off_contract": not declares(operation, 403),
            }
        )
        return response


class LimitRate:
    """Counts each request against its caller's window; every response carries the true state."""

    def __init__(self, control: FaultControl):
        self.control = control

    def __call__(self, exchange: Exchange, call_next: Next) -> MockResponse:
        operation = exchange.operation
        policy = self.control.rate_limits.policy(operation) if operation is not None else None
        if operation is None or policy is None:
            return call_next(exchange)
        identity, authenticated = _identity(exchange)
        state = self.control.limiter.hit(
            policy, operation.contract.name, identity, authenticated=authenticated
        )
        if state.exceeded:
            spec = FaultSpec(Fault.RATE_LIMITED, {"status": policy.exceeded_status})
            response = rate_limited(self.control, spec, exchange, state)
            _journal(exchange, spec, response, "rate_limit", None)
            return response
        response = call_next(exchange)
        _strip_rate_limit_headers(response, retry_after=False)
        for name, value in state.headers():
            response.headers.add(name, value)
        return response


def fault_middlewares(engine: MockEngine) -> tuple[InjectFaults, CheckScopes, LimitRate]:
    control = engine.faults
    return InjectFaults(control), CheckScopes(control), LimitRate(control)
