"""Fixtures of the contract test: objects for the paths to find, and the bureau admin's API token."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fuzz.conftest import FuzzWorld, build_fuzz_world


@pytest.fixture
def contract_world(tree: Any, users: Any) -> FuzzWorld:
    """Plans, targets, submissions in every state, figures, periods and a token per persona."""
    return build_fuzz_world(tree, users)


@pytest.fixture
def admin_headers(contract_world: FuzzWorld) -> dict[str, str]:
    return {"Authorization": f"Token {contract_world.tokens['bea']}"}
