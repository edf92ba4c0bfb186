"""What the render tests share: the programs they need (skipped on a developer's machine without them, failed under
CI, where ``.ci/run`` sets ``PORTAL_REQUIRE_RENDER`` and installs them)."""

from __future__ import annotations

import os
import shutil

import pytest


def require_programs(*names: str, apt: str) -> None:
    """Skip (or, with ``PORTAL_REQUIRE_RENDER`` set, fail) when one of ``names`` is not on PATH; ``apt`` says what
    to install."""
    missing = [name for name in names if not shutil.which(name or "")]
    if not missing:
        return
    reason = f"render test needs {', '.join(missing)} (apt: {apt})"
    if os.environ.get("PORTAL_REQUIRE_RENDER"):
        pytest.fail(reason)
    pytest.skip(reason)
