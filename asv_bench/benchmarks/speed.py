"""What users wait on: ``time_*`` (seconds) and ``peakmem_*`` (bytes) benchmarks.

Each class builds its inputs in ``setup`` (not timed) with fixed seeds. Metaheuristics are timed
over a fixed budget (moves, evaluations), so a lower time means more moves or evaluations per
second (asv treats lower as better; a rate would read backwards). Sizes follow the issue: a
100,000-job instance, a 1,000,000-job online instance, GAP 5,000 x 100, 10,000 allocation jobs,
100,000 jobs through the online simulator.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .common import need, scaled, solve, solver_class


def _batch_instance(n: int, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """A ``n``-job batch makespan instance on ``max(8, n / 100)`` 4-GPU nodes of four types, and a
    feasible schedule of it (each job on its node's first GPUs, one after the other)."""
    inst_mod = need("schedbench.instances", "GpuType", "Jobs", "Node", "Problem", "Resource", "make_instance")
    rng = np.random.default_rng(seed)
    types = tuple(
        inst_mod.GpuType(t, {"memory_gib": mem, "compute": 1})
        for t, mem in (("K80", 12), ("P100", 16), ("V100", 32), ("A100", 80))
    )
    T, K = len(types), max(8, n // 100)
    nodes = tuple(inst_mod.Node(f"n{k}", types[k % T].id, tuple(f"n{k}/{g}" for g in range(4))) for k in range(K))
    node = np.arange(n) % K
    home = node % T
    eligible = rng.random((n, T)) < 0.7
    eligible[np.arange(n), home] = True
    gang = rng.choice([1, 1, 1, 2, 4], n)
    times = rng.lognormal(7, 1, (n, T)).round(1) + 1
    demand = np.stack([rng.uniform(1, 12, (n, T)).round(2), np.full((n, T), 1.0)], axis=2)
    jobs = inst_mod.Jobs.build(
        [f"j{i}" for i in range(n)],
        demand,
        eligible=eligible,
        gang=gang,
        time=times,
        cost=times.round(0),
        release=np.zeros(n),
        weight=rng.integers(1, 5, n).astype(float),
    )
    inst = inst_mod.make_instance(
        resources=(inst_mod.Resource("memory_gib", "GiB"), inst_mod.Resource("compute")),
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=inst_mod.Problem("batch", "makespan"),
        metadata={"name": f"asv-batch-{n}"},
    )
    dur = times[np.arange(n), home]
    start = np.zeros(n)
    for k in range(K):  # jobs of node k back to back, in index order
        idx = np.flatnonzero(node == k)
        start[idx] = np.concatenate([[0.0], np.cumsum(dur[idx])[:-1]])
    schedule = {
        f"j{i}": {"gpus": [f"n{node[i]}/{g}" for g in range(gang[i])], "start": float(start[i])} for i in range(n)
    }
    return inst, {"problem": "batch", "schedule": schedule}


class LoadValidate100k:
    """Load and fully check a 100,000-job batch instance (11 MB JSON); validate a complete schedule
    of it from its file."""

    timeout = 300
    repeat = (1, 5, 60.0)
    number = 1

    def setup_cache(self) -> str:
        save = need("schedbench.instances", "save").save
        # asv runs setup_cache in a temporary folder it removes afterwards (the benchmarks run there too)
        folder = str(Path.cwd() / "load-validate-100k")
        Path(folder).mkdir(exist_ok=True)
        inst, solution = _batch_instance(scaled(100_000, 2_000))
        save(inst, Path(folder) / "inst.json")
        (Path(folder) / "sol.json").write_text(json.dumps(solution))
        return folder

    def setup(self, folder: str) -> None:
        self.load = need("schedbench.instances", "load").load
        self.validate_file = need("schedbench.validator", "validate_file").validate_file
        self.inst_path = Path(folder) / "inst.json"
        self.sol_path = Path(folder) / "sol.json"
        self.inst = self.load(self.inst_path)

    def time_load(self, folder: str) -> None:
        self.load(self.inst_path)

    def time_validate_file(self, folder: str) -> None:
        result = self.validate_file(self.inst, self.sol_path)
        if not result.feasible:
            raise RuntimeError(f"the reference schedule is infeasible: {result.violations[:3]}")

    def peakmem_load_validate(self, folder: str) -> None:
        inst = self.load(self.inst_path)
        self.validate_file(inst, self.sol_path)


class GenerateOnline1M:
    """Generate a 1,000,000-job online instance (Gavel cluster scaled x100) and its canonical bytes."""

    timeout = 600
    repeat = (1, 3, 120.0)
    number = 1
    params: ClassVar[list[int]] = [1_000_000]
    param_names: ClassVar[list[str]] = ["jobs"]

    def setup(self, jobs: int) -> None:
        self.generate = need("schedbench.generators", "generate").generate
        jobs = scaled(jobs, 10_000)
        self.spec = {"jobs": jobs, "cluster": "gavel", "cluster_scale": max(1, jobs // 10_000)}

    def time_generate(self, jobs: int) -> None:
        self.generate("online", self.spec, seed=0)

    def peakmem_generate(self, jobs: int) -> None:
        self.generate("online", self.spec, seed=0)


_TRIVIAL_PLUGIN = textwrap.dedent("""
    from schedbench.plugins.solver import Solver, SolveResult

    class AsvTrivial(Solver):
        name = "asv-trivial"
        family = "baseline"
        problems = {"placement": ("min-cost",)}

        def solve(self, instance, context):
            return SolveResult({"problem": "placement", "assignment": dict(ANSWER)}, status="feasible")

    ANSWER = {"j0": ["k0/0"], "j1": ["k0/1"], "j2": ["v0/0", "v0/1"], "j3": ["k0/1"], "j4": ["k0/1"]}
""")


class HarnessOverhead:
    """One isolated run of a trivial solver through the harness: fork of the preloaded worker,
    limits, pipes, supervision, validation in the caller, the run record (per-run overhead)."""

    timeout = 300
    repeat = (3, 10, 30.0)
    warmup_time = 0.5

    def setup(self) -> None:
        execute = need("schedbench.runner.execute", "Executor")
        try:  # schedbench.runs since the restructure of issue 10; runner.record before
            record = need("schedbench.runs", "RunTask")
        except NotImplementedError:
            record = need("schedbench.runner.record", "RunTask")
        examples = need("schedbench.examples", "examples").examples
        save = need("schedbench.instances", "save").save
        self.tmp = tempfile.mkdtemp(prefix="asv-harness-")
        plugins = Path(self.tmp) / "plugins"
        plugins.mkdir()
        (plugins / "asv_trivial.py").write_text(_TRIVIAL_PLUGIN)
        inst_path = Path(self.tmp) / "placement.json"
        digest = save(examples()[0][0], inst_path)
        self.task = record.RunTask(
            str(inst_path), digest, "example-placement", "asv-trivial", "1", {}, 0, 10.0, solvers_dirs=(str(plugins),)
        )
        self.executor = execute.Executor()
        self.executor.__enter__()
        first = self.executor.execute(self.task)
        if first.status != "feasible":
            raise RuntimeError(f"the trivial run is {first.status}: {first.reason}")

    def teardown(self) -> None:
        self.executor.__exit__(None, None, None)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_run(self) -> None:
        self.executor.execute(self.task)


class IlpBuildGap:
    """``ilp-highs``'s GAP model of 5,000 jobs x 100 GPUs (500,000 binaries): numpy arrays, one CSC
    matrix and one ``passModel`` into HiGHS."""

    timeout = 300
    repeat = (1, 5, 60.0)
    number = 1

    def setup(self) -> None:
        self.hx = need("schedbench_solvers._highs", "build", "new_highs", "pass_model")
        gap_instance = need("schedbench.importers.gap", "gap_instance").gap_instance
        rng = np.random.default_rng(0)
        n, m = scaled(5000, 500), scaled(100, 20)
        cost = rng.integers(10, 50, (m, n)).astype(float)
        use = rng.integers(5, 25, (m, n)).astype(float)
        cap = np.full(m, float(use.sum() / m * 0.8))
        self.inst = gap_instance(cost, use, cap, name="asv-gap-5000x100")

    def time_build_and_pass(self) -> None:
        model = self.hx.build(self.inst, integer=True)
        h = self.hx.new_highs(time_limit=None, threads=1, seed=0)
        self.hx.pass_model(h, model, integer=True)

    def peakmem_build_and_pass(self) -> None:
        model = self.hx.build(self.inst, integer=True)
        h = self.hx.new_highs(time_limit=None, threads=1, seed=0)
        self.hx.pass_model(h, model, integer=True)


def _random_gap(n: int, m: int, seed: int = 0) -> Any:
    gap_instance = need("schedbench.importers.gap", "gap_instance").gap_instance
    rng = np.random.default_rng(seed)
    use = rng.integers(1, 101, (m, n)).astype(float)
    cost = 111 - use + rng.integers(-10, 11, (m, n))
    return gap_instance(cost, use, 0.8 * use.sum(axis=1) / m, name=f"asv-gap-{n}x{m}")


def _random_rcmax(n: int, m: int, seed: int = 0) -> Any:
    inst_mod = need("schedbench.instances", "GpuType", "Jobs", "Node", "Problem", "Resource", "make_instance")
    rng = np.random.default_rng(seed)
    types = tuple(inst_mod.GpuType(f"m{i}", {"compute": 1.0}) for i in range(m))
    nodes = tuple(inst_mod.Node(f"m{i}", f"m{i}", (f"m{i}",)) for i in range(m))
    jobs = inst_mod.Jobs.build(
        [f"j{k}" for k in range(n)], np.ones((n, m, 1)), time=rng.integers(1, 101, (n, m)).astype(float)
    )
    return inst_mod.make_instance(
        resources=(inst_mod.Resource("compute"),),
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=inst_mod.Problem("batch", "makespan"),
        metadata={"name": f"asv-rcmax-{n}x{m}"},
    )


class Metaheuristics:
    """Time of a fixed budget, so lower = faster: ``sa`` 200,000 moves and ``ga`` 3,000 fitness
    evaluations, on a random 200-job GAP (10 agents) and a random 200-job R||Cmax (20 machines)."""

    timeout = 300
    repeat = (1, 5, 60.0)
    number = 1
    params: ClassVar[list[list[str]]] = [["sa", "ga"], ["gap-200x10", "rcmax-200x20"]]
    param_names: ClassVar[list[str]] = ["solver", "instance"]
    BUDGET: ClassVar[dict[str, dict[str, int]]] = {
        "sa": {"max_moves": scaled(200_000, 20_000)},
        "ga": {"max_evals": scaled(3_000, 300)},
    }

    def setup(self, solver: str, instance: str) -> None:
        self.cls = solver_class(solver)
        self.inst = _random_gap(200, 10) if instance.startswith("gap") else _random_rcmax(200, 20)
        solve(
            self.cls, _random_gap(20, 3) if instance.startswith("gap") else _random_rcmax(20, 3), self.BUDGET[solver]
        )  # warm: imports and any compiled kernels

    def time_fixed_budget(self, solver: str, instance: str) -> None:
        solve(self.cls, self.inst, self.BUDGET[solver], seed=0)


class ConvexAllocationResolve:
    """``convex-allocation``'s reusable program at 10,000 jobs (Gavel fairness preset, max-min
    fairness, Clarabel): the re-solve after a capacity change (parameters only, no recompilation),
    and the first solve with build and compilation. Skipped when cvxpy is not installed."""

    timeout = 600
    repeat = (1, 3, 120.0)
    number = 1

    def setup(self) -> None:
        need("cvxpy")
        convex = need("schedbench_solvers.convex", "allocation_program")
        presets = need("schedbench.generators.presets", "PRESETS").PRESETS
        generate = need("schedbench.generators", "generate").generate
        if "gavel-fairness" not in presets:
            raise NotImplementedError("no gavel-fairness preset at this commit")
        cls, params = presets["gavel-fairness"]
        self.inst = generate(cls, {**params, "jobs": scaled(10_000, 300), "objective": "max-min-fairness"}, seed=0)
        self.allocation_program = convex.allocation_program
        self.program = convex.allocation_program(self.inst)
        self.program.solve("clarabel", time_limit=600)
        self.capacities = [self.inst.gpus_per_type - 1.0, self.inst.gpus_per_type]
        self.turn = 0

    def time_resolve(self) -> None:
        self.turn ^= 1
        self.program.set(capacity=self.capacities[self.turn])
        self.program.solve("clarabel", time_limit=600)

    def time_first_solve(self) -> None:
        self.allocation_program(self.inst).solve("clarabel", time_limit=600)


class Simulator100k:
    """The online simulator on 100,000 jobs (Gavel cluster scaled x10, load 0.8) under the
    first-come first-served policy (``fcfs``); skipped on commits without ``schedbench.simulator``."""

    timeout = 600
    repeat = (1, 3, 120.0)
    number = 1

    def setup(self) -> None:
        need("schedbench.simulator")
        generate = need("schedbench.generators", "generate").generate
        self.cls = None
        for name in ("fcfs", "fifo"):
            try:
                self.cls = solver_class(name)
                break
            except NotImplementedError:
                continue
        if self.cls is None:
            raise NotImplementedError("no FIFO policy solver at this commit")
        jobs = scaled(100_000, 1_000)
        self.inst = generate(
            "online", {"jobs": jobs, "cluster": "gavel", "cluster_scale": max(1, jobs // 10_000), "load": 0.8}, seed=0
        )

    def time_simulate(self) -> None:
        solve(self.cls, self.inst, {}, seed=0, time_limit=600)

    def peakmem_simulate(self) -> None:
        solve(self.cls, self.inst, {}, seed=0, time_limit=600)
