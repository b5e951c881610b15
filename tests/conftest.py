"""Shared test helpers: where the external data sets live (``../shared`` beside the project)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# A developer's own catalogue (`schedbench catalogue merge`, docs/profile.md) must not change what the tests
# see: they read the shipped catalogue and the project's own measurements only (tests that need a user
# catalogue point SCHEDBENCH_USER_CATALOGUE at a temporary file).
os.environ["SCHEDBENCH_USER_CATALOGUE"] = "none"
# Suites that campaigns and `suite build` materialise go to a cache folder of the test session, not the
# developer's ~/.cache/schedbench; a developer's local manifest folder must not change the suites either.
_SUITE_CACHE = tempfile.mkdtemp(prefix="schedbench-test-cache-")
os.environ["SCHEDBENCH_CACHE_DIR"] = _SUITE_CACHE
os.environ.pop("SCHEDBENCH_INSTANCES_DIR", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SUITE_CACHE, ignore_errors=True)


#: ``/work/main/../shared``: the folder of published data sets beside the project's root.
SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


def require_shared(*parts: str) -> Path:
    """The path ``SHARED_DIR/parts...``; skips the calling test when it does not exist."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"external data not available: {path} does not exist (it sits beside the project's root "
            "in the development setup; a fresh clone does not have it)"
        )
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder (skips the test when absent)."""
    return require_shared()


# Order dependence must not hide (a test passing only because another file ran first in the same process):
# with --shuffle-files SEED (or SCHEDBENCH_SHUFFLE_FILES=SEED) the test files run in an order drawn from SEED,
# each file's own tests keeping theirs. CI passes the git revision, so every commit runs in its own order and
# a failure is reproduced with the seed printed in the header. tools/run_tests_isolated.sh runs each file in
# a process of its own instead.
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shuffle-files",
        metavar="SEED",
        default=os.environ.get("SCHEDBENCH_SHUFFLE_FILES") or None,
        help="run the test files in an order drawn from SEED (tests within a file keep their order)",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption("--shuffle-files")
    return f"test files shuffled with seed {seed!r} (--shuffle-files)" if seed else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seed = config.getoption("--shuffle-files")
    if not seed:
        return
    import random

    files = sorted({str(item.path) for item in items})
    random.Random(str(seed)).shuffle(files)
    rank = {path: i for i, path in enumerate(files)}
    items.sort(key=lambda item: rank[str(item.path)])  # a stable sort: each file keeps its own order
