"""Scopes granted to tokens, so an operation that needs more answers 403 (not 401), as OAuth servers do.

The mock cannot know real tokens' scopes: a token is only checked when it was granted scopes
(scenario `tokens:`, `POST /__harness/tokens`, or `RunningMock.grant`). Unknown tokens pass.
"""

from __future__ import annotations

import json

from harness.security import SecurityOutcome
from harness.state import StateStore

_KEY = "token-scopes"


class Grants:
    """Token -> granted scopes, in the state store (shared by every worker)."""

    def __init__(self, store: StateStore):
        self._store = store

    def grant(self, token: str, scopes: list[str] | tuple[str, ...]) -> None:
        self._store.hash_set(_KEY, token, json.dumps(list(scopes)))

    def listing(self) -> dict[str, list[str]]:
        return {token: json.loads(scopes) for token, scopes in self._store.hash_items(_KEY).items()}

    def scopes_of(
        self, credential_value: str, granted: dict[str, list[str]] | None = None
    ) -> list[str] | None:
        granted = self.listing() if granted is None else granted
        # `Authorization: token abc` read through an apiKey scheme keeps its prefix; grants name the token.
        for candidate in (credential_value, credential_value.partition(" ")[2]):
            if candidate in granted:
                return granted[candidate]
        return None

    def missing(self, outcome: SecurityOutcome) -> tuple[list[str], list[str]]:
        """(scopes the request's credentials need but were not granted, the scopes required)."""
        if not any(credential.scopes for credential in outcome.credentials):
            return [], []
        granted = self.listing()
        missing: list[str] = []
        required: list[str] = []
        for credential in outcome.credentials:
            if not credential.scopes:
                continue
            scopes = self.scopes_of(credential.value, granted)
            required.extend(credential.scopes)
            if scopes is not None:
                missing.extend(scope for scope in credential.scopes if scope not in scopes)
        return list(dict.fromkeys(missing)), list(dict.fromkeys(required))
