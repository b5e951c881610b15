"""Campaigns: a run spec expanded into runs, executed in parallel, every result stored at once.

A run spec (TOML, mirrored by ``schedbench run`` flags)::

    name = "smoke-comparison"
    store = "results/smoke.sqlite"        # relative to the spec file; default <name>.sqlite
    suites = ["smoke"]                     # named suites (bundled, or ./instances/<suite>.toml)
    instances = ["more/*.json"]            # instance files or globs, relative to the spec file
    seeds = 3                              # repetitions 0..2 (or an explicit list [0, 5])
    time_limit = 10.0                      # seconds per run (hard)
    memory_limit_mb = 4096                 # address space a run may add beyond the preloaded worker; omit: none
    threads = 1                            # per run (BLAS/OpenMP and the solver's own setting)
    workers = 2                            # parallel runs (local executor)
    solvers_dirs = []                      # extra plugin folders

    [[solvers]]
    name = "greedy-bestfit"
    params = { order = ["input", "decreasing"] }   # lists are grids: one run per combination

Expansion: instances x solver parameter combinations x seeds, with the limits; a solver is paired
only with instances whose class and objective it declares (the others are counted and skipped).
Each run's identity (:func:`schedbench.runs.run_identity`) decides resume: runs already
in the store are skipped unless their status is in ``rerun``.
"""

from __future__ import annotations

import glob
import itertools
import os
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schedbench.errors import InputError
from schedbench.runs import MAX_MEMORY_LIMIT_MB, MAX_THREADS, MAX_TIME_LIMIT_S, RunRecord, RunTask

#: Seconds between two looks at runs another campaign holds (end of :func:`run_campaign`).
CLAIM_POLL_S = 0.5
_SPEC_KEYS = {
    "name",
    "store",
    "suites",
    "instances",
    "seeds",
    "time_limit",
    "memory_limit_mb",
    "threads",
    "workers",
    "solvers_dirs",
    "solvers",
    "executor",
    "scheduler",
}


@dataclass
class SolverSpec:
    """A solver and its parameter grid (each value a list of alternatives)."""

    name: str
    grid: dict[str, list[Any]] = field(default_factory=dict)

    def combinations(self) -> list[dict[str, Any]]:
        """Every parameter set of the grid (the cartesian product of its lists; ``[{}]`` without one)."""
        if not self.grid:
            return [{}]
        keys = sorted(self.grid)
        return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(self.grid[k] for k in keys))]


@dataclass
class CampaignSpec:
    """A parsed run spec (see the module docstring)."""

    name: str = "campaign"
    store: Path = Path("campaign.sqlite")
    suites: list[str] = field(default_factory=list)
    instances: list[Path] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [0])
    time_limit: float = 10.0
    memory_limit_mb: int | None = None
    threads: int = 1
    workers: int = 1
    solvers_dirs: list[Path] = field(default_factory=list)
    solvers: list[SolverSpec] = field(default_factory=list)
    executor: str = "local"
    scheduler: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-ready dict (stored with the campaign)."""
        return {
            "name": self.name,
            "suites": self.suites,
            "instances": [str(p) for p in self.instances],
            "seeds": self.seeds,
            "time_limit": self.time_limit,
            "memory_limit_mb": self.memory_limit_mb,
            "threads": self.threads,
            "solvers": [{"name": s.name, "params": s.grid} for s in self.solvers],
            "solvers_dirs": [str(p) for p in self.solvers_dirs],
        }


def _fail(file: str, key: str, expected: str, found: Any) -> InputError:
    return InputError(file, key, expected, repr(found))


def parse_seeds(value: Any, file: str = "<spec>") -> list[int]:
    """The repetition seeds of ``seeds = N`` (0..N-1) or an explicit list of distinct non-negative integers.

    Raises:
        InputError: anything else (names ``file``).
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return list(range(value))
    if (
        isinstance(value, list)
        and value
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
    ):
        return list(value)
    raise _fail(file, "seeds", "a number of repetitions >= 1 or a list of non-negative integers", value)


