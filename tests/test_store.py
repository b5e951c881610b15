"""The results store: round trips, resume, kill safety, best-known values, frames and export."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from schedbench.cli.export import export_command
from schedbench.errors import InputError
from schedbench.examples import examples
from schedbench.instances import Problem, content_hash
from schedbench.plugins.solver import RUN_STATUSES
from schedbench.runs import RunRecord, RunTask
from schedbench.store import SCHEMA_VERSION, Store, StoreError, export, views
from schedbench.store.export import environments_path

HASH_A = "a" * 64
HASH_B = "b" * 64
ENV = {
    "python": "3.11.7",
    "packages": {"numpy": "1.26.4", "highspy": "1.7.2"},
    "cpu": {"model": "Fake CPU", "cores": 16},
    "memory_gb": 64,
    "os": "Linux",
    "git": "abc123",
}


def make_task(
    i: int = 0,
    *,
    instance_hash: str = HASH_A,
    solver: str = "greedy",
    params: dict | None = None,
    time_limit: float = 10.0,
    name: str = "inst-a",
) -> RunTask:
    return RunTask(
        instance_path=f"/data/{name}.json",
        instance_hash=instance_hash,
        instance_name=name,
        solver=solver,
        solver_version="1.0",
        params={"order": "input"} if params is None else params,
        seed=i,
        time_limit=time_limit,
        memory_limit_mb=2048,
        threads=1,
    )


def make_record(
    task: RunTask,
    status: str = "feasible",
    *,
    objective: float | None = None,
    bound: float | None = None,
    wall: float = 1.5,
    solution_size: int = 5,
    sense: str = "min",
) -> RunRecord:
    """A fake record; statuses with an answer get an objective, a solution and a trajectory."""
    answered = status in ("optimal", "feasible", "timeout", "invalid")
    if answered and objective is None:
        objective = 100.0 + task.seed
    solution = (
        {"problem": "placement", "assignment": {f"j{k}": [f"g{k % 7}"] for k in range(solution_size)}}
        if answered
        else None
    )
    return RunRecord(
        run_id=task.run_id,
        task=task,
        status=status,
        reason="" if status in ("optimal", "feasible") else f"because {status}",
        problem_class="placement",
        objective_name="min-cost" if sense == "min" else "max-weight",
        sense=sense,
        objective=objective if answered and status != "invalid" else None,
        claimed_objective=objective,
        claimed_status="feasible" if answered else None,
        bound=bound,
        feasible=None if not answered else status != "invalid",
        violation_counts={"capacity": 2} if status == "invalid" else {},
        flags=["claim_mismatch"] if status == "invalid" else [],
        wall_s=wall,
        cpu_s=wall * 0.9,
        peak_rss_mb=123.5,
        trajectory=[[0.1, objective, None], [0.5, objective, bound]] if answered else [],
        solution=solution,
        log_tail=f"log of {status}\nlast line",
        info={"nodes": 12, "nan": float("nan")},
        host="node-1",
    )


def _normal(record: RunRecord) -> dict:
    """to_dict with NaN in info dropped to None (what the store keeps of non-finite floats)."""
    out = record.to_dict()
    out["info"] = {k: (None if isinstance(v, float) and v != v else v) for k, v in out["info"].items()}
    return out


# -- write and read back ----------------------------------------------------------------------


def test_every_status_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    written = []
    with Store(path) as store:
        env_id = store.add_environment(ENV)
        cid = store.begin_campaign("smoke", {"name": "smoke", "seeds": 1})
        for i, status in enumerate(RUN_STATUSES):
            record = make_record(make_task(i), status, bound=90.0 if status == "optimal" else None)
            store.write_run(record, cid, env_id)
            written.append(record)
    with Store(path, readonly=True) as store:
        assert store.count() == len(RUN_STATUSES)
        for record in written:
            back = store.record(record.run_id)
            assert _normal(back) == _normal(record)
            assert store.solution(record.run_id) == record.solution
        assert sorted(r.run_id for r in store.records(campaign="smoke")) == sorted(r.run_id for r in written)


def test_write_refuses_bad_status_and_foreign_run_id(tmp_path: Path) -> None:
    with Store(tmp_path / "c.sqlite") as store:
        with pytest.raises(ValueError, match="status"):
            store.write_run(make_record(make_task(), "finished"))
        record = make_record(make_task())
        with pytest.raises(ValueError, match="identity"):
            store.write_run(dataclasses.replace(record, run_id="0" * 64))
        assert store.count() == 0


def test_compressed_solution_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path / "c.sqlite") as store:
        record = make_record(make_task(), "feasible", solution_size=5000)
        store.write_run(record)
        assert store.solution(record.run_id) == record.solution
        blob = store.conn.execute("SELECT solution_zlib FROM runs").fetchone()[0]
        assert len(blob) < len(str(record.solution)) / 3
        none = make_record(make_task(1), "crashed")
        store.write_run(none)
        assert store.solution(none.run_id) is None
        with pytest.raises(KeyError):
            store.solution("f" * 64)


# -- identity, resume, duplicates ---------------------------------------------------------------


def test_finished_and_rerun(tmp_path: Path) -> None:
    statuses = ["optimal", "feasible", "timeout", "crashed", "error"]
    tasks = [make_task(i) for i in range(len(statuses) + 3)]
    with Store(tmp_path / "c.sqlite") as store:
        for task, status in zip(tasks, statuses, strict=False):
            store.write_run(make_record(task, status))
        ids = [t.run_id for t in tasks]
        written = {t.run_id for t in tasks[: len(statuses)]}
        assert store.finished(ids) == written
        again = store.finished(ids, rerun={"timeout", "crashed"})
        assert again == {tasks[0].run_id, tasks[1].run_id, tasks[4].run_id}
        assert store.finished([]) == set()
        with pytest.raises(StoreError, match="--rerun"):
            store.finished(ids, rerun={"timedout"})


def test_finished_handles_many_ids(tmp_path: Path) -> None:
    with Store(tmp_path / "c.sqlite") as store:
        tasks = [make_task(i) for i in range(1200)]
        for task in tasks[::100]:
            store.write_run(make_record(task, "feasible"))
        assert store.finished([t.run_id for t in tasks]) == {t.run_id for t in tasks[::100]}


def test_rewriting_a_run_replaces_it(tmp_path: Path) -> None:
    with Store(tmp_path / "c.sqlite") as store:
        task = make_task()
        store.write_run(make_record(task, "timeout"))
        store.write_run(make_record(task, "feasible", objective=42.0))
        store.write_run(make_record(task, "feasible", objective=41.0))
        assert store.count() == 1
        assert store.record(task.run_id).objective == 41.0
        n, distinct = store.conn.execute("SELECT count(*), count(DISTINCT run_id) FROM runs").fetchone()
        assert n == distinct == 1


def test_environment_stored_once(tmp_path: Path) -> None:
    with Store(tmp_path / "c.sqlite") as store:
        env_id = store.add_environment(ENV)
        assert store.add_environment(dict(reversed(list(ENV.items())))) == env_id  # same content, any key order
        for i in range(25):
            store.write_run(make_record(make_task(i)), None, env_id)
        assert store.conn.execute("SELECT count(*) FROM environments").fetchone()[0] == 1
        assert store.environment(env_id) == ENV
        other = store.add_environment({**ENV, "git": "def456"})
        assert other != env_id
    envs = views.environments(tmp_path / "c.sqlite")
    assert list(envs["runs"]) == [25, 0]
    assert list(envs["cpu.model"]) == ["Fake CPU", "Fake CPU"]


def test_campaign_resumes_under_its_name(tmp_path: Path) -> None:
    with Store(tmp_path / "c.sqlite") as store:
        first = store.begin_campaign("smoke", {"seeds": 1})
        assert store.begin_campaign("smoke", {"seeds": 2}) == first
        assert store.begin_campaign("other", {}) != first
        assert store.campaigns()[0]["spec"] == {"seeds": 2}
        with pytest.raises(StoreError, match="campaign"):
            store.campaign_id("missing")


# -- the file ---------------------------------------------------------------------------------------


def test_wal_mode_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with Store(path) as store:
        store.write_run(make_record(make_task()))
        assert store.journal_mode() == "wal"
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert Path(f"{path}-wal").exists()
        # a reader sees committed runs while the writer is open
        with Store(path, readonly=True) as reader:
            assert reader.count() == 1
            with pytest.raises(StoreError, match="read-only"):
                reader.write_run(make_record(make_task(1)))
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    raw.close()


def test_not_a_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        Store(tmp_path / "missing.sqlite", readonly=True)
    text = tmp_path / "results.json"
    text.write_text('{"runs": []}')
    with pytest.raises(InputError, match="SQLite cannot use"):
        Store(text)
    with pytest.raises(InputError, match="SQLite cannot use"):
        Store(text, readonly=True)
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(InputError, match="schedbench results store"):
        Store(other)
    with pytest.raises(InputError, match="directory"):
        Store(tmp_path)


def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    for readonly in (False, True):
        with pytest.raises(StoreError, match="schema version 99"):
            Store(path, readonly=readonly)


# -- kill safety ------------------------------------------------------------------------------------

CHILD = r"""
import sys
sys.path.insert(0, sys.argv[3])
from test_store import make_record, make_task
from schedbench.store import Store

