"""The mock's request pipeline, free of Flask so it can be tested and reused in process.

    request -> route -> middlewares (security, cassette replay, validation, and later faults)
            -> contract responder -> journal

A middleware is one callable, `(exchange, call_next) -> MockResponse`: it may answer itself,
pass the exchange on, or change what comes back. The contract responder is the innermost step.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from harness.clock import Clock
from harness.compiled import compiled
from harness.contracts import ContractSet, Operation
from harness.http import HttpRequest, MockResponse
from harness.journal import JournalEntry, journal_for
from harness.responses import NoValidBody, Preference, ResponseChoiceError
from harness.routing import RouteMatch, RouteMiss
from harness.satisfiability import check_responses, explain_no_valid_body
from harness.security import SecurityOutcome, check_security
from harness.state import StateStore, open_store
from harness.validation import Violation
from mock_server.problems import problem
from mock_server.rejections import reject

if TYPE_CHECKING:
    from mock_server.faults import FaultControl
    from mock_server.served import ServedResponses


@dataclass
class MockSettings:
    """How the mock behaves; every field has a CLI option of the same name."""

    validate: bool = True
    dynamic: bool = False
    seed: int | None = None
    journal_size: int = 10_000
    # Refuse to start when a declared response admits no value (see harness.satisfiability).
    strict: bool = False
    # Answer invalid requests with problem+json listing the violations even where the contract
    # declares its own error response (the default answers with that response, as Prism does).
    problem_errors: bool = False
    # Replay (mock_server/replay.py): cassette files or directories answered from first.
    cassettes: Sequence[str | Path] = ()
    cassettes_only: bool = False
    # None: vcr_config's, else method, path, query. Names, or vcrpy matcher functions.
    match_on: Sequence[str | Callable[[Any, Any], Any]] | None = None
    allow_playback_repeats: bool | None = None  # None: vcr_config's, else True
    vcr_config: Mapping[str, Any] | None = None  # as pytest-recording's vcr_config fixture returns
    # Simulated failures (mock_server/faults.py): a scenario file (or mapping), `NAME[:PROBABILITY]`
    # rules, a rate-limits file (or mapping), and where state lives: "memory" or redis://host:port/db.
    faults: str | Path | Mapping[str, Any] | None = None
    fault: Sequence[str] = ()
    rate_limits: str | Path | Mapping[str, Any] | None = None
    state: str = "memory"


@dataclass
class Exchange:
    """One request on its way through the pipeline, with what each step learnt about it."""

    request: HttpRequest
    operation: Operation | None = None
    path_parameters: dict[str, str] = field(default_factory=dict)
    miss: RouteMiss | None = None
    violations: list[Violation] = field(default_factory=list)
    security: SecurityOutcome | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    validated: bool = False
    problem_errors: bool = False  # from MockSettings.problem_errors


Next = Callable[[Exchange], MockResponse]


class Middleware(Protocol):
    def __call__(self, exchange: Exchange, call_next: Next) -> MockResponse: ...


def check_credentials(exchange: Exchange, call_next: Next) -> MockResponse:
    """401 with `WWW-Authenticate` when the operation's security requirements are not met."""
    operation = exchange.operation
    if operation is None:
        return call_next(exchange)
    outcome = check_security(operation, exchange.request)
    exchange.security = outcome
    if outcome.ok:
        return call_next(exchange)
    exchange.violations.extend(Violation("security", "security", text) for text in outcome.problems)
    response = _declared_or_problem(
        operation,
        401,
        "Unauthorized",
        "; ".join(outcome.problems) or "credentials required",
    )
    for challenge in outcome.challenges:
        response.headers.add("WWW-Authenticate", challenge)
    return response


def validate_request(exchange: Exchange, call_next: Next) -> MockResponse:
    """The contract's own error response (see `mock_server.rejections`), violations in a header."""
    operation = exchange.operation
    if operation is None:
        return call_next(exchange)
    validator = compiled(operation).validator
    result = validator.validate(exchange.request, exchange.path_parameters)
    exchange.validated = True
    exchange.notes["parsed_body"] = result.parsed_body
    if validator.contract_problems:
        exchange.notes["contract_problems"] = validator.contract_problems
    if result.ok:
        return call_next(exchange)
    exchange.violations.extend(result.violations)
    return reject(operation, result.status, result.violations, problem_only=exchange.problem_errors)


def _declared_or_problem(operation: Operation, status: int, title: str, detail: str) -> MockResponse:
    """The contract's own response for `status` when it declares one, else problem+json."""
    catalog = compiled(operation).catalog
    if str(status) in catalog.statuses:
        try:
            return catalog.respond(status=status)
        except (ResponseChoiceError, NoValidBody):
            pass
    return problem(status, title, detail, operation=operation.name)


def default_pipeline(engine: MockEngine) -> list[Middleware]:
    """The middlewares in the order a request meets them; each may answer before the next."""
    from mock_server.faults import fault_middlewares
    from mock_server.served import ServedResponses

    # Faults first (they replace the answer before credentials are checked); rate limits after
    # credentials (they count per token) and before validation (invalid requests spend budget too).
    inject_faults, check_scopes, limit_rate = fault_middlewares(engine)
    pipeline: list[Middleware] = [inject_faults, check_credentials, check_scopes, limit_rate]
    if engine.settings.cassettes:
        from mock_server.replay import cassette_replay

        pipeline.append(cassette_replay(engine))
    if engine.settings.validate:
        pipeline.append(validate_request)
    engine.served = ServedResponses()
    engine.on_reset(engine.served.clear)
    pipeline.append(engine.served)  # last: a served response still meets the checks above
    return pipeline


def _bind(middleware: Middleware, call_next: Next) -> Next:
    return lambda exchange: middleware(exchange, call_next)


