"""The online simulator: non-clairvoyance, refusals, starvation, overhead presets enforced and
wasted GPU-seconds exact, migration, the documented example policy, the simulate command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.instances import GpuType, Jobs, Node, Problem, Resource, make_instance, save
from schedbench.instances.model import Instance
from schedbench.simulator import (
    Policy,
    PolicyError,
    QueuePolicy,
    SimulationError,
    Simulator,
    View,
)
from schedbench.simulator.build import from_arrays
from schedbench.validator import validate
from schedbench.validator.overheads import OVERHEAD_MODELS, job_overheads, sia_restore_s

ROOT = Path(__file__).resolve().parents[1]


def hetero(n: int = 300, seed: int = 0, **params) -> Instance:
    """Two GPU types (B 1.6x faster), 4 nodes of 4 + 2 nodes of 8, gangs 1-8, deadlines, tenants."""
    rng = np.random.default_rng(seed)
    res = (Resource("compute"),)
    types = (GpuType("A", {"compute": 1.0}), GpuType("B", {"compute": 1.0}))
    nodes = tuple(Node(f"a{k}", "A", tuple(f"a{k}/{g}" for g in range(4))) for k in range(4)) + tuple(
        Node(f"b{k}", "B", tuple(f"b{k}/{g}" for g in range(8))) for k in range(2)
    )
    release = np.cumsum(rng.exponential(40.0, n))
    base = rng.lognormal(5.0, 1.2, n)
    time = np.stack([base, base / 1.6], axis=1)
    gang = rng.choice([1, 1, 1, 2, 4, 8], n)
    eligible = np.ones((n, 2), dtype=bool)
    eligible[gang == 8, 0] = False  # 8-GPU gangs only fit the B nodes
    deadline = release + base * rng.uniform(1.0, 6.0, n)
    jobs = Jobs.build(
        [f"job{j}" for j in range(n)],
        np.full((n, 2, 1), 1.0),
        eligible=eligible,
        gang=gang,
        release=release,
        time=time,
        deadline=deadline,
        weight=rng.choice([1.0, 2.0, 4.0], n),
        tenant=[["t0", "t1", "t2"][j % 3] for j in range(n)],
        job_type=[["resnet50-bs64", "bert-large-squad-fp16-maxbatch", None][j % 3] for j in range(n)],
    )
    return make_instance(
        resources=res,
        gpu_types=types,
        nodes=nodes,
        jobs=jobs,
        problem=Problem("online", "mean-jct", dict(params)),
        metadata={"name": "hetero"},
    )


# ---------------------------------------------------------------------- non-clairvoyance
def _reachable(root: object) -> list[object]:
    """Every object reachable from ``root`` through attributes (private ones too), containers and
    bound methods' ``__self__``; modules, classes and functions are not followed."""
    seen: set[int] = set()
    out: list[object] = []
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        out.append(obj)
        if isinstance(obj, (str, bytes, int, float, bool, type(None), type)) or (
            callable(obj) and not hasattr(obj, "__dict__")
        ):
            continue
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, np.ndarray):
            continue
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            stack.extend(vars(obj).values())
        if hasattr(obj, "__slots__"):
            stack.extend(getattr(obj, s) for s in obj.__slots__ if hasattr(obj, s))
    return out


class Spy(QueuePolicy):
    """SRPT that, at every callback, checks what the view exposes."""

    def __init__(self, inst: Instance) -> None:
        super().__init__("remaining")
        self.inst = None  # the spy itself must not carry the instance into the walk
        self._ids = inst.jobs.ids
        self._release = inst.jobs.release.tolist()
        self._true = inst.jobs.time
        self.checks = 0
        self.finished: set[int] = set()

    def _check(self, view: View) -> None:
        self.checks += 1
        now = view.now
        future_ids = {self._ids[j] for j, r in enumerate(self._release) if r > now}
        open_times = {
            float(t) for j, row in enumerate(self._true.tolist()) if j not in self.finished for t in row if t == t
        }
        for obj in _reachable(view):
            assert not isinstance(obj, Instance | np.ndarray), type(obj)
            if isinstance(obj, str):
                assert obj not in future_ids, f"unreleased job {obj!r} visible at {now}"
            if isinstance(obj, float):
                assert obj not in open_times, f"a true processing time {obj} visible at {now}"
        for j, r in enumerate(self._release):
            if r > now:
                assert view.pred[j] is None and view.job_id[j] is None and view.gang[j] is None
                with pytest.raises(SimulationError):
                    view.remaining(j)

    def on_arrival(self, view: View, j: int) -> None:
        if view.n_jobs_released % 7 == 0:
            self._check(view)
        super().on_arrival(view, j)

    def on_finish(self, view: View, j: int) -> None:
        self.finished.add(j)
        super().on_finish(view, j)

    def schedule(self, view: View) -> None:
        if self.checks < 40:
            self._check(view)
        super().schedule(view)


