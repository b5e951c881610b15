"""Every built-in policy: passes the plugin contract tests, and every simulated log validates, with
every predictor and overhead preset; policy-specific behaviour (EASY, admission control, priority,
EDF, Tiresias demotion)."""

from __future__ import annotations

import numpy as np
import pytest
from test_simulator import hetero
from typer.testing import CliRunner

from schedbench.cli.app import app
from schedbench.generators import generate
from schedbench.generators.presets import resolve
from schedbench.plugins.registry import get_registry
from schedbench.simulator import QueuePolicy, Simulator
from schedbench.simulator.build import from_arrays
from schedbench.simulator.engine import RUNNING
from schedbench.simulator.policy import erlang_c_wait
from schedbench.validator import validate

POLICIES = ("fcfs", "fcfs-easy", "sjf", "srpt", "edf", "priority", "las", "tiresias")


def run_policy(name: str, inst, seed: int = 0, **params):
    cls = get_registry().get(name).load()
    resolved = cls.resolve_params(params)
    res = Simulator(
        inst,
        cls.make_policy(resolved),
        predictor=resolved["predictor"],
        sigma=resolved["sigma"],
        seed=seed,
        history_prior_s=resolved["history_prior_s"],
    ).run()
    return res, validate(inst, res.solution())


def test_policies_are_registered_as_policy_family() -> None:
    reg = get_registry()
    family = sorted(e.name for e in reg.entries() if e.family == "policy")
    # the round-based and hybrid policies of issue #13 (solvers/rounds.py, hybrid.py) are tested in their own files
    assert [n for n in family if not n.startswith(("gavel-", "hybrid"))] == sorted(POLICIES)


@pytest.mark.parametrize("name", POLICIES)
def test_contract(name: str) -> None:
    out = CliRunner().invoke(app, ["solvers", "test", name, "--time-limit", "30"])
    assert out.exit_code == 0, out.output
    assert "all 6 checks passed" in out.output


@pytest.mark.parametrize("name", POLICIES)
@pytest.mark.parametrize("predictor", ["oracle", "noisy", "history"])
def test_every_log_validates(name: str, predictor: str) -> None:
    inst = hetero(300, seed=11, overhead_model="helios", allow_multi_node=True)
    extra = {"quantum": 300.0} if name == "las" else {}
    res, verdict = run_policy(name, inst, seed=3, predictor=predictor, **extra)
    assert res.status == "complete" and res.predictor == predictor
    assert verdict.feasible, verdict.violations[:3]
    m = verdict.metrics
    assert m["finished"] == 300 and m["acceptance_rate"] == 1.0
    assert m["littles_law_error"] < 0.01
    assert m["wasted_gpu_seconds"] == pytest.approx(res.wasted_gpu_seconds, rel=1e-12, abs=1e-9)
    assert m["preemptions"] == res.preemptions
    if name in ("srpt", "las", "tiresias"):
        assert m["preemptions"] > 0
    else:
        assert m["preemptions"] == 0


def test_same_seed_same_log_and_noisy_seed_matters() -> None:
    inst = hetero(150, seed=5)
    a, _ = run_policy("sjf", inst, seed=1, predictor="noisy", sigma=1.0)
    b, _ = run_policy("sjf", inst, seed=1, predictor="noisy", sigma=1.0)
    c, _ = run_policy("sjf", inst, seed=2, predictor="noisy", sigma=1.0)
    assert a.events == b.events and a.events != c.events


def test_no_preemption_when_the_instance_forbids_it() -> None:
    inst = hetero(150, seed=5, allow_preemption=False)
    _res, verdict = run_policy("srpt", inst)
    assert verdict.feasible and verdict.metrics["preemptions"] == 0