def load_spec(path: str | Path) -> CampaignSpec:
    """Read and check a TOML run spec.

    Raises:
        InputError: naming the file, the key, what was expected and what was found.
    """
    path = Path(path)
    file = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(file, "$", "a run spec (TOML)", "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, "$", "valid TOML", str(exc)) from None
    return spec_from_dict(doc, base=path.parent, file=file)


def spec_from_dict(doc: Mapping[str, Any], *, base: Path = Path("."), file: str = "<spec>") -> CampaignSpec:
    """Check a spec mapping (from TOML or CLI flags); relative paths are taken from ``base``."""
    for key in doc:
        if key not in _SPEC_KEYS:
            raise _fail(file, key, f"one of {sorted(_SPEC_KEYS)}", key)
    spec = CampaignSpec()
    spec.name = str(doc.get("name", "campaign"))
    spec.store = Path(os.path.normpath(base / str(doc.get("store", f"{spec.name}.sqlite"))))
    suites = doc.get("suites", [])
    if not isinstance(suites, list) or not all(isinstance(s, str) for s in suites):
        raise _fail(file, "suites", "a list of suite names", suites)
    spec.suites = list(suites)
    inst = doc.get("instances", [])
    if not isinstance(inst, list) or not all(isinstance(s, str) for s in inst):
        raise _fail(file, "instances", "a list of instance paths or globs", inst)
    spec.instances = [base / s for s in inst]
    spec.seeds = parse_seeds(doc.get("seeds", 1), file)
    _parse_limits(doc, spec, file)
    dirs = doc.get("solvers_dirs", [])
    if not isinstance(dirs, list) or not all(isinstance(d, str) for d in dirs):
        raise _fail(file, "solvers_dirs", "a list of folders", dirs)
    spec.solvers_dirs = [base / d for d in dirs]
    spec.solvers = _parse_solvers(doc.get("solvers", []), file)
    ex = doc.get("executor", "local")
    if ex not in ("local", "dask"):
        raise _fail(file, "executor", "'local' or 'dask'", ex)
    spec.executor = ex
    spec.scheduler = doc.get("scheduler")
    if not spec.suites and not spec.instances:
        raise _fail(file, "suites/instances", "at least one suite or instance path", "none")
    return spec


def _parse_limits(doc: Mapping[str, Any], spec: CampaignSpec, file: str) -> None:
    """Check and set the spec's ``time_limit``, ``memory_limit_mb``, ``threads`` and ``workers``."""
    tl = doc.get("time_limit", 10.0)
    if isinstance(tl, bool) or not isinstance(tl, (int, float)) or not 0 < tl <= MAX_TIME_LIMIT_S:
        raise _fail(file, "time_limit", f"a positive number of seconds <= {MAX_TIME_LIMIT_S:g} (30 days)", tl)
    spec.time_limit = float(tl)
    mem = doc.get("memory_limit_mb")
    if mem is not None and (isinstance(mem, bool) or not isinstance(mem, int) or not 16 <= mem <= MAX_MEMORY_LIMIT_MB):
        raise _fail(
            file, "memory_limit_mb", f"an integer number of MiB in [16, {MAX_MEMORY_LIMIT_MB}], or nothing", mem
        )
    spec.memory_limit_mb = mem
    for key in ("threads", "workers"):
        v = doc.get(key, 1)
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_THREADS:
            raise _fail(file, key, f"a positive integer <= {MAX_THREADS}", v)
        setattr(spec, key, v)


def _parse_solvers(solvers: Any, file: str) -> list[SolverSpec]:
    """The ``[[solvers]]`` tables (or bare names) as solver specs with their parameter grids."""
    if not isinstance(solvers, list) or not solvers:
        raise _fail(file, "solvers", "a non-empty list of [[solvers]] tables (name, params)", solvers)
    out = []
    for i, s in enumerate(solvers):
        if isinstance(s, str):
            s = {"name": s}
        if not isinstance(s, dict) or "name" not in s or set(s) - {"name", "params"}:
            raise _fail(file, f"solvers[{i}]", "a table with name and optional params", s)
        params = s.get("params", {})
        if not isinstance(params, dict):
            raise _fail(file, f"solvers[{i}].params", "a table of parameter values or lists of values", params)
        grid = {k: (v if isinstance(v, list) else [v]) for k, v in params.items()}
        out.append(SolverSpec(str(s["name"]), grid))
    return out


@dataclass
class InstanceRef:
    """One instance of a campaign: its file, content hash, name, class and objective."""

    path: Path
    hash: str
    name: str
    cls: str
    objective: str


def collect_instances(
    spec: CampaignSpec, cache: Path | None = None, instances_dir: Path | None = None
) -> list[InstanceRef]:
    """Materialise suites under the cache root ``cache`` (:func:`schedbench.suites.paths.cache_dir`;
    suites from the local manifest folder ``instances_dir`` override bundled ones) and load every
    instance once (for its hash and class)."""
    from schedbench.instances import content_hash, load
    from schedbench.suites import build, load_suite, suite_cache

    paths: list[Path] = []
    for name in spec.suites:
        suite = load_suite(name, instances_dir)
        report = build(suite, suite_cache(name, suite.path, cache))
        paths.extend(report.written)
    for p in spec.instances:
        matches = sorted(Path(m) for m in glob.glob(str(p))) if glob.has_magic(str(p)) else [p]
        if not matches:
            raise InputError(str(p), "$", "instance files matching the pattern", "none")
        paths.extend(matches)
    refs: dict[str, InstanceRef] = {}
    for p in paths:
        inst = load(p)
        h = content_hash(inst)
        refs.setdefault(h, InstanceRef(p, h, inst.name, inst.problem.cls, inst.problem.objective))
    return list(refs.values())


@dataclass
class Plan:
    """The runs of a campaign: ``tasks`` to execute now, and what was skipped."""

    tasks: list[RunTask]
    total: int
    already_done: int
    unsupported: int
    unavailable: list[tuple[str, str]]


def plan(spec: CampaignSpec, instances: list[InstanceRef], finished: Callable[[list[str]], set[str]]) -> Plan:
    """Expand instances x solver grids x seeds into tasks, dropping finished runs."""
    from schedbench.plugins.registry import get_registry

    registry = get_registry(tuple(str(d) for d in spec.solvers_dirs))
    tasks: list[RunTask] = []
    unsupported = 0
    unavailable: list[tuple[str, str]] = []
    for s in spec.solvers:
        try:
            entry = registry.get(s.name)
        except KeyError as exc:
            raise InputError("<spec>", f"solvers.{s.name}", "a registered solver", str(exc)) from None
        if not entry.available:
            unavailable.append((s.name, entry.reason or "unavailable"))
        for combo in s.combinations():
            try:
                params = _resolve(entry, combo)
            except ValueError as exc:
                raise InputError("<spec>", f"solvers.{s.name}.params", "valid parameters", str(exc)) from None
            for ref in instances:
                if ref.objective not in entry.problems.get(ref.cls, ()):
                    unsupported += len(spec.seeds)
                    continue
                for seed in spec.seeds:
                    tasks.append(
                        RunTask(
                            instance_path=str(ref.path),
                            instance_hash=ref.hash,
                            instance_name=ref.name,
                            solver=entry.name,
                            solver_version=entry.version,
                            params=params,
                            seed=seed,
                            time_limit=spec.time_limit,
                            memory_limit_mb=spec.memory_limit_mb,
                            threads=spec.threads,
                            solvers_dirs=tuple(str(d) for d in spec.solvers_dirs),
                        )
                    )
    done = finished([t.run_id for t in tasks])
    todo = [t for t in tasks if t.run_id not in done]
    return Plan(todo, len(tasks), len(tasks) - len(todo), unsupported, unavailable)


def _resolve(entry: Any, combo: dict[str, Any]) -> dict[str, Any]:
    from schedbench.plugins.solver import resolve_params

    return resolve_params(entry.name, entry.params, combo)


def execute_tasks(tasks: Iterable[RunTask], spec: CampaignSpec) -> Iterator[RunRecord]:
    """Run tasks (a list or a lazy iterable: the local pool pulls them as it goes) on the chosen
    executor, yielding records as they finish (any order); no executor starts when there are none."""
    it = iter(tasks)
    first = next(it, None)
    if first is None:
        return
    tasks = itertools.chain([first], it)
    if spec.executor == "dask":
        from schedbench.runner.dask_executor import run_on_dask

        yield from run_on_dask(list(tasks), workers=spec.workers, scheduler=spec.scheduler)
        return
    from schedbench.runner.pool import LocalPool

    pool = LocalPool(spec.workers)
    try:
        yield from pool.map_unordered(tasks)
    finally:
        pool.close()


@dataclass
class CampaignResult:
    """What a campaign did: its store, campaign id, plan and the counts of the runs by status."""

    store: Path
    campaign_id: int
    plan: Plan
    counts: Counter


def run_campaign(
    spec: CampaignSpec,
    *,
    rerun: Iterable[str] = (),
    cache: Path | None = None,
    instances_dir: Path | None = None,
    progress: Callable[[RunRecord, Counter], None] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> CampaignResult:
    """Plan, skip finished runs, execute the rest and write each record as soon as it arrives.

    A campaign killed at any point loses only the runs in flight; calling this again with the same
    spec completes it, with no duplicates (runs are keyed by their identity). Suites are built under
    the cache root ``cache`` (default: the user's cache directory) from the bundled manifests or those
    of the local folder ``instances_dir`` (see :mod:`schedbench.suites.paths`).

    Campaigns sharing a store (several processes or hosts) share the work: each run is claimed in
    the store just before it is dispatched (:meth:`~schedbench.store.Store.claim`), the claims
    are kept alive by a heartbeat, and a run claimed by another live campaign is skipped, then
    waited for at the end (taken over if that campaign died: stale heartbeat, or its process is
    gone). So no run is executed twice, and the call returns when every planned run is stored.
    """
    from schedbench.instances import load
    from schedbench.runner.env import environment
    from schedbench.store import Store
    from schedbench.store.core import ClaimHeartbeat, claim_owner

    instances = collect_instances(spec, cache, instances_dir)
    spec.store.parent.mkdir(parents=True, exist_ok=True)
    rerun_set = set(rerun)
    with Store(spec.store) as store:
        env_id = store.add_environment(environment())
        campaign_id = store.begin_campaign(spec.name, spec.to_dict())
        for ref in instances:
            store.add_instance(load(ref.path), str(ref.path))
        the_plan = plan(spec, instances, lambda ids: store.finished(ids, rerun=rerun_set))
        if on_plan is not None:
            on_plan(the_plan)
        counts: Counter = Counter()
        owner = claim_owner()
        skipped: list[RunTask] = []

        def claimed(tasks: Iterable[RunTask]) -> Iterator[RunTask]:
            for task in tasks:
                if store.claim(task.run_id, owner, rerun=rerun_set):
                    yield task
                elif not store.finished([task.run_id], rerun=rerun_set):
                    skipped.append(task)  # another campaign runs it now

        def run(tasks: Iterable[RunTask]) -> None:
            for record in execute_tasks(tasks, spec):
                store.write_run(record, campaign_id, env_id)
                counts[record.status] += 1
                if progress is not None:
                    progress(record, counts)

        with ClaimHeartbeat(spec.store, owner):
            try:
                run(claimed(the_plan.tasks))
                while skipped:  # runs other campaigns hold: wait for them, take over dead ones
                    waiting = list(skipped)
                    skipped.clear()
                    ready = list(claimed(t for t in waiting if not store.finished([t.run_id])))
                    if ready:
                        run(ready)
                    elif skipped:
                        time.sleep(CLAIM_POLL_S)
            finally:
                store.release_claims(owner)
    return CampaignResult(spec.store, campaign_id, the_plan, counts)