def test_policy_sees_no_unreleased_job_and_no_true_time() -> None:
    inst = hetero(60, seed=3)
    spy = Spy(inst)
    res = Simulator(inst, spy, predictor="noisy", sigma=0.8, seed=5).run()
    assert spy.checks >= 40 and res.status == "complete" and res.predictor == "noisy"
    assert validate(inst, res.solution()).feasible


def test_noisy_and_history_predictions_differ_from_truth_and_are_seeded() -> None:
    inst = hetero(80, seed=1)
    seen = {}
    for pred in ("oracle", "noisy", "history"):

        class Grab(QueuePolicy):
            def on_arrival(self, view: View, j: int, pred=pred) -> None:
                seen.setdefault(pred, {})[j] = view.pred[j]
                super().on_arrival(view, j)

        res = Simulator(inst, Grab("fifo"), predictor=pred, seed=2).run()
        assert res.predictor == pred
    best = np.nanmin(inst.jobs.time, axis=1)
    assert all(seen["oracle"][j] == best[j] for j in range(80))
    assert all(seen["noisy"][j] != best[j] for j in range(80))
    assert seen["history"][0] == 3600.0  # nothing finished yet: the prior
    again = {}

    class Grab2(QueuePolicy):
        def on_arrival(self, view: View, j: int) -> None:
            again[j] = view.pred[j]
            super().on_arrival(view, j)

    Simulator(inst, Grab2("fifo"), predictor="noisy", seed=2).run()
    assert again == seen["noisy"]


# ---------------------------------------------------------------------- refusals, starvation, errors
def test_impossible_decisions_are_refused_with_decision_and_time() -> None:
    inst = from_arrays([0.0, 0.0, 5.0], [10.0, 10.0, 10.0], gpus=4, node_size=4, gang=np.array([2, 2, 3]))

    class Busy(Policy):
        def schedule(self, view: View) -> None:
            if view.now == 0.0:
                view.start(0, gpus=[0, 1])
                view.start(1, gpus=[1, 2])  # GPU 1 is busy

    with pytest.raises(SimulationError, match=r"time 0: start of job 'j1' on \['n0/1', 'n0/2'\]: GPU\(s\) \['n0/1'\]"):
        Simulator(inst, Busy()).run()

    class Short(Policy):
        def schedule(self, view: View) -> None:
            view.start(0, gpus=[0])  # a gang of 2 on one GPU

    with pytest.raises(SimulationError, match=r"1 GPU.* for a gang of 2"):
        Simulator(inst, Short()).run()

    class TooBig(Policy):
        def schedule(self, view: View) -> None:
            if view.now == 5.0:
                view.start(0)
                view.start(1)
                view.start(2)  # 3 GPUs, none left

    with pytest.raises(SimulationError, match=r"time 5: start of job 'j2' \(gang 3\).*no room"):
        Simulator(inst, TooBig()).run()


def test_starvation_names_the_jobs_and_solver_returns_unknown() -> None:
    inst = from_arrays([0.0, 1.0, 2.0], [5.0, 5.0, 5.0], gpus=2)

    class Lazy(Policy):
        def schedule(self, view: View) -> None:
            if view.now == 0.0:
                view.start(0)

    res = Simulator(inst, Lazy()).run()
    assert res.status == "starved" and res.stuck == ["j1", "j2"]
    assert "j1, j2" in res.message and "could run" in res.message
    verdict = validate(inst, res.solution())
    assert not verdict.feasible and verdict.violation_counts["unfinished"] == 2


def test_policy_exception_is_policy_error() -> None:
    inst = from_arrays([0.0, 1.0], [5.0, 5.0], gpus=1)

    class Broken(Policy):
        def on_arrival(self, view: View, j: int) -> None:
            raise KeyError("boom")

    with pytest.raises(PolicyError, match="Broken raised at time 0: KeyError") as info:
        Simulator(inst, Broken()).run()
    assert isinstance(info.value.__cause__, KeyError)


