"""The fault catalogue and fault rules: parsing, validation messages, and when rules fire."""

from __future__ import annotations

import random

import pytest

from harness.contracts import ContractSet, load_contract
from harness.errors import FaultError
from harness.faults import (
    FAULT_NAMES,
    Delay,
    Fault,
    FaultBook,
    FaultRule,
    FaultSpec,
    parse_fault_header,
    parse_shortcut,
)
from harness.state import MemoryStore
from tests.conftest import GITHUB, TODO


@pytest.fixture(scope="module")
def contracts():
    return ContractSet([load_contract(TODO), load_contract(GITHUB)])


def test_the_catalogue_names_every_fault_of_the_issue():
    assert FAULT_NAMES == (
        "unauthorized",
        "forbidden",
        "rate_limited",
        "unavailable",
        "server_error",
        "bad_gateway",
        "gateway_timeout",
        "malformed_json",
        "wrong_schema",
        "slow",
        "dribble",
        "drop",
        "reset",
        "truncated",
    )
    assert [fault.status for fault in (Fault.UNAVAILABLE, Fault.SERVER_ERROR, Fault.BAD_GATEWAY)] == [
        503,
        500,
        502,
    ]
    assert {fault.value for fault in Fault if fault.transport} == {
        "slow",
        "dribble",
        "drop",
        "reset",
        "truncated",
    }


def test_unknown_fault_lists_the_valid_ones():
    with pytest.raises(FaultError) as error:
        Fault.parse("unavaliable")
    assert str(error.value) == f"unknown fault 'unavaliable'; valid faults: {', '.join(FAULT_NAMES)}"
    assert error.value.choices == list(FAULT_NAMES)


def test_header_gives_faults_with_options_and_chains_connection_faults():
    specs = parse_fault_header("rate_limited; status=429; style=secondary, slow; delay=uniform(0.1, 0.5)")
    assert [spec.as_dict() for spec in specs] == [
        {"fault": "rate_limited", "status": 429, "style": "secondary"},
        {"fault": "slow", "delay": "uniform(0.1, 0.5)"},
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("slow; pace=3", "fault 'slow' takes no option 'pace'; its options: delay"),
        ("rate_limited; status=500", "status='500' is not valid; choose one of: 403, 429"),
        (
            "malformed_json; variant=xml",
            "variant='xml' is not valid; choose one of: truncated, trailing_garbage",
        ),
        (
            "unavailable, server_error",
            "names 2 faults that each replace the response (unavailable, server_error)",
        ),
        ("slow; delay", "fault option 'delay' in 'slow; delay' is not name=value"),
        ("slow; delay=gamma(1)", "unknown delay distribution 'gamma'; valid: uniform, exponential, normal"),
        ("slow; delay=-1", "delay '-1' must be a number of seconds >= 0"),
        ("dribble; chunk=0", "chunk='0' must be an integer >= 1"),
        ("", "no fault named in ''"),
    ],
)
def test_bad_fault_headers_say_what_is_valid(header, message):
    with pytest.raises(FaultError, match=None) as error:
        parse_fault_header(header)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("0.25", 0.25, 0.25),
        ("uniform(0.1, 0.2)", 0.1, 0.2),
        ("exponential(0.05)", 0, 5),
        ("normal(1, 0.1)", 0, 3),
    ],
)
def test_delays_are_fixed_or_drawn_from_a_distribution(text, low, high):
    delay = Delay.parse(text)
    draws = [delay.sample(random.Random(seed)) for seed in range(50)]
    assert all(low <= draw <= high for draw in draws)
    assert str(delay) == text.replace(", ", ", ")
    assert delay.sample(random.Random(7)) == delay.sample(random.Random(7))