def test_easy_backfilling_never_delays_the_head_and_helps() -> None:
    # one 4-GPU node: a long 3-GPU job runs, a 4-GPU job waits (head), short 1-GPU jobs may backfill
    release = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    time = np.array([100.0, 50.0, 10.0, 200.0, 80.0])
    gang = np.array([3, 4, 1, 1, 1])
    inst = from_arrays(release, time, gpus=4, node_size=4, gang=gang)
    strict, _ = run_policy("fcfs", inst)
    easy, verdict = run_policy("fcfs-easy", inst)
    assert verdict.feasible
    start = {e["job"]: e["time"] for e in easy.events if e["event"] == "start"}
    assert start["j2"] == 2.0  # ends at 12 <= shadow 100: backfilled
    assert start["j4"] == 12.0  # no GPU free at 4; at 12 (j2 ends) it ends by 92 <= 100: backfilled
    assert start["j1"] == 100.0  # the head starts at its reservation
    assert start["j3"] >= 150.0  # 200 s would delay the head: not backfilled
    s_strict = {e["job"]: e["time"] for e in strict.events if e["event"] == "start"}
    assert s_strict["j2"] >= 100.0
    assert validate(inst, easy.solution()).metrics["jct_mean"] < validate(inst, strict.solution()).metrics["jct_mean"]


def test_easy_beats_fcfs_on_a_loaded_gang_instance() -> None:
    inst = hetero(400, seed=9)
    fcfs = run_policy("fcfs", inst)[1].metrics
    easy = run_policy("fcfs-easy", inst)[1].metrics
    assert easy["jct_mean"] < 0.8 * fcfs["jct_mean"]


def test_priority_and_edf_order() -> None:
    release = np.array([0.0, 1.0, 2.0, 3.0])
    time = np.array([10.0, 10.0, 10.0, 10.0])
    inst = from_arrays(
        release,
        time,
        gpus=1,
        weight=np.array([1.0, 1.0, 5.0, 2.0]),
        deadline=np.array([100.0, 15.0, 80.0, 40.0]),
        tenant=["a", "a", "b", "a"],
    )
    order = lambda res: [e["job"] for e in res.events if e["event"] == "start"]  # noqa: E731
    assert order(run_policy("priority", inst)[0]) == ["j0", "j2", "j3", "j1"]
    assert order(run_policy("priority", inst, tenant_weights="a=10")[0]) == ["j0", "j3", "j1", "j2"]
    assert order(run_policy("edf", inst)[0]) == ["j0", "j1", "j3", "j2"]
    pre, verdict = run_policy("edf", inst, preemptive=True)
    assert verdict.feasible and pre.preemptions == 1  # j1 (deadline 15) preempts j0 at 1


def test_tiresias_demotes_at_thresholds() -> None:
    # a 2-GPU job runs alone; a later 1-GPU job of the same size arrives after the first crossed 100 GPU-s
    inst = from_arrays(np.array([0.0, 60.0]), np.array([500.0, 500.0]), gpus=2, gang=np.array([2, 1]))
    res, verdict = run_policy("tiresias", inst, thresholds="100")
    assert verdict.feasible
    events = [(e["time"], e["job"], e["event"]) for e in res.events]
    assert (60.0, "j0", "preempt") in events and (60.0, "j1", "start") in events
    assert run_policy("tiresias", inst, thresholds="100000")[0].preemptions == 0


def test_las_quantum_controls_switching() -> None:
    inst = from_arrays(np.array([0.0, 1.0]), np.array([100.0, 100.0]), gpus=1)
    fine = run_policy("las", inst, quantum=5.0)
    coarse = run_policy("las", inst, quantum=500.0)
    assert fine[1].feasible and coarse[1].feasible
    assert fine[0].preemptions > 10 and coarse[0].preemptions == 0


class _CheckedScan(QueuePolicy):
    """Every time the preemption scan's cache answers "would fail", a full scan (on a sorted copy of the running
    jobs' heap, nothing popped) must find no group with room for the head."""

    hits = 0

    def _scan_still_fails(self, view, miss, bar, gang) -> bool:
        h = miss[0]
        fails = super()._scan_still_fails(view, miss, bar, gang)
        if fails:
            _CheckedScan.hits += 1
            assert not _scan_would_free_room(self, view, h, bar, gang), (view.now, h)
        return fails


class _Uncached(QueuePolicy):
    def _scan_still_fails(self, view, miss, bar, gang) -> bool:
        return False


