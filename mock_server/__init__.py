"""The mock server: a Flask app that answers like the API its contracts describe.

from mock_server import create_app
app = create_app(["contracts/todo.yaml"])
app.test_client().get("/tasks/")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from harness.contracts import Contract
    from mock_server.engine import MockEngine, MockSettings

__all__ = ["create_app", "create_engine"]


def create_engine(
    contracts: Sequence[str | Path | Contract] | str | Path,
    *,
    mounts: Mapping[str, str] | None = None,
    settings: MockSettings | None = None,
    **options: Any,
) -> MockEngine:
    """Load the contracts and build the request pipeline (no Flask involved).

    Args:
        contracts: paths of OpenAPI documents, or loaded `Contract`s.
        mounts: contract name (file stem) or path -> URL prefix; by default each contract is
            mounted at the base path of its `servers` URL.
        settings: a `MockSettings`; or pass its fields as keyword arguments.
    """
    from harness.contracts import Contract, ContractSet, load_contract
    from mock_server.engine import MockEngine, MockSettings

    if isinstance(contracts, str | Path):
        contracts = [contracts]
    mounts = dict(mounts or {})
    loaded = []
    for item in contracts:
        if isinstance(item, Contract):
            loaded.append(item)
            continue
        path = Path(item)
        mount = mounts.get(str(item), mounts.get(path.name.split(".")[0]))
        loaded.append(load_contract(path, mount=mount))
    settings = settings or MockSettings(**options)
    return MockEngine(ContractSet(loaded), settings)


def create_app(
    contracts: Sequence[str | Path | Contract] | str | Path,
    *,
    mounts: Mapping[str, str] | None = None,
    settings: MockSettings | None = None,
    **options: Any,
) -> Flask:
    """A Flask app serving the contracts; see `create_engine` for the arguments."""
    from mock_server.app import build_flask_app

    return build_flask_app(create_engine(contracts, mounts=mounts, settings=settings, **options))
