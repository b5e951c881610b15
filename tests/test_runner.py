"""The isolated runner: limits, statuses, validation of answers, and a pool that survives its plugins.

The plugins live in tests/plugins/ (most misbehave on purpose). They are found through the solver
registry with ``solvers_dirs=(tests/plugins,)``; while ``schedbench.plugins.registry`` does not exist the
tests inject tests/plugins/_support/standin_registry.py instead (``registry=`` / the
``SCHEDBENCH_RUNNER_REGISTRY`` environment variable).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from schedbench.examples import examples
from schedbench.instances import make_instance, save
from schedbench.runner.execute import Executor, execute
from schedbench.runner.pool import LocalPool
from schedbench.runner.worker import GRACE_S, LOG_TAIL_BYTES, MAX_TRAJECTORY_POINTS, THREAD_VARS
from schedbench.runs import RunTask

PLUGINS = Path(__file__).resolve().parent / "plugins"
sys.path.insert(0, str(PLUGINS))
from misbehaving import OVERPACKED, PACKED, PACKED_COST  # noqa: E402

STANDIN = f"{PLUGINS / '_support' / 'standin_registry.py'}:get_registry"
try:
    import schedbench.plugins.registry  # noqa: F401

    REGISTRY: str | None = STANDIN if os.environ.get("SCHEDBENCH_TEST_STANDIN_REGISTRY") else None
except ImportError:
    REGISTRY = STANDIN

PRELOAD = ("numpy", "scipy")
MARGIN = 1.0  # seconds of slack on a loaded 2-core machine


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """name -> (path, content hash) of the tiny instances."""
    folder = tmp_path_factory.mktemp("runner")
    ex = examples()
    placement, batch = ex[0][0], ex[1][0]
    known = make_instance(
        resources=placement.resources,
        gpu_types=placement.gpu_types,
        nodes=placement.nodes,
        jobs=placement.jobs,
        problem=placement.problem,
        metadata={"name": "placement-known", "known": {"optimum": 9.0, "source": "test"}},
    )
    out = {}
    for name, inst in (("placement", placement), ("batch", batch), ("known", known)):
        path = folder / f"{name}.json"
        out[name] = (str(path), save(inst, path))
    return out


def make_task(files, solver: str, instance: str = "placement", **kw) -> RunTask:
    path, digest = files[instance]
    args = dict(
        instance_path=path,
        instance_hash=digest,
        instance_name=instance,
        solver=solver,
        solver_version="1",
        params={},
        seed=0,
        time_limit=5.0,
        solvers_dirs=(str(PLUGINS),),
    )
    args.update(kw)
    return RunTask(**args)


@pytest.fixture(scope="module")
def pool():
    with LocalPool(2, preload=PRELOAD, registry=REGISTRY) as p:
        yield p


@pytest.fixture(scope="module")
def executor():
    with Executor(PRELOAD, registry=REGISTRY) as ex:
        yield ex


#: solver -> (task options, instance) of the misbehaving batch run through one pool
MISBEHAVING = {
    "test-sleep": ({"time_limit": 1.0}, "placement"),
    "test-ignore-term": ({"time_limit": 1.0}, "placement"),
    "test-report-hang": ({"time_limit": 1.0}, "placement"),
    "test-segfault": ({}, "placement"),
    "test-exit": ({}, "placement"),
    "test-memhog": ({"memory_limit_mb": 256}, "placement"),
    "test-infeasible": ({}, "placement"),
    "test-liar": ({}, "placement"),
    "test-partial-unknown": ({}, "placement"),
    "test-declines": ({}, "placement"),
    "test-chatty": ({"time_limit": 30.0}, "placement"),
    "test-raise": ({}, "placement"),
    "test-false-optimal": ({}, "known"),
    "test-orphan": ({}, "placement"),
    "test-malformed": ({}, "placement"),
    "test-no-answer": ({}, "placement"),
    "test-many-reports": ({}, "placement"),
    "test-batch-only": ({}, "placement"),
    "test-unavailable": ({}, "placement"),
    "no-such-solver": ({}, "placement"),
    "test-good": ({}, "placement"),
}


@pytest.fixture(scope="module")
def records(pool, files):
    """All misbehaving plugins (and a good one) through one 2-worker pool, as they finish."""
    pids = list(pool.worker_pids)
    tasks = [make_task(files, name, inst, **opts) for name, (opts, inst) in MISBEHAVING.items()]
    t0 = time.monotonic()
    out = {rec.task.solver: rec for rec in pool.map_unordered(tasks)}
    elapsed = time.monotonic() - t0
    assert sorted(out) == sorted(MISBEHAVING), "one record per task"
    return {"records": out, "pids_before": pids, "pids_after": list(pool.worker_pids), "elapsed": elapsed}


def rec_of(records, name):
    return records["records"][name]


# -- the pool keeps going ----------------------------------------------------------------------


def test_pool_survives_every_misbehaviour(records, pool, files):
    # no worker process had to be replaced: each run's damage stayed in its own child
    assert records["pids_before"] == records["pids_after"]
    # and the pool still runs tasks afterwards
    rec = pool.submit(make_task(files, "test-good")).result(timeout=30)
    assert rec.status == "feasible"
    # the timeouts overlapped with the rest: far less than the sum of their limits + grace
    assert records["elapsed"] < 15


def test_next_task_runs_after_crashes_in_a_one_worker_pool(files):
    with LocalPool(1, preload=PRELOAD, registry=REGISTRY) as one:
        names = ["test-segfault", "test-good", "test-exit", "test-good", "test-raise", "test-plain-dict"]
        futures = [one.submit(make_task(files, n)) for n in names]
        statuses = [f.result(timeout=60).status for f in futures]
        assert statuses == ["crashed", "feasible", "crashed", "feasible", "error", "feasible"]
        assert one.worker_pids[0] is not None


def test_worker_process_killed_mid_run_is_replaced(files):
    with Executor(PRELOAD, registry=REGISTRY) as ex:
        assert execute(make_task(files, "test-good"), executor=ex).status == "feasible"
        first = ex.pid
        assert first is not None
        killer = threading.Timer(0.5, lambda: os.kill(first, signal.SIGKILL))
        killer.start()
        rec = execute(make_task(files, "test-sleep", time_limit=20.0), executor=ex)
        killer.join()
        assert rec.status == "crashed" and "worker process died" in rec.reason
        rec = execute(make_task(files, "test-good"), executor=ex)
        assert rec.status == "feasible" and ex.pid != first


def _gone(pid: int, wait: float = 5.0) -> bool:
    """The process has exited (absent or a zombie) within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except FileNotFoundError:
        return []


