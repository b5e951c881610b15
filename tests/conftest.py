"""Shared test helpers: where the external data sets live (``../shared`` beside the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# A developer's own catalogue (`schedbench catalogue merge`, docs/profile.md) must not change what the tests
# see: they read the shipped catalogue and the project's own measurements only (tests that need a user
# catalogue point SCHEDBENCH_USER_CATALOGUE at a temporary file).
os.environ["SCHEDBENCH_USER_CATALOGUE"] = "none"

#: ``/work/main/../shared``: the folder of published data sets beside the project's root.
SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


def require_shared(*parts: str) -> Path:
    """The path ``SHARED_DIR/parts...``; skips the calling test when it does not exist."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"external data not available: {path} does not exist (it sits beside the project's root "
                    "in the development setup; a fresh clone does not have it)")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder (skips the test when absent)."""
    return require_shared()