class MockEngine:
    """Routes, runs the middleware chain and journals every exchange."""

    def __init__(
        self,
        contracts: ContractSet,
        settings: MockSettings | None = None,
        middlewares: Sequence[Middleware] | None = None,
    ):
        self.contracts = contracts
        self.settings = settings or MockSettings()
        self._reset_hooks: list[Callable[[], None]] = []
        self.served: ServedResponses | None = None
        self._draws = 0
        self._draw_lock = threading.Lock()
        self.started = time.time()
        # Responses no value satisfies, found before any request (cheap: GitHub's in ~0.1 s).
        self.empty_responses = check_responses(contracts.contracts, strict=self.settings.strict)
        self.state: StateStore = open_store(self.settings.state)
        try:
            from mock_server.faults import FaultControl

            self.journal = journal_for(self.state, self.settings.journal_size)
            self.clock = Clock(self.state)
            self.faults: FaultControl = FaultControl(self)
            self.middlewares = list(middlewares) if middlewares is not None else default_pipeline(self)
        except BaseException:
            self.state.close()
            raise

    def close(self) -> None:
        """Release the state store's connections (Redis)."""
        self.state.close()

    def on_reset(self, hook: Callable[[], None]) -> None:
        self._reset_hooks.append(hook)

    def reset(self, *, journal: bool = True) -> None:
        """Back to the state at start: empty journal, generators rewound, extensions reset.

        `journal=False` keeps the journal: a property test resets state for every example but
        still checks, at the end, every request the client sent.
        """
        if journal:
            self.journal.clear()
        with self._draw_lock:
            self._draws = 0
        for hook in self._reset_hooks:
            hook()

    def route(self, request: HttpRequest) -> Exchange:
        matched = self.contracts.match(request.method, request.path)
        if isinstance(matched, RouteMatch):
            exchange = Exchange(request, matched.target, matched.path_parameters)
        else:
            exchange = Exchange(request, miss=matched)
        exchange.problem_errors = self.settings.problem_errors
        return exchange

    def handle(self, request: HttpRequest) -> MockResponse:
        started = time.perf_counter()
        exchange = self.route(request)
        response = self._chain(exchange)
        if self.settings.validate and exchange.operation is not None and not exchange.validated:
            # Something answered before validation (a fault, a replayed recording): the journal
            # still says whether the request kept the contract.
            validate_request(exchange, lambda _: response)
        self._record(exchange, response, (time.perf_counter() - started) * 1000)
        return response

    @property
    def middlewares(self) -> tuple[Middleware, ...]:
        """The pipeline, outermost first (a tuple: assign a new sequence to change it)."""
        return self._middlewares

    @middlewares.setter
    def middlewares(self, middlewares: Sequence[Middleware]) -> None:
        self._middlewares = tuple(middlewares)
        # Composed once, so a request makes no closures on its way through the chain.
        chain: Next = lambda exchange: self.respond(exchange)  # noqa: E731 (late-bound: respond may be replaced)
        for middleware in reversed(self._middlewares):
            chain = _bind(middleware, chain)
        self._chain = chain

    def respond(self, exchange: Exchange) -> MockResponse:
        """The innermost step: answer from the contract."""
        request = exchange.request
        if exchange.operation is None:
            return self._miss(exchange)
        try:
            preference = Preference.parse(request.headers.get("Prefer"))
            rng = self._rng() if self.settings.dynamic or preference.dynamic else None
            return compiled(exchange.operation).catalog.respond(
                preference=preference, accept=request.headers.get("Accept"), rng=rng
            )
        except ResponseChoiceError as exc:
            return problem(exc.status, exc.title, exc.detail, operation=exchange.operation.name, **exc.extra)
        except NoValidBody as exc:
            detail = explain_no_valid_body(self.empty_responses, exchange.operation.name, str(exc))
            return problem(500, "The contract admits no valid response body", detail)

    def _rng(self) -> random.Random:
        with self._draw_lock:
            self._draws += 1
            draw = self._draws
        if self.settings.seed is None:
            return random.Random()
        return random.Random(f"{self.settings.seed}:{draw}")

    def _miss(self, exchange: Exchange) -> MockResponse:
        request, miss = exchange.request, exchange.miss
        if miss is not None and miss.is_wrong_method:
            response = problem(
                405,
                "Method Not Allowed",
                f"{request.method} is not declared for {request.path}; allowed: {', '.join(miss.allowed)}",
                allowed=list(miss.allowed),
            )
            response.headers.set("Allow", ", ".join(miss.allowed))
            return response
        closest = self.contracts.router.closest(request.method, request.path)
        return problem(
            404,
            "No operation matches",
            f"no operation of the contract matches {request.method} {request.path}",
            closest=[f"{method} {template}" for method, template in closest],
        )

    def _record(self, exchange: Exchange, response: MockResponse, duration_ms: float) -> None:
        request = exchange.request
        operation = exchange.operation
        notes = exchange.notes
        if "parsed_body" in notes:
            notes = {key: value for key, value in notes.items() if key != "parsed_body"}
        self.journal.append(
            JournalEntry(
                id=self.journal.next_id(),
                time=time.time(),
                method=request.method,
                path=request.path,
                query=request.query_string,
                # Pairs, made into dicts when shown (`Headers` would keep their lookup index alive).
                request_headers=request.headers.items(),
                request_body=self.journal.excerpt(request.body),
                contract=operation.contract.name if operation else None,
                operation=operation.name if operation else None,
                violations=[violation.as_dict() for violation in exchange.violations],
                status=response.status,
                response_headers=response.headers.items(),
                response_body=self.journal.excerpt(response.body),
                source=response.source,
                duration_ms=duration_ms,
                notes=notes,
            )
        )