def test_superseded_timers_and_ended_segments_are_no_events() -> None:
    """A replaced timer and the completion of a preempted segment wake nobody: ``schedule`` runs
    only at arrivals, real completions and the timer in force."""
    inst = from_arrays([0.0, 1.0, 2.0], [10.0, 3.0, 3.0], gpus=1)

    class Retimer(Policy):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[float] = []
            self.timers: list[float] = []

        def on_timer(self, view: View) -> None:
            self.timers.append(view.now)

        def schedule(self, view: View) -> None:
            self.calls.append(view.now)
            if view.now == 0.0:
                view.start(0)
            if view.now == 1.0:  # preempt job 0 (its completion at 10 goes stale), run job 1
                view.preempt(0)
                view.start(1)
            if view.now < 2.0:
                view.set_timer(view.now + 5.0)  # set at 0 (for 5), replaced at 1 (for 6)
            if not view.running and view.waiting:
                view.start(min(view.waiting))

    pol = Retimer()
    res = Simulator(inst, pol).run()
    assert res.status == "complete" and validate(inst, res.solution()).feasible
    assert pol.timers == [6.0]
    assert 5.0 not in pol.calls and 10.0 not in pol.calls
    assert pol.calls == sorted(set(pol.calls)) and res.event_times == len(pol.calls)


def test_jobs_that_never_fit_are_refused_or_rejected() -> None:
    inst = from_arrays(
        [0.0, 1.0], [5.0, 5.0], gpus=8, node_size=4, gang=np.array([1, 6]), params={"allow_rejection": False}
    )
    with pytest.raises(ValueError, match=r"1 job\(s\) can never run.*\['j1'\].*allow_rejection is false"):
        Simulator(inst, QueuePolicy("fifo"))
    multi = from_arrays(
        [0.0, 1.0], [5.0, 5.0], gpus=8, node_size=4, gang=np.array([1, 6]), params={"allow_multi_node": True}
    )
    res = Simulator(multi, QueuePolicy("fifo")).run()
    six = next(e for e in res.events if e["job"] == "j1" and e["event"] == "start")
    assert len(six["gpus"]) == 6 and {g.split("/")[0] for g in six["gpus"]} == {"n0", "n1"}  # spread
    assert validate(multi, res.solution()).feasible
    allowed = from_arrays([0.0, 1.0], [5.0, 5.0], gpus=8, node_size=4, gang=np.array([1, 6]))
    res = Simulator(allowed, QueuePolicy("fifo")).run()
    assert {"time": 1.0, "job": "j1", "event": "reject"} in res.events
    assert validate(allowed, res.solution()).metrics["acceptance_rate"] == 0.5


def test_gangs_consolidate_on_the_fullest_node_that_fits() -> None:
    inst = from_arrays([0.0, 0.0, 1.0], [100.0, 100.0, 10.0], gpus=16, node_size=8, gang=np.array([6, 3, 2]))
    res = Simulator(inst, QueuePolicy("fifo")).run()
    starts = {e["job"]: e["gpus"] for e in res.events if e["event"] == "start"}
    assert {g.split("/")[0] for g in starts["j0"]} == {"n0"}
    assert {g.split("/")[0] for g in starts["j1"]} == {"n1"}  # n0 has only 2 free
    assert {g.split("/")[0] for g in starts["j2"]} == {"n0"}  # best fit: n0 (2 free) before n1 (5 free)


# ---------------------------------------------------------------------- overheads
@pytest.mark.parametrize("model", OVERHEAD_MODELS)
def test_overhead_presets_enforced_and_wasted_gpu_seconds_exact(model: str) -> None:
    params = {"overhead_model": model, "preempt_overhead_s": 12.0, "migrate_overhead_s": 3.0}
    inst = hetero(250, seed=7, **params)
    res = Simulator(inst, QueuePolicy("remaining"), seed=1).run()
    verdict = validate(inst, res.solution())
    assert res.status == "complete" and verdict.feasible, verdict.violations[:3]
    m = verdict.metrics
    assert m["preemptions"] > 10
    assert m["wasted_gpu_seconds"] == pytest.approx(res.wasted_gpu_seconds, rel=1e-12, abs=1e-9)
    # independently: overhead x gang of every resume, none cut short here (no preemption during a restore)
    ov_r, _ = job_overheads(inst.problem.params, inst.jobs.gang, inst.jobs.job_type)
    idx = inst.jobs.index
    resumes = [idx[e["job"]] for e in res.events if e["event"] == "resume"]
    by_hand = sum(ov_r[j] * inst.jobs.gang[j] for j in resumes)
    assert m["wasted_gpu_seconds"] <= by_hand + 1e-6
    if model == "zero":
        assert m["wasted_gpu_seconds"] == 0.0
    else:
        assert m["wasted_gpu_seconds"] > 0.0
        # the same log judged without the overhead is still feasible; a zero-overhead log judged
        # with this preset finishes resumed jobs too early
        zero = hetero(250, seed=7, overhead_model="zero")
        zres = Simulator(zero, QueuePolicy("remaining"), seed=1).run()
        assert not validate(inst, zres.solution()).feasible


