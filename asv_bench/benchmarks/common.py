"""Shared by the asv benchmarks: finding data, running a solver in-process, grading its answer.

asv imports these modules in an environment where an *older commit* of schedbench may be
installed, so nothing here imports schedbench at module level: every helper imports what it needs
when called and raises :class:`NotImplementedError` (asv's "skip this benchmark") when the commit
does not have it yet. A benchmark therefore shows as *skipped*, not *failed*, on commits that
predate the feature it measures.

Data: ``asv_bench/data/`` holds the fixed generated instances of the quality benchmarks (JSON, with
their proven optimum in ``metadata.known``; ``asv_bench/make_instances.py`` rebuilds them). The
published sets are read from ``$SCHEDBENCH_EXTERNAL`` or ``../shared/external`` beside the
repository (skipped when absent, like the tests marked ``external``).

Smoke mode: with ``SCHEDBENCH_ASV_SMOKE=1`` in the environment every benchmark runs at a small
size and budget (:func:`scaled`), so that ``asv run --python=same --quick`` exercises all of them
in CI in well under two minutes. ``--quick`` results are not saved; never record history in
smoke mode.

Launch: asv.conf.json sets ``launch_method`` to ``forkserver``. In the fork server (and in smoke
mode) this module imports schedbench and builds its solver registry when asv imports it, so every
benchmark forks with them loaded instead of importing OR-Tools, cvxpy and Pyomo again (about 2 s
each time). Memory figures (``peakmem_*``) therefore include the preloaded libraries, at every
commit alike.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

#: True when ``SCHEDBENCH_ASV_SMOKE=1``: small sizes and budgets (CI smoke, see the module docstring).
SMOKE = os.environ.get("SCHEDBENCH_ASV_SMOKE", "") == "1"
#: asv_bench/ (this file is asv_bench/benchmarks/common.py).
BENCH_ROOT = Path(__file__).resolve().parents[1]
DATA = BENCH_ROOT / "data"


def external_dir() -> Path:
    """The published instance sets: ``$SCHEDBENCH_EXTERNAL``, else ``../shared/external`` beside the
    repository. Raises NotImplementedError (skip) when the folder does not exist."""
    env = os.environ.get("SCHEDBENCH_EXTERNAL")
    path = Path(env) if env else BENCH_ROOT.parent.parent / "shared" / "external"
    if not path.is_dir():
        raise NotImplementedError(f"published instance sets not found at {path} (set SCHEDBENCH_EXTERNAL)")
    return path


def scaled(full: int, smoke: int) -> int:
    """``full``, or ``smoke`` in smoke mode."""
    return smoke if SMOKE else full


def need(module: str, *names: str) -> Any:
    """Import ``module`` (and return it), or skip the benchmark when this commit lacks it or any of
    ``names`` in it."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise NotImplementedError(f"{module} is not importable at this commit: {exc}") from None
    for name in names:
        if not hasattr(mod, name):
            raise NotImplementedError(f"{module}.{name} does not exist at this commit")
    return mod


def solver_class(name: str) -> type:
    """The registered solver class ``name``; skip when this commit has no such solver or it is
    unavailable here (a missing optional library)."""
    registry = need("schedbench.plugins.registry", "get_registry").get_registry()
    try:
        entry = registry.get(name)
    except (KeyError, ValueError) as exc:
        raise NotImplementedError(f"solver {name!r} does not exist at this commit: {exc}") from None
    if not entry.available:
        raise NotImplementedError(f"solver {name!r} is unavailable here: {entry.reason}")
    return entry.load()


def supports(cls: type, inst: Any) -> None:
    """Skip when the solver does not take this instance (class/objective not declared, or the
    solver declines it)."""
    reason_of = getattr(cls, "unsupported_reason", None)
    if reason_of is not None:
        reason = reason_of(inst)
    else:
        problems = getattr(cls, "problems", {})
        ok = inst.problem.objective in problems.get(inst.problem.cls, ())
        reason = None if ok else "class/objective not declared"
    if reason:
        raise NotImplementedError(f"{cls.name} does not solve {inst.name}: {reason}")


def solve(cls: type, inst: Any, params: dict[str, Any], *, seed: int = 0, time_limit: float = 600.0) -> Any:
    """Run ``cls`` on ``inst`` in this process and return its ``SolveResult`` (a plain solution dict
    is wrapped by the caller's checks). Unknown parameters at this commit skip the benchmark."""
    Context = need("schedbench.plugins.solver", "Context").Context
    try:
        resolved = cls.resolve_params(params)
    except ValueError as exc:
        raise NotImplementedError(f"{cls.name} at this commit does not take {params}: {exc}") from None
    return cls().solve(inst, Context(time_limit, seed, resolved))


def graded_objective(inst: Any, result: Any) -> float:
    """The validator's objective of a solver's answer (solvers never grade themselves).

    Raises:
        RuntimeError: no answer, or an infeasible one (the benchmark fails: a broken solver must
            show, not vanish from the graph).
    """
    validate = need("schedbench.validator", "validate").validate
    solution = result.get("solution", result) if isinstance(result, dict) else getattr(result, "solution", None)
    if solution is None:
        raise RuntimeError(f"no answer on {inst.name}")
    verdict = validate(inst, solution)
    if not verdict.feasible:
        raise RuntimeError(f"infeasible answer on {inst.name}: {verdict.violations[:3]}")
    return float(verdict.objective)


def reference(inst: Any) -> float:
    """The instance's published optimum, else its best-known value (``metadata.known``)."""
    known = (inst.metadata or {}).get("known") or {}
    for key in ("optimum", "best_known"):
        if known.get(key) is not None:
            return float(known[key])
    raise NotImplementedError(f"{inst.name} has no optimum or best-known value")


def gap(objective: float, best: float) -> float:
    """The project's gap of a minimisation (:func:`schedbench.scoring.gap`; ``schedbench.store.gap``
    before the restructure of issue 10, the same value when ``objective >= best``)."""
    try:
        value = need("schedbench.scoring", "gap").gap(objective, best, "min")
    except NotImplementedError:
        value = need("schedbench.store", "gap").gap(objective, best)
    return float(value)


def _preload() -> None:
    """Import schedbench's modules and build the solver registry now (see the module docstring)."""
    for module in (
        "schedbench.instances",
        "schedbench.validator",
        "schedbench.generators",
        "schedbench.runner.execute",
    ):
        try:
            importlib.import_module(module)
        except Exception:  # an older commit without it: the benchmark that needs it will skip
            continue
    try:
        importlib.import_module("schedbench.plugins.registry").get_registry()
    except Exception:
        return


if SMOKE or "run_server" in sys.argv[1:2]:  # asv's fork server: benchmark.py run_server DIR SOCKET
    _preload()