def _scan_would_free_room(pol: QueuePolicy, view, h: int, bar: float, gang: int) -> bool:
    cl = view.cluster
    usable = view.pred_types[h]
    room: dict[int, int] = {}
    for _, v, j, s0 in sorted(pol._run):
        if view.state[j] != RUNNING or v != pol._rver[j] or view.seg_start[j] != s0:
            continue
        if not pol._rk(view, j) > bar:
            return False
        gpus = view.gpus[j]
        if cl.gpu_type[gpus[0]] not in usable:
            continue
        grp = cl.gpu_type[gpus[0]] if cl.multi_node else cl.gpu_node[gpus[0]]
        free = cl.free[grp] if cl.multi_node else cl.node_free(grp)
        room[grp] = room.get(grp, free) + len(gpus)
        if room[grp] >= gang:
            return True
    return False


@pytest.mark.parametrize(
    ("key", "params"),
    [("remaining", {}), ("attained", {"quantum": 300.0}), ("tiresias", {"thresholds": "600,6000"})],
)
def test_preemption_scan_cache_is_exact(key: str, params: dict) -> None:
    """The cache of failed preemption scans only skips scans that would fail, and changes no decision."""
    philly = generate(
        "online",
        {
            **resolve("online", "philly-1024", {"jobs": 3000, "load": 0.9}),
            "cluster": [{"gpu_type": "V100", "nodes": 8, "gpus_per_node": 8}],
        },
        seed=1,
    )
    cases = [hetero(800, seed=5, overhead_model="helios"), hetero(800, seed=6, allow_multi_node=True), philly]
    _CheckedScan.hits = 0
    for inst in cases:
        checked = Simulator(inst, _CheckedScan(key, **params)).run()
        plain = Simulator(inst, _Uncached(key, **params)).run()
        assert checked.preemptions > 0 and checked.events == plain.events
    assert _CheckedScan.hits > 100


def deadline_instance():
    rng = np.random.default_rng(4)
    n = 400
    release = np.cumsum(rng.exponential(1.0, n))
    size = rng.exponential(1.8, n)
    deadline = release + size * rng.uniform(0.8, 4.0, n)
    return from_arrays(release, size, gpus=2, deadline=deadline, objective="deadline-miss-rate")


@pytest.mark.parametrize(
    ("admission", "extra"),
    [
        ("queue-length", {"max_queue": 3}),
        ("wait-deadline", {"wait_estimate": "backlog"}),
        ("wait-deadline", {"wait_estimate": "erlang-c"}),
        ("deadline-feasible", {}),
    ],
)
def test_admission_control(admission: str, extra: dict) -> None:
    inst = deadline_instance()  # rho = 0.9
    base = run_policy("edf", inst)[1]
    res, verdict = run_policy("edf", inst, admission=admission, **extra)
    assert verdict.feasible and res.status == "complete"
    m = verdict.metrics
    assert m["acceptance_rate"] < 1.0 and m["rejections"] == res.rejections
    accepted_met = m["deadline_met_fraction"] / m["acceptance_rate"]
    assert accepted_met > base.metrics["deadline_met_fraction"]  # the accepted jobs meet their deadlines more often
    if extra.get("wait_estimate") != "erlang-c":  # Erlang C assumes FCFS and over-rejects under EDF
        assert verdict.objective < base.objective  # fewer misses (a rejection is a miss) than accepting everything


def test_deadline_feasible_rejects_only_hopeless_jobs() -> None:
    inst = from_arrays(np.array([0.0, 1.0]), np.array([10.0, 10.0]), gpus=2, deadline=np.array([20.0, 5.0]))
    res, verdict = run_policy("fcfs", inst, admission="deadline-feasible")
    assert [e["job"] for e in res.events if e["event"] == "reject"] == ["j1"]
    assert verdict.metrics["acceptance_rate"] == 0.5


def test_admission_needs_rejection_allowed() -> None:
    inst = from_arrays(np.array([0.0]), np.array([1.0]), gpus=1, params={"allow_rejection": False})
    with pytest.raises(Exception, match="allow_rejection"):
        run_policy("fcfs", inst, admission="queue-length")


def test_erlang_c_helper() -> None:
    # M/M/1: Wq = rho / (mu - lambda) = 0.5 / 0.5 at rho 0.5, mu 1
    assert erlang_c_wait(1, 0.5, 1.0) == pytest.approx(1.0)
    assert erlang_c_wait(2, 2.0, 1.0) == float("inf")
    assert QueuePolicy("fifo", admission="wait-deadline", wait_estimate="erlang-c").wait_estimate == "erlang-c"