def test_close_during_a_run_leaves_no_process(files):
    pool = LocalPool(1, preload=PRELOAD, registry=REGISTRY)
    zygote = pool.worker_pids[0]
    assert zygote is not None
    fut = pool.submit(make_task(files, "test-sleep", time_limit=60.0))
    deadline = time.monotonic() + 20
    while not _children(zygote) and time.monotonic() < deadline:
        time.sleep(0.05)
    (child,) = _children(zygote)
    t0 = time.monotonic()
    pool.close()
    assert time.monotonic() - t0 < 5
    assert fut.result(timeout=5).status == "crashed"
    assert _gone(zygote) and _gone(child)
    with pytest.raises(RuntimeError):
        pool.submit(make_task(files, "test-good"))


# -- limits ------------------------------------------------------------------------------------


def test_sleep_forever_is_stopped_at_the_limit(executor, files):
    task = make_task(files, "test-sleep", time_limit=1.0)
    t0 = time.monotonic()
    rec = execute(task, executor=executor)
    elapsed = time.monotonic() - t0
    assert rec.status == "timeout"
    assert elapsed <= 1.0 + GRACE_S + MARGIN
    assert 1.0 <= rec.wall_s <= 1.0 + GRACE_S + MARGIN
    assert rec.objective is None and rec.solution is None
    assert "time limit of 1 s" in rec.reason and "no incumbent" in rec.reason


def test_sigterm_ignored_in_c_code_is_killed(records):
    rec = rec_of(records, "test-ignore-term")
    assert rec.status == "timeout"
    assert "SIGKILL" in rec.reason
    assert 1.0 + GRACE_S - 0.05 <= rec.wall_s <= 1.0 + GRACE_S + MARGIN


def test_sleep_in_pool_times_out(records):
    rec = rec_of(records, "test-sleep")
    assert rec.status == "timeout" and rec.wall_s <= 1.0 + GRACE_S + MARGIN