def test_overhead_preset_values() -> None:
    gang = np.array([1, 2, 8, 9, 64])
    assert job_overheads({"overhead_model": "helios"}, gang, None)[0].tolist() == [7, 30, 30, 60, 60]
    assert job_overheads({"overhead_model": "lucid"}, gang, None)[1].tolist() == [40, 40, 40, 60, 60]
    assert job_overheads({"overhead_model": "pollux"}, gang, None)[0].tolist() == [30] * 5
    assert job_overheads({"preempt_overhead_s": 4.0, "migrate_overhead_s": 2.5}, gang, None)[1].tolist() == [2.5] * 5
    assert sia_restore_s("bert-large-squad-fp16-maxbatch") == 75 and sia_restore_s("bert-base-squad") == 45
    assert sia_restore_s("transformer-bs64") == 30 and sia_restore_s("transformerxl-large-fp16-maxbatch") == 75
    assert sia_restore_s(None) == 30 and sia_restore_s("mystery") == 30


# ---------------------------------------------------------------------- the documented example (migration)
def _doc_example() -> dict:
    text = (ROOT / "docs" / "simulator.md").read_text()
    code = re.search(r"## Writing a policy.*?```python\n(.*?)```", text, re.S)
    assert code, "docs/simulator.md lost its example"
    scope: dict = {}
    exec(compile(code.group(1), "docs/simulator.md", "exec"), scope)
    return scope


def test_documented_example_policy_migrates_and_validates(tmp_path: Path) -> None:
    scope = _doc_example()
    inst = hetero(200, seed=2, migrate_overhead_s=20.0)
    res = Simulator(inst, scope["UpgradeFifo"]()).run()
    verdict = validate(inst, res.solution())
    assert res.status == "complete" and verdict.feasible, verdict.violations[:3]
    m = verdict.metrics
    assert m["migrations"] > 0 and m["migrations"] == res.migrations
    assert m["wasted_gpu_seconds"] == pytest.approx(res.wasted_gpu_seconds, rel=1e-12)
    solver = scope["UpgradeFifoSolver"]
    assert solver.family == "policy" and solver.name == "upgrade-fifo"
    plugin = tmp_path / "plugins"
    plugin.mkdir()
    text = (ROOT / "docs" / "simulator.md").read_text()
    (plugin / "upgrade.py").write_text(re.search(r"## Writing a policy.*?```python\n(.*?)```", text, re.S).group(1))
    path = tmp_path / "inst.json"
    save(inst, path)
    out = CliRunner().invoke(app, ["simulate", "upgrade-fifo", str(path), "--solvers-dir", str(plugin), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["metrics"]["migrations"] == m["migrations"]


# ---------------------------------------------------------------------- the command
def test_simulate_command(tmp_path: Path) -> None:
    inst = hetero(120, seed=4, overhead_model="helios")
    path = tmp_path / "inst.json"
    save(inst, path)
    runner = CliRunner()
    out = runner.invoke(
        app, ["simulate", "srpt", str(path), "--param", "predictor=noisy", "--json", "-o", str(tmp_path / "ev.json")]
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["predictor"] == "noisy" and doc["feasible"] and doc["status"] == "complete"
    for key in (
        "jct_mean",
        "jct_median",
        "jct_p99",
        "queueing_delay_mean",
        "bounded_slowdown_mean",
        "makespan",
        "utilisation",
        "ftf_max",
        "preemptions",
        "migrations",
        "wasted_gpu_seconds",
        "acceptance_rate",
    ):
        assert key in doc["metrics"]
    again = runner.invoke(app, ["validate", str(path), str(tmp_path / "ev.json"), "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["objective"] == doc["objective"]
    table = runner.invoke(app, ["simulate", "fcfs-easy", str(path)])
    assert table.exit_code == 0 and "predictor: oracle, true times" in table.stdout
    assert "wasted GPU-seconds" in table.stdout
    for args, msg in (
        (["nope", str(path)], "unknown solver 'nope'"),
        (["bfd", str(path)], "not a simulator policy"),
        (["las", str(path), "--param", "quantum=0"], "parameter 'quantum'"),
        (["las", str(tmp_path / "missing.json")], "missing.json"),
    ):
        bad = runner.invoke(app, ["simulate", *args])
        assert bad.exit_code == 2 and msg in bad.output and "Traceback" not in bad.output


def test_policies_run_through_solve(tmp_path: Path) -> None:
    inst = hetero(80, seed=6)
    path = tmp_path / "inst.json"
    save(inst, path)
    out = CliRunner().invoke(
        app, ["solve", "tiresias", str(path), "--param", "thresholds=500,5000", "--json", "--time-limit", "60"]
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["status"] == "feasible" and doc["feasible"] is True
