"""Hypothesis strategies for the values a contract allows, built on schemathesis' generator.

schemathesis has no public API for generating *responses*; its internal `make_positive_strategy`
generates valid values for any converted schema (TECH-NOTES §1.11). It is pinned with schemathesis
and covered by tests, so an upgrade that moves it fails loudly here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from harness.contracts import Operation


def schema_strategy(operation: Operation, schema: Any, media_type: str | None = None) -> SearchStrategy[Any]:
    """Values valid against `schema`, a schema converted by schemathesis for `operation`."""
    from schemathesis.core.parameters import ParameterLocation
    from schemathesis.specs.openapi._hypothesis import make_positive_strategy

    st_operation = operation.schemathesis_operation()
    schema_object: Any = operation.contract.schema
    validator_cls = schema_object.adapter.jsonschema_validator_cls
    config = schema_object.config.generation_for(operation=st_operation)
    return make_positive_strategy(
        schema, st_operation.label, ParameterLocation.BODY, media_type, config, validator_cls
    )


def simplest_value(operation: Operation, schema: Any, media_type: str | None = None) -> Any:
    """The smallest value hypothesis finds for the schema (deterministic: shrinking is)."""
    from hypothesis import HealthCheck, Phase, find, settings

    quick = settings(
        database=None,
        max_examples=50,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    return find(schema_strategy(operation, schema, media_type), lambda _: True, settings=quick)