def test_incumbent_kept_and_validated_on_timeout(records):
    rec = rec_of(records, "test-report-hang")
    assert rec.status == "timeout"
    assert rec.objective == pytest.approx(PACKED_COST)
    assert rec.solution == PACKED and rec.feasible is True
    assert rec.bound == 9.5
    # both incumbents are in the trajectory, validated: the first is infeasible
    assert len(rec.trajectory) == 2
    assert rec.trajectory[0][1] is None and rec.trajectory[0][2] is None
    assert rec.trajectory[1][1] == pytest.approx(PACKED_COST) and rec.trajectory[1][2] == 9.5
    assert rec.trajectory[0][0] <= rec.trajectory[1][0] <= 1.0
    assert "kept the incumbent" in rec.reason
    assert "reported, now hanging" in rec.log_tail


def test_segfault_is_crashed(records):
    rec = rec_of(records, "test-segfault")
    assert rec.status == "crashed"
    assert "SIGSEGV" in rec.reason
    assert "Fatal Python error" in rec.log_tail  # faulthandler's traceback lands in the log
    assert len(rec.trajectory) == 1  # the incumbent reported before the crash is not lost
    assert rec.objective is None


def test_os_exit_is_crashed(records):
    rec = rec_of(records, "test-exit")
    assert rec.status == "crashed" and "exited with code 3" in rec.reason


def test_memory_limit_gives_memout(records):
    rec = rec_of(records, "test-memhog")
    assert rec.status == "memout"
    assert "MemoryError" in rec.reason and "256 MB" in rec.reason


def test_gigabyte_of_output_is_truncated(records, pool):
    rec = rec_of(records, "test-chatty")
    assert rec.status == "feasible"
    assert len(rec.log_tail.encode()) <= LOG_TAIL_BYTES + 200
    assert rec.log_tail.rstrip().endswith("to stderr too")
    assert "END-OF-CHATTER" in rec.log_tail
    assert "earlier bytes of output dropped" in rec.log_tail
    # memory stayed bounded: the run's process and the worker processes never held the output
    assert rec.peak_rss_mb < 400
    for pid in pool.worker_pids:
        with open(f"/proc/{pid}/status") as fh:
            hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
        assert hwm < 400 * 1024


def test_orphaned_subprocess_is_killed(records):
    rec = rec_of(records, "test-orphan")
    assert rec.status == "feasible" and rec.wall_s < 5
    assert _gone(rec.info["orphan"]), "the solver's subprocess survived its run"


# -- grading ---------------------------------------------------------------------------------------


def test_good_answer_is_validated(records):
    rec = rec_of(records, "test-good")
    assert rec.status == "feasible" and rec.claimed_status == "feasible"
    assert rec.objective == pytest.approx(PACKED_COST) and rec.feasible is True
    assert rec.solution == PACKED
    assert rec.run_id == rec.task.run_id and rec.host
    assert rec.problem_class == "placement" and rec.objective_name == "min-cost" and rec.sense == "min"
    assert rec.wall_s is not None and rec.cpu_s is not None and rec.peak_rss_mb > 0
    assert rec.flags == [] and rec.reason == ""
    json.dumps(rec.to_dict())  # JSON-ready


def test_infeasible_answer_is_invalid(records):
    rec = rec_of(records, "test-infeasible")
    assert rec.status == "invalid" and rec.feasible is False
    assert rec.violation_counts == {"capacity": 2}
    assert "capacity (2)" in rec.reason
    assert rec.solution == OVERPACKED and rec.objective is None


def test_partial_answer_claiming_nothing_is_unknown(records):
    rec = rec_of(records, "test-partial-unknown")
    assert rec.status == "unknown" and rec.feasible is False and rec.objective is None
    assert rec.violation_counts == {"capacity": 2} and "no feasible answer" in rec.reason


def test_solver_can_decline_an_instance(records):
    rec = rec_of(records, "test-declines")
    assert rec.status == "unsupported" and rec.reason == "gang jobs are not modelled (test)"
    assert rec.wall_s is None  # no process was started


def test_lie_about_objective_is_flagged(records):
    rec = rec_of(records, "test-liar")
    assert rec.status == "feasible"
    assert "claim_mismatch" in rec.flags
    assert rec.claimed_objective == 5.0 and rec.objective == pytest.approx(PACKED_COST)


def test_exception_is_error_with_traceback(records):
    rec = rec_of(records, "test-raise")
    assert rec.status == "error"
    assert "kaboom-42 from the plugin" in rec.reason and "Traceback" in rec.reason


def test_false_optimal_claim_is_flagged(records):
    rec = rec_of(records, "test-false-optimal")
    assert rec.status == "wrong" and rec.claimed_status == "optimal"  # never credited (#11)
    assert rec.bound is None  # the contradicted bound is dropped
    assert "optimal_claim_contradicted" in rec.flags
    assert "bound_contradicted" in rec.flags  # its bound 10.25 exceeds the known optimum 9
    assert "known optimum" in rec.reason


