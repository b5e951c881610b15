"""The Python API for notebooks and scripts, re-exported from :mod:`schedbench`.

>>> import schedbench as sb
>>> inst = sb.generate("placement", preset="gap-like", seed=0)        # doctest: +SKIP
>>> rec = sb.solve("greedy-bestfit", inst, time_limit=5)              # doctest: +SKIP
>>> rec.status, rec.objective                                        # doctest: +SKIP
>>> sb.validate(inst, rec.solution).feasible                         # doctest: +SKIP
>>> sb.runs("results/smoke.sqlite")                                  # doctest: +SKIP

Every function is a thin layer over the CLI's own code paths: ``solve`` builds the same run task
as ``schedbench solve`` (same run identity, derived seed and grading by the validator in this
process), ``runs`` is :func:`schedbench.store.views.runs` (or a parquet/CSV export read back).
"""

from __future__ import annotations

import math
import tempfile
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from schedbench.instances.model import Instance
    from schedbench.runner.grade import Measurement
    from schedbench.runs import RunRecord
    from schedbench.validator import ValidationResult

_TMP: Path | None = None


def load(path: str | Path) -> Instance:
    """Read an instance file (``.json`` or ``.json.gz``) strictly, as ``schedbench show`` does.

    Raises:
        InputError: a malformed file (names the file, JSON path, expected and found).
    """
    from schedbench.instances import io

    return io.load(path)


