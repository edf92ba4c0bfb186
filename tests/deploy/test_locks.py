"""The lock files stay in step with pyproject.toml: every pin there is locked, with hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-").replace(".", "-")


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = re.search(r"==\s*([^\s;,]+)", requirement)
        assert match, f"not pinned in pyproject.toml: {requirement}"
        pins[_name(requirement)] = match.group(1)
    return pins


def _locked(path: Path) -> dict[str, tuple[str, int]]:
    """name → (version, number of hashes) of every package in a lock file."""
    text = path.read_text(encoding="utf-8")
    locked = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            locked[_name(match.group(1))] = (match.group(2), block.count("--hash=sha256:"))
    return locked


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS = PROJECT["optional-dependencies"]


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("requirements.lock", PROJECT["dependencies"]),
        ("requirements-dev.lock", PROJECT["dependencies"] + EXTRAS["dev"] + EXTRAS["sentry"]),
    ],
)
def test_every_pin_of_pyproject_is_locked_with_hashes(lock: str, requirements: list[str]) -> None:
    locked = _locked(ROOT / lock)
    stale = {
        name: (version, locked.get(name, ("missing", 0))[0])
        for name, version in _pins(requirements).items()
        if locked.get(name, ("", 0))[0] != version
    }
    assert stale == {}, f"{lock} is out of date (run `make lock`): {stale}"
    assert all(hashes >= 1 for _, hashes in locked.values()), "a locked package without --hash"
    # Every transitive package is pinned too: the lock holds more than the direct dependencies.
    assert len(locked) > len(requirements)