def test_malformed_and_missing_answers_are_invalid(records):
    rec = rec_of(records, "test-malformed")
    assert rec.status == "invalid" and "$.problem" in rec.reason
    rec = rec_of(records, "test-no-answer")
    assert rec.status == "invalid" and "no solution" in rec.reason


def test_long_trajectory_is_thinned_but_validated(records):
    rec = rec_of(records, "test-many-reports")
    assert rec.status == "feasible" and "trajectory_thinned" in rec.flags
    assert 2 <= len(rec.trajectory) <= MAX_TRAJECTORY_POINTS
    assert all(p[1] == pytest.approx(PACKED_COST) for p in rec.trajectory)
    times = [p[0] for p in rec.trajectory]
    assert times == sorted(times)


def test_unsupported_unavailable_unknown_need_no_process(records):
    rec = rec_of(records, "test-batch-only")
    assert rec.status == "unsupported" and "placement/min-cost" in rec.reason and rec.wall_s is None
    rec = rec_of(records, "test-unavailable")
    assert rec.status == "unavailable" and "no_such_module_for_schedbench_tests" in rec.reason
    rec = rec_of(records, "no-such-solver")
    assert rec.status == "unavailable" and "no-such-solver" in rec.reason


def test_changed_instance_file_is_an_error(executor, files):
    task = make_task(files, "test-good", instance_hash="0" * 64)
    rec = execute(task, executor=executor)
    assert rec.status == "error" and "content hash" in rec.reason


# -- identity, seeds, threads --------------------------------------------------------------------


def test_same_task_same_seed_and_run_id(executor, files):
    a = execute(make_task(files, "test-good"), executor=executor)
    b = execute(make_task(files, "test-good"), executor=executor)
    assert a.run_id == b.run_id == a.task.run_id
    assert a.info["seed"] == b.info["seed"] == a.task.solver_seed
    assert a.info["random"] == b.info["random"]  # `random` is seeded with the solver seed
    assert a.info["pid"] != b.info["pid"]  # and each run has a fresh process
    c = execute(make_task(files, "test-good", seed=1), executor=executor)
    assert c.run_id != a.run_id and c.info["seed"] != a.info["seed"]
    assert c.info["seed"] == c.task.solver_seed


def test_thread_caps_are_set_in_the_worker(executor, files):
    rec = execute(make_task(files, "test-good", threads=3, params={"note": "x"}), executor=executor)
    assert rec.status == "feasible"
    assert rec.info["threads"] == 3
    assert rec.info["env"] == {var: "3" for var in THREAD_VARS}
    assert rec.info["params"] == {"note": "x"}
    rec = execute(make_task(files, "test-good"), executor=executor)
    assert rec.info["env"] == {var: "1" for var in THREAD_VARS}


# -- environment and CLI ---------------------------------------------------------------------------


def test_environment_is_deterministic_and_complete():
    from schedbench.runner.env import environment

    env = environment()
    for key in (
        "python",
        "platform",
        "cpu_model",
        "cpu_count",
        "memory_total_mb",
        "packages",
        "git_revision",
        "thread_env",
    ):
        assert key in env
    assert env["packages"]["numpy"] and env["packages"]["schedbench"]
    assert env["git_revision"] is None or len(env["git_revision"].split("-")[0]) == 40
    assert json.loads(json.dumps(env)) == env
    assert environment() == env


def test_solve_command(files, tmp_path, monkeypatch, capsys):
    from schedbench.cli.solve import solve_command
    from schedbench.errors import InputError

    if REGISTRY:
        monkeypatch.setenv("SCHEDBENCH_RUNNER_REGISTRY", REGISTRY)
    inst = Path(files["known"][0])
    out = tmp_path / "sol.json"
    code = solve_command("test-good", inst, time_limit=5, output=out, as_json=True, solvers_dir=[PLUGINS])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "feasible" and doc["gap_reference"] == "published optimum"
    assert doc["gap"] == pytest.approx((PACKED_COST - 9.0) / 9.0)
    assert json.loads(out.read_text()) == PACKED
    code = solve_command("test-infeasible", inst, time_limit=5, solvers_dir=[PLUGINS])
    text = capsys.readouterr().out
    assert code == 1 and "invalid" in text and "capacity (2)" in text
    with pytest.raises(InputError, match="unknown solver"):
        solve_command("no-such-solver", inst, solvers_dir=[PLUGINS])
    with pytest.raises(InputError, match="note"):
        solve_command("test-good", inst, param=["colour=red"], solvers_dir=[PLUGINS])
    with pytest.raises(InputError, match="key=value"):
        solve_command("test-good", inst, param=["oops"], solvers_dir=[PLUGINS])
    with pytest.raises(InputError):
        solve_command("test-good", inst, time_limit=0, solvers_dir=[PLUGINS])


