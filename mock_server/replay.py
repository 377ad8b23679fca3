"""The replay middleware: answer from recorded interactions first, from the contract otherwise.

It sits after the credential check and before request validation:

- Missing credentials still get the contract's 401: cassettes store requests with their secrets
  filtered out, so a recording cannot tell whether the client authenticated; the contract can.
- An invalid request that a recording matches is answered from the recording: the recording is
  what the real API answered to that request (often the very 400/422 error a test is about),
  which beats the mock's generic problem. The request is still validated, so the journal and
  `violations()` show what broke the contract.
- A request whose `Prefer` header asks for a contract response (`code=`, `example=`, `dynamic=`),
  or whose operation has a response queued with `RunningMock.serve`, skips the recordings: the
  test asked for that answer explicitly.
- A request no recording matches goes on to validation and the contract, or, with
  `cassettes_only` (or no contract at all), gets a 404 naming the closest recordings and the
  matchers that differed for each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.http import MockResponse
from harness.replay import Replay, Replayer, ReplayMiss
from mock_server.problems import problem

if TYPE_CHECKING:
    from mock_server.engine import Exchange, MockEngine, Next

MISS_TITLE = "No recorded interaction matches"


class CassetteReplay:
    """Middleware answering from a `Replayer`; `only` answers misses with 404 instead of the contract."""

    def __init__(self, replayer: Replayer, *, only: bool, validate: bool, engine: MockEngine | None = None):
        self.replayer = replayer
        self.only = only
        self.validate = validate
        self.engine = engine

    def __call__(self, exchange: Exchange, call_next: Next) -> MockResponse:
        if not self.only and exchange.operation is not None:
            skip = self._asked_for_the_contract(exchange)
            if skip:
                exchange.notes["cassette_skipped"] = skip
                return call_next(exchange)
        outcome = self.replayer.play(exchange.request)
        if isinstance(outcome, Replay):
            exchange.notes["cassette"] = outcome.as_note()
            self._journal_violations(exchange)
            return outcome.response
        exchange.notes["cassette_miss"] = outcome.as_note()
        if not self.only:
            return call_next(exchange)
        self._journal_violations(exchange)
        return self._not_found(outcome, exchange)

    def _asked_for_the_contract(self, exchange: Exchange) -> str | None:
        """Why the test asked for a contract answer explicitly, if it did."""
        if _prefers_the_contract(exchange):
            return "the Prefer header asks the contract (code, example or dynamic)"
        served = getattr(self.engine, "served", None)
        operation = exchange.operation
        if served is not None and operation is not None:
            names = (operation.name, operation.label)
            if any(entry["operation"] in names for entry in served.pending()):
                return "a response queued with serve() answers this operation"
        return None

    def _journal_violations(self, exchange: Exchange) -> None:
        """Validate for the journal only: a recording (or the replay 404) still answers."""
        from mock_server.engine import validate_request

        if self.validate and exchange.operation is not None:
            validate_request(exchange, _discarded)

    def _not_found(self, miss: ReplayMiss, exchange: Exchange) -> MockResponse:
        extra: dict[str, Any] = {"closest": [candidate.as_dict() for candidate in miss.closest]}
        if exchange.violations:
            extra["violations"] = [violation.as_dict() for violation in exchange.violations]
        return problem(
            404,
            MISS_TITLE,
            f"{miss.request}: {miss.reason}",
            source="cassette-miss",
            match_on=list(self.replayer.match_on),
            **extra,
        )


def _prefers_the_contract(exchange: Exchange) -> bool:
    """Whether the request asks for a contract response (Prism's `Prefer: code=, example=, dynamic=`);
    other preferences (`Prefer: return=minimal`) are the API's own and do not count."""
    from harness.responses import Preference, ResponseChoiceError

    try:
        preference = Preference.parse(exchange.request.headers.get("Prefer"))
    except ResponseChoiceError:
        return True  # the contract responder explains what is wrong with it
    return preference.code is not None or preference.example is not None or preference.dynamic is not None


def _discarded(exchange: Exchange) -> MockResponse:
    return MockResponse(204)


def cassette_replay(engine: MockEngine) -> CassetteReplay:
    """Load `engine.settings.cassettes` and hook the play counts to the engine's reset."""
    settings = engine.settings
    replayer = Replayer.load(
        settings.cassettes,
        match_on=settings.match_on,
        allow_playback_repeats=settings.allow_playback_repeats,
        vcr_config=settings.vcr_config,
    )
    engine.on_reset(replayer.rewind)
    # With no contract there is nothing else to answer from.
    only = settings.cassettes_only or not engine.contracts.contracts
    return CassetteReplay(replayer, only=only, validate=settings.validate, engine=engine)


def replay_status(engine: MockEngine) -> dict[str, Any]:
    """What `/__harness/health` shows about replay: the cassettes served and those refused."""
    replayer = replayer_of(engine)
    if replayer is None:
        return {}
    return {
        "cassettes": replayer.summary(),
        "refused_cassettes": [{"file": error.path, "reason": error.problem} for error in replayer.refused],
        "match_on": list(replayer.match_on),
        "allow_playback_repeats": replayer.allow_playback_repeats,
    }


def replayer_of(engine: MockEngine) -> Replayer | None:
    """The engine's replayer, when it serves cassettes."""
    for middleware in engine.middlewares:
        if isinstance(middleware, CassetteReplay):
            return middleware.replayer
    return None