def test_rule_from_mapping_keeps_its_selectors_and_options(contracts):
    rule = FaultRule.from_dict(
        {"fault": "unavailable", "operation": "repos/get", "times": 2, "after": 1, "retry_after": 5},
        contracts,
    )
    assert rule.as_dict() == {
        "id": None,
        "fault": "unavailable",
        "retry_after": 5.0,
        "operation": "repos/get",
        "times": 2,
        "after": 1,
    }


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"fault": "nope"}, "unknown fault 'nope'; valid faults: unauthorized, forbidden"),
        ({"operation": "repos/get"}, "names no fault; add 'fault': one of unauthorized"),
        ({"fault": "unavailable", "probability": 1.5}, "probability 1.5 is outside 0..1"),
        ({"fault": "unavailable", "probability": -0.1}, "probability -0.1 is outside 0..1"),
        ({"fault": "unavailable", "times": 0}, "fault rule 'times' must be >= 1, got 0"),
        (
            {"fault": "unavailable", "delay": 1},
            "unknown key(s) 'delay'; valid keys for 'unavailable': operation",
        ),
        (
            {"fault": "unavailable", "operation": "repos/gte"},
            "fault rule for operation 'repos/gte' matches no operation of the served contracts; "
            "closest: repos/get",
        ),
        (
            {"fault": "unavailable", "method": "DELETE", "path": "/tasks/"},
            "fault rule for DELETE /tasks/ matches no operation of the served contracts; closest:",
        ),
    ],
)
def test_invalid_rules_are_refused_with_the_valid_choices(contracts, rule, message):
    with pytest.raises(FaultError) as error:
        FaultRule.from_dict(rule, contracts)
    assert message in str(error.value)


def test_rule_matches_by_operation_or_by_method_and_path_pattern(contracts):
    get_repo = contracts.find_operation("repos/get")
    issues = contracts.find_operation("issues/list-for-repo")
    by_pattern = FaultRule.from_dict({"fault": "drop", "method": "get", "path": "/repos/*/issues"}, contracts)
    assert by_pattern.matches(issues) and not by_pattern.matches(get_repo)
    by_label = FaultRule.from_dict({"fault": "drop", "operation": "GET /repos/{owner}/{repo}"}, contracts)
    assert by_label.matches(get_repo) and not by_label.matches(issues)


def test_cli_shortcut_is_a_name_and_an_optional_probability():
    assert parse_shortcut("unavailable:0.1") == {"fault": "unavailable", "probability": "0.1"}
    assert parse_shortcut("drop") == {"fault": "drop"}


def _fired(book, operation, count):
    return [book.choose(operation) is not None for _ in range(count)]


def test_times_and_after_count_matching_requests(contracts):
    book = FaultBook(MemoryStore(), contracts)
    operation = contracts.find_operation("repos/get")
    book.add({"fault": "unavailable", "operation": "repos/get", "after": 2, "times": 3})
    assert _fired(book, operation, 7) == [False, False, True, True, True, False, False]
    assert book.listing()[0] | {} == {
        "id": 1,
        "fault": "unavailable",
        "operation": "repos/get",
        "times": 3,
        "after": 2,
        "seen": 7,
        "injected": 3,
    }
    assert book.choose(contracts.find_operation("repos/get")) is None


def test_seeded_probability_fails_the_same_requests_every_run(contracts):
    operation = contracts.find_operation("listTasks")
    runs = []
    for _ in range(2):
        book = FaultBook(MemoryStore(), contracts)
        book.add({"fault": "unavailable", "probability": 0.3, "seed": 42})
        runs.append(_fired(book, operation, 200))
    assert runs[0] == runs[1]
    assert 40 <= runs[0].count(True) <= 80  # about 30%
    other = FaultBook(MemoryStore(), contracts)
    other.add({"fault": "unavailable", "probability": 0.3, "seed": 43})
    assert _fired(other, operation, 200) != runs[0]


def test_first_matching_rule_wins_and_rules_can_be_removed(contracts):
    book = FaultBook(MemoryStore(), contracts)
    operation = contracts.find_operation("listTasks")
    first = book.add({"fault": "unavailable", "operation": "listTasks", "times": 1})
    book.add({"fault": "server_error"})
    assert book.choose(operation)[0].spec.fault is Fault.UNAVAILABLE
    assert book.choose(operation)[0].spec.fault is Fault.SERVER_ERROR
    assert book.remove(first.id) is True
    book.clear()
    assert book.rules() == [] and book.choose(operation) is None


def test_spec_options_are_typed():
    spec = FaultSpec.parse("dribble", {"chunk": "8", "interval": "0.01"})
    assert spec.get("chunk") == 8 and spec.get("interval") == 0.01
    assert str(spec) == "dribble; chunk=8; interval=0.01"
