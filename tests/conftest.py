"""Shared fixtures: where the contracts and the shared corpus are, and a live mock."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
CORPUS = ROOT.parent / "shared" / "corpus"
TODO = CONTRACTS / "todo.yaml"
GITHUB = CONTRACTS / "github.yaml"


def corpus_path(*parts: str) -> Path:
    """A file of ../shared/corpus, or a skip saying why it is missing (a user's clone lacks it)."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"the shared corpus is not beside this checkout ({path} is missing); CI provides it")
    return path


@pytest.fixture
def todo_app():
    from mock_server import create_app

    return create_app([TODO])


@pytest.fixture
def todo_client(todo_app):
    return todo_app.test_client()