def test_grade_is_a_pure_function_of_the_measurement(files):
    """Grading needs no process: a typed Measurement in, a typed Outcome out, the same every time."""
    from schedbench.instances import load
    from schedbench.runner.grade import Answer, Measurement, grade

    inst = load(files["known"][0])
    task = make_task(files, "any", "known", memory_limit_mb=512)
    packed, overpacked = json.dumps(PACKED).encode(), json.dumps(OVERPACKED).encode()
    claimed = Measurement(kind="result", answer=Answer("optimal", None, packed), wall_s=0.5)
    out = grade(task, inst, claimed, {"optimum": 9.0})
    assert out.status == "wrong" and out.claimed_status == "optimal" and "optimal_claim_contradicted" in out.flags
    assert out.claims is not None and out.claims.wrong and out.claims.flags == ["optimal_claim_contradicted"]
    assert out.feasible is True and out.objective == pytest.approx(PACKED_COST) and out.solution == PACKED
    assert grade(task, inst, claimed, {"optimum": 9.0}) == out
    assert grade(task, inst, claimed, {}).status == "optimal"
    timeout = Measurement(
        kind="timeout",
        reason="stopped at the time limit",
        trajectory=((0.1, None, overpacked), (0.2, None, packed), (0.3, None, overpacked)),
    )
    out = grade(task, inst, timeout, {})
    assert out.status == "timeout" and out.objective == pytest.approx(PACKED_COST)
    assert "kept the incumbent reported at 0.2 s" in out.reason
    assert [p[1] for p in out.trajectory] == [None, pytest.approx(PACKED_COST), None]
    out = grade(task, inst, Measurement(kind="memout", error="Traceback ...\nMemoryError: big"), {})
    assert out.status == "memout" and out.reason.startswith("MemoryError under the memory limit of 512 MB: MemoryError")
    out = grade(task, inst, Measurement(kind="load_error", error="ImportError: nope"), {})
    assert out.status == "error" and "ImportError: nope" in out.reason
    out = grade(
        task,
        inst,
        Measurement(
            kind="crashed", reason="killed by signal", strays=2, escaped=1, protocol_error="a line that is not a frame"
        ),
        {},
    )
    assert out.status == "crashed" and out.flags == ["stray_processes_killed", "unreadable_message"]
    assert "2 process(es)" in out.reason and "1 had left its process group" in out.reason


def test_measurement_from_worker_message():
    from schedbench.runner.grade import Measurement

    m = Measurement.from_worker(
        {
            "kind": "result",
            "result": {
                "status": "feasible",
                "bound": 3.0,
                "solution": b"{}",
                "solution_error": None,
                "info": '{"a": 1}',
            },
            "trajectory": [(0.5, None, b"{}")],
            "wall_s": 1,
            "strays": None,
        }
    )
    assert m.answer is not None and m.answer.status == "feasible" and m.answer.bound == 3.0
    assert m.trajectory == ((0.5, None, b"{}"),) and m.wall_s == 1.0 and m.strays == 0 and m.cpu_s is None
    assert Measurement.from_worker({}).kind == "crashed"


# -- measuring an answered run -----------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc measurement is Linux-only")
def test_an_answered_child_waits_alive_for_its_measurement_and_kill():
    """After answering, a run's process blocks until the supervisor kills it, so the supervisor
    measures it from /proc (no wait for the teardown of its address space) and reaps it later."""
    from schedbench.runner import worker

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setpgid(0, 0)  # as a run: its own process group, which the supervisor kills
            worker._await_kill()
        finally:
            os._exit(3)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    try:
        time.sleep(0.2)
        assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the child exited by itself"
        wpid, status, usage = worker._answered_usage(pid)
        assert (wpid, status) == (pid, 0)
        assert isinstance(usage, worker._ProcUsage) and usage.ru_maxrss > 0
        assert pid in worker._ZOMBIES
        _, status = os.waitpid(pid, 0)  # killed by _answered_usage
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        worker._reap_zombies()
    assert pid not in worker._ZOMBIES