path, n = sys.argv[1], int(sys.argv[2])
with Store(path) as store:
    env_id = store.add_environment({"python": "x"})
    cid = store.begin_campaign("kill", {})
    tasks = [make_task(i) for i in range(n)]
    done = store.finished([t.run_id for t in tasks])
    for task in tasks:
        if task.run_id in done:
            continue
        store.write_run(make_record(task, "feasible", solution_size=200), cid, env_id)
        print(task.run_id, flush=True)
"""


def _run_and_kill(path: Path, n: int, after: int) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(n), str(Path(__file__).parent)], stdout=subprocess.PIPE, text=True
    )
    printed: list[str] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            printed.append(line.strip())
            if len(printed) >= after:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return printed


def test_sigkill_loses_only_runs_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "kill.sqlite"
    n = 600
    ids = [make_task(i).run_id for i in range(n)]
    first = _run_and_kill(path, n, after=150)
    second = _run_and_kill(path, n, after=150)  # resumes: skips what the first wrote
    assert not set(first) & set(second)
    with Store(path) as store:
        assert store.integrity_check() == "ok"
        stored = {row[0] for row in store.conn.execute("SELECT run_id FROM runs")}
        assert set(first) | set(second) <= stored <= set(ids)
        assert len(stored) < n, "the child finished before it was killed: the test proves nothing"
        for rid in first[-3:] + second[-3:]:
            assert store.solution(rid) is not None
        # complete the campaign: only the missing runs are written
        missing = [t for t in (make_task(i) for i in range(n)) if t.run_id not in store.finished(ids)]
        assert len(missing) == n - len(stored)
        for task in missing:
            store.write_run(make_record(task, "feasible", solution_size=200))
        n_rows, distinct = store.conn.execute("SELECT count(*), count(DISTINCT run_id) FROM runs").fetchone()
        assert n_rows == distinct == n
        assert store.finished(ids) == set(ids)
        assert store.integrity_check() == "ok"


# -- best-known values and gaps -------------------------------------------------------------------


def _placement(objective: str = "min-cost", known: dict | None = None):
    inst = examples()[0][0]
    meta = dict(inst.metadata)
    if known is not None:
        meta["known"] = known
    return dataclasses.replace(inst, problem=Problem("placement", objective), metadata=meta)


def test_best_known_min_combines_runs_and_published(tmp_path: Path) -> None:
    inst = _placement("min-cost", {"best_known": 100.0, "lower_bound": 80.0, "source": "paper"})
    digest = content_hash(inst)
    with Store(tmp_path / "c.sqlite") as store:
        assert store.add_instance(inst, "/data/p.json") == digest
        best = store.best_known(digest)
        assert (best["best_known"], best["best_known_source"], best["bound"]) == (100.0, "published best_known", 80.0)

        a = make_record(make_task(0, instance_hash=digest), "feasible", objective=105.0, bound=85.0)
        b = make_record(make_task(1, instance_hash=digest), "timeout", objective=98.0)  # a validated incumbent
        bad = make_record(make_task(2, instance_hash=digest), "invalid", objective=50.0, bound=99.0)
        for record in (a, b, bad):
            store.write_run(record)
        best = store.best_known(digest)
        assert best["best_known"] == 98.0 and best["best_run_id"] == b.run_id
        assert best["bound"] == 85.0 and best["bound_source"] == f"run {a.run_id}"  # invalid run's bound ignored
        assert not best["proven_optimal"] and not best["conflict"]
        assert store.record(a.run_id).objective == 105.0
        gap_a = store.conn.execute("SELECT gap FROM runs WHERE run_id = ?", (a.run_id,)).fetchone()[0]
        assert gap_a == pytest.approx(7.0 / 98.0)
        assert store.conn.execute("SELECT gap FROM runs WHERE run_id = ?", (bad.run_id,)).fetchone()[0] is None

        # a published optimum arrives (an importer update): it becomes the reference, every gap follows
        store.conn.execute("UPDATE instances SET known_json = ? WHERE hash = ?", ('{"optimum": 95.0}', digest))
        assert store.recompute_gaps() >= 3
        best = store.best_known(digest)
        assert best["best_known"] == 95.0 and best["bound"] == 95.0 and best["proven_optimal"]
        gap_b = store.conn.execute("SELECT gap FROM runs WHERE run_id = ?", (b.run_id,)).fetchone()[0]
        assert gap_b == pytest.approx(3.0 / 95.0)


def test_best_known_max_sense(tmp_path: Path) -> None:
    inst = _placement("max-weight", {"lower_bound": 50.0, "upper_bound": 70.0})
    digest = content_hash(inst)
    with Store(tmp_path / "c.sqlite") as store:
        store.add_instance(inst, "p.json")
        assert store.best_known(digest)["sense"] == "max"
        assert store.best_known(digest)["best_known"] == 50.0  # a published primal value
        low = make_record(make_task(0, instance_hash=digest), "feasible", objective=55.0, bound=68.0, sense="max")
        high = make_record(make_task(1, instance_hash=digest), "feasible", objective=60.0, bound=65.0, sense="max")
        store.write_run(low)
        store.write_run(high)
        best = store.best_known(digest)
        assert (best["best_known"], best["bound"]) == (60.0, 65.0)
        assert store.conn.execute("SELECT gap FROM runs WHERE run_id = ?", (low.run_id,)).fetchone()[
            0
        ] == pytest.approx(5.0 / 60.0)
        with pytest.raises(KeyError):
            store.best_known("0" * 64)


def test_gap_is_none_without_best_known_and_zero_floor(tmp_path: Path) -> None:
    with Store(tmp_path / "c.sqlite") as store:
        zero = make_record(make_task(0), "optimal", objective=0.0)
        one = make_record(make_task(1), "feasible", objective=1e-12)
        none = make_record(make_task(2), "error")
        for record in (zero, one, none):
            store.write_run(record)
        gaps = dict(store.conn.execute("SELECT run_id, gap FROM runs"))
        assert gaps[zero.run_id] == 0.0
        assert gaps[one.run_id] == pytest.approx(1.0)  # best 0: denominator |objective|, not 1e-9
        assert gaps[none.run_id] is None


# -- frames and export ---------------------------------------------------------------------------


def _campaign_store(path: Path) -> list[RunRecord]:
    inst = _placement("min-cost", {"best_known": 100.0})
    digest = content_hash(inst)
    written = []
    with Store(path) as store:
        env_id = store.add_environment(ENV)
        cid = store.begin_campaign("smoke", {})
        store.add_instance(inst, "/data/p.json")
        for i, status in enumerate(("optimal", "feasible", "timeout", "invalid", "crashed")):
            for solver in ("greedy", "milp"):
                record = make_record(make_task(i, instance_hash=digest, solver=solver), status)
                store.write_run(record, cid, env_id)
                written.append(record)
        other = make_record(make_task(0, instance_hash=HASH_B, name="inst-b"), "feasible")
        store.write_run(other, store.begin_campaign("other", {}), env_id)
        written.append(other)
    return written


def test_results_frames_have_documented_columns(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    written = _campaign_store(path)
    runs = views.runs(path)
    assert list(runs.columns) == [c for c, _ in views.RUN_COLUMNS]
    assert len(runs) == len(written)
    assert str(runs["feasible"].dtype) == "boolean" and str(runs["seed"].dtype) == "Int64"
    assert set(runs["campaign"]) == {"smoke", "other"}
    smoke = views.runs(path, campaign="smoke")
    assert len(smoke) == 10 and set(smoke["solver"]) == {"greedy", "milp"}
    row = smoke.set_index("run_id").loc[written[0].run_id]
    assert row["status"] == "optimal" and row["instance"] == "example-placement" and row["best_known"] == 100.0
    assert row["gap"] == pytest.approx(0.0)
    assert smoke.set_index("run_id").loc[written[6].run_id, "flags"] == "claim_mismatch"
    assert runs["n_jobs"].isna().sum() == 1  # inst-b was never added: NA size
    with pytest.raises(StoreError, match="campaign"):
        views.runs(path, campaign="nope")

    inst = views.instances(path)
    assert list(inst.columns) == [c for c, _ in views.INSTANCE_COLUMNS]
    assert list(inst["runs"]) == [10, 1]
    assert inst.loc[0, "published_best_known"] == 100.0

    envs = views.environments(path)
    assert list(envs.columns[:5]) == [c for c, _ in views.ENVIRONMENT_COLUMNS]
    assert envs.loc[0, "packages.highspy"] == "1.7.2"

    traj = views.trajectories(path, campaign="smoke")
    assert list(traj.columns) == [c for c, _ in views.TRAJECTORY_COLUMNS]
    assert len(traj) == 2 * 8  # optimal, feasible, timeout, invalid x 2 solvers, two points each
    assert traj["bound"].isna().sum() == 16


def test_empty_store_frames(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    Store(path).close()
    assert views.runs(path).empty and list(views.runs(path).columns) == [c for c, _ in views.RUN_COLUMNS]
    assert views.instances(path).empty and views.environments(path).empty and views.trajectories(path).empty


def test_export_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    _campaign_store(path)
    out = tmp_path / "out" / "runs.parquet"
    written = export(path, out, "parquet")
    assert written == [
        out,
        *(tmp_path / "out" / f"runs.{what}.parquet" for what in ("environments", "trajectories", "instances")),
    ]
    back = pd.read_parquet(out)
    pd.testing.assert_frame_equal(back, views.runs(path), check_dtype=False)
    assert len(pd.read_parquet(written[1])) == 1


def test_export_csv_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.sqlite"
    _campaign_store(path)
    assert export_command(path, "csv", None) == 0
    out = path.with_suffix(".csv")
    assert str(out) in capsys.readouterr().out
    back = pd.read_csv(out)
    frame = views.runs(path)
    assert list(back.columns) == list(frame.columns)
    for column in ("run_id", "status", "solver", "instance"):
        assert list(back[column]) == list(frame[column])
    for column in ("objective", "gap", "wall_s", "bound", "best_known"):
        pd.testing.assert_series_equal(back[column].astype(float), frame[column].astype(float), check_names=False)
    assert environments_path(out, "csv").exists()


def test_export_environments_that_differ_in_field_types(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with Store(path) as store:
        store.add_environment(ENV)
        store.add_environment({**ENV, "cpu": {"model": "Other", "cores": "unknown"}, "memory_gb": None})
    written = export(path, tmp_path / "r.parquet", "parquet")
    envs = pd.read_parquet(written[1])
    assert list(envs["cpu.cores"]) == ["16", "unknown"]


def test_export_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="format"):
        export_command(tmp_path / "c.sqlite", "xlsx", None)
    with pytest.raises(InputError, match="no such file"):
        export_command(tmp_path / "missing.sqlite", "csv", None)


def test_fast_canonical_bytes_match_the_canonical_writer() -> None:
    from schedbench import jsonio
    from schedbench.store.core import canonical_bytes

    docs = [
        {"problem": "batch", "schedule": {"j1": {"gpus": ["v0/0"], "start": 5400.0}, "j0": {"start": 0.25}}},
        {"a": [1.0, -0.0, -3.0, 2.5, 1e-05, 1e16, 9007199254740994.0, 123456789.0, 0.1 + 0.2, True, None]},
        {"s": ["5.0", 'quote " 7.0', "back\\slash 8.0", "é 9.0"], "n": {"x.0": 10.0, "y": [[1.0], {"z": 2.0}]}},
        {"empty": {}, "list": [], "nested": [[[-12.0]]]},
    ]
    for doc in docs:
        assert canonical_bytes(doc) == jsonio.dumps_canonical(doc)
    import numpy as np

    assert canonical_bytes({"x": np.float64(3.0)}) == b'{"x":3}'  # numpy falls back to the canonical writer