def generate(cls: str, *, preset: str | None = None, seed: int = 0, **params: Any) -> Instance:
    """Generate a reproducible instance, as ``schedbench generate CLS --preset P -p k=v --seed S``
    (same class, parameters and seed give the same instance and content hash).

    Raises:
        KeyError: an unknown class or preset. ValueError/InputError: a bad parameter or seed.
    """
    from schedbench.generators import generate as gen
    from schedbench.generators.presets import preset_names, resolve

    if preset is not None and preset not in preset_names(cls):
        raise KeyError(f"unknown {cls} preset {preset!r}; expected one of {preset_names(cls)}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return gen(cls, resolve(cls, preset, params), seed, source="schedbench.generate")


def validate(instance: Instance | str | Path, solution: Mapping[str, Any] | str | Path) -> ValidationResult:
    """Grade a solution (a dict or a file) against an instance (an object or a file) with the
    independent validator: ``.feasible``, ``.objective``, ``.violations``."""
    from schedbench import validator

    inst = instance if not isinstance(instance, (str, Path)) else load(instance)
    if isinstance(solution, (str, Path)):
        return validator.validate_file(inst, solution)
    return validator.validate(inst, dict(solution))


def _instance_file(instance: Instance | str | Path) -> tuple[Path, Instance]:
    """A file holding ``instance`` (the given path, or its canonical bytes in a per-process temp folder)."""
    global _TMP
    from schedbench.instances import io

    if isinstance(instance, (str, Path)):
        return Path(instance), io.load(instance)
    if _TMP is None:
        _TMP = Path(tempfile.mkdtemp(prefix="schedbench-api-"))
    path = _TMP / f"{io.content_hash(instance)}.json"
    if not path.exists():
        io.save(instance, path)
    return path, instance


class _InProcess:
    """An executor running the solver in the calling process (``isolated=False``): no process,
    time or memory limit is enforced; the answer is graded by the harness's own code."""

    def __init__(self) -> None:
        from schedbench.runner import worker as _w

        self.registry = _w.registry_spec(None)

    def measure(self, task: Any) -> Measurement:
        """Run the task here and return what was measured (:class:`schedbench.runner.grade.Measurement`)."""
        import json
        import resource

        from schedbench.instances import io
        from schedbench.plugins.solver import Context
        from schedbench.runner.execute import get_entry
        from schedbench.runner.grade import Measurement

        cls = get_entry(self.registry, tuple(task.solvers_dirs), task.solver).load()
        inst = io.load(task.instance_path)
        traj: list[tuple[float, float | None, bytes]] = []
        t0, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        raw: dict[str, Any] = {
            "kind": "crashed",
            "reason": "",
            "result": None,
            "error": None,
            "trajectory": traj,
            "thinned": False,
            "last_bound": None,
            "log_tail": "",
        }

        def report(solution: Any, bound: float | None) -> None:
            traj.append((time.perf_counter() - t0, bound, json.dumps(solution).encode()))
            raw["last_bound"] = bound

        try:
            ctx = Context(
                float(task.time_limit), int(task.solver_seed), dict(task.params), int(task.threads), reporter=report
            )
            res = cls().solve(inst, ctx)
            raw["kind"] = "result"
            raw["result"] = {
                "status": res.status,
                "bound": res.bound,
                "solution_error": None,
                "solution": None if res.solution is None else json.dumps(res.solution).encode(),
                "info": json.dumps(res.info, default=str),
            }
        except MemoryError:
            raw["kind"], raw["error"] = "memout", traceback.format_exc()[-4000:]
        except Exception:
            raw["kind"], raw["error"] = "error", traceback.format_exc()[-4000:]
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        raw["wall_s"] = time.perf_counter() - t0
        raw["cpu_s"] = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        raw["peak_rss_mb"] = None
        return Measurement.from_worker(raw)


def solve(
    name: str,
    instance: Instance | str | Path,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    isolated: bool = True,
    memory_limit_mb: int | None = None,
    threads: int = 1,
    solvers_dir: list[str | Path] | None = None,
) -> RunRecord:
    """Run solver ``name`` once on ``instance`` and return the graded run record (``status``,
    ``objective``, ``solution``, ``trajectory``, ``wall_s``, ``flags``...).

    ``isolated=True`` (default) runs exactly as ``schedbench solve`` and campaigns do: a forked
    worker under the hard wall-clock and memory limits. ``isolated=False`` runs in this process (for
    debugging with breakpoints): same task, seed and grading, but no limit is enforced.

    Raises:
        InputError: a bad option, an unknown solver or a bad parameter.
    """
    from schedbench.errors import UsageError
    from schedbench.runner.execute import _execute, default_executor, get_entry, task_for

    if not (time_limit > 0 and math.isfinite(time_limit)):
        raise UsageError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    if seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    path, inst = _instance_file(instance)
    dirs = tuple(str(Path(d).resolve()) for d in solvers_dir or [])
    ex: Any = default_executor() if isolated else _InProcess()
    try:
        entry = get_entry(ex.registry, dirs, name)
    except KeyError:
        raise UsageError(f"unknown solver {name!r} (see `schedbench solvers list`)") from None
    task = task_for(
        entry,
        path,
        inst,
        dict(params or {}),
        seed=seed,
        time_limit=time_limit,
        memory_limit_mb=memory_limit_mb,
        threads=threads,
        solvers_dirs=dirs,
    )
    return ex.execute(task) if isolated else _execute(ex, task)


def run(spec: Mapping[str, Any] | str | Path, *, base: str | Path = ".") -> pd.DataFrame:
    """Run a campaign (a run-spec TOML file, or the same keys as a dict, paths relative to
    ``base``), resuming as ``schedbench run`` does; returns the campaign's runs
    (:func:`schedbench.store.views.runs` columns).

    Raises:
        InputError: a bad spec.
    """
    from schedbench.runner.campaign import load_spec, run_campaign, spec_from_dict
    from schedbench.store import views

    the_spec = load_spec(spec) if isinstance(spec, (str, Path)) else spec_from_dict(spec, base=Path(base))
    result = run_campaign(the_spec)
    return views.runs(result.store, campaign=the_spec.name)


def runs(source: str | Path, *, campaign: str | None = None) -> pd.DataFrame:
    """The runs of a store (:func:`schedbench.store.views.runs` columns) or of a parquet/CSV export
    (of one campaign), read by :func:`schedbench.store.views.read_runs`."""
    from schedbench.store.views import read_runs

    return read_runs(source, campaign=campaign)


__all__ = ["generate", "load", "run", "runs", "solve", "validate"]
