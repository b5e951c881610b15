"""The store under concurrency and damage (issue #11): shared work, no duplicates, a damaged
store refused with one line and exit 2, its intact runs salvaged."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ADV_PLUGINS

from schedbench.examples import examples
from schedbench.instances import make_instance, save
from schedbench.runs import RunRecord, RunTask
from schedbench.store import Store, StoreError
from schedbench.store.salvage import salvage

ROOT = Path(__file__).resolve().parents[2]
SEEDS = 15


@pytest.fixture(scope="module")
def instance_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("shared")
    base = examples()[0][0]
    out = []
    for i in range(2):
        inst = make_instance(
            resources=base.resources,
            gpu_types=base.gpu_types,
            nodes=base.nodes,
            jobs=base.jobs,
            problem=base.problem,
            metadata={"name": f"p{i}", "notes": [str(i)]},
        )
        path = folder / f"p{i}.json"
        save(inst, path)
        out.append(path)
    return out


def _run_cmd(store: Path, files: list[Path], solver: str = "adv-slow-good") -> list[str]:
    return [
        sys.executable,
        "-m",
        "schedbench.cli",
        "run",
        *[a for f in files for a in ("--instances", str(f))],
        "--solver",
        solver,
        "--seeds",
        str(SEEDS),
        "--workers",
        "1",
        "--time-limit",
        "5",
        "--store",
        str(store),
        "--solvers-dir",
        str(ADV_PLUGINS),
        "--name",
        "shared",
        "--quiet",
    ]


def _executed(store: Path) -> int:
    with Store(store, readonly=True) as s:
        return s.count()


def test_two_concurrent_campaigns_share_the_work(tmp_path: Path, instance_files):
    store = tmp_path / "shared.sqlite"
    with Store(store):
        pass  # created once, so that both start on the same file
    counter = tmp_path / "pids.log"
    env = dict(os.environ, ADV_COUNT=str(counter))
    procs = [
        subprocess.Popen(
            _run_cmd(store, instance_files),
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    total = len(instance_files) * SEEDS
    assert _executed(store) == total
    with Store(store, readonly=True) as s:
        assert s.conn.execute("SELECT count(*) FROM claims").fetchone()[0] == 0
    executions = counter.read_text().split("\n")[:-1]
    assert len(executions) == total  # before #11: 2 x total (every run executed by both)
    assert len({line.split()[2] for line in executions}) == 2  # both campaigns took part


def test_claims_exclude_live_owners_and_reclaim_stale_or_dead_ones(tmp_path: Path):
    store = tmp_path / "c.sqlite"
    host = socket.gethostname()
    with Store(store) as s:
        assert s.claim("a" * 64, "me")
        assert not s.claim("a" * 64, f"{host}:{os.getpid()}:other")  # live, fresh: refused
        dead = subprocess.Popen(["true"])
        dead.wait()
        s.conn.execute("INSERT INTO claims VALUES (?, ?, ?)", ("b" * 64, f"{host}:{dead.pid}:x", time.time()))
        assert s.claim("b" * 64, "me")  # its owner's process is gone
        s.conn.execute("INSERT INTO claims VALUES (?, ?, ?)", ("c" * 64, "elsewhere:1:x", time.time() - 3600))
        assert s.claim("c" * 64, "me")  # stale heartbeat
        s.conn.execute("INSERT INTO claims VALUES (?, ?, ?)", ("d" * 64, "elsewhere:1:x", time.time()))
        assert not s.claim("d" * 64, "me")
        assert s.release_claims("me") == 3


def test_sigkilled_campaign_loses_only_runs_in_flight_and_resume_takes_over(tmp_path: Path, instance_files):
    store = tmp_path / "kill.sqlite"
    cmd = _run_cmd(store, instance_files)
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            if store.exists() and _executed(store) >= 3:
                break
        except StoreError:
            continue
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _executed(store)
    total = len(instance_files) * SEEDS
    assert 3 <= before < total
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    from schedbench.store import views

    df = views.runs(store)
    assert len(df) == total and df["run_id"].is_unique


def _damaged(tmp_path: Path, n: int = 400) -> tuple[Path, int]:
    """A store of ``n`` runs with some of its middle pages overwritten."""
    path = tmp_path / "bad.sqlite"
    with Store(path) as s:
        for i in range(n):
            task = RunTask(
                instance_path="/x.json",
                instance_hash="e" * 64,
                instance_name="x",
                solver="s",
                solver_version="1",
                params={},
                seed=i,
                time_limit=10.0,
            )
            s.write_run(
                RunRecord(
                    run_id=task.run_id,
                    task=task,
                    status="feasible",
                    problem_class="placement",
                    objective_name="min-cost",
                    sense="min",
                    objective=100.0 + i,
                    claimed_status="feasible",
                    feasible=True,
                    wall_s=1.0,
                    log_tail="x" * 300,
                    solution={"problem": "placement", "assignment": {"j": [f"g{i}"]}},
                )
            )
        s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    pages = len(data) // 4096
    for page in (pages // 2, pages // 2 + 1, (2 * pages) // 3):
        data[page * 4096 + 8 : page * 4096 + 4000] = b"\xde\xad\xbe\xef" * 998
    path.write_bytes(bytes(data))
    return path, n


@pytest.mark.parametrize(
    "args",
    [
        ("report", "{bad}"),
        ("export", "{bad}", "--format", "csv", "-o", "{out}"),
        ("run", "--instances", "{inst}", "--solver", "ffd", "--store", "{bad}"),
        ("store", "check", "{bad}"),
    ],
)
def test_damaged_store_is_refused_with_one_line(tmp_path: Path, instance_files, args):
    bad, _ = _damaged(tmp_path)
    digest = hashlib.sha256(bad.read_bytes()).hexdigest()
    argv = [a.format(bad=bad, out=tmp_path / "out", inst=instance_files[0]) for a in args]
    proc = subprocess.run(
        [sys.executable, "-m", "schedbench.cli", *argv], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "salvage" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == digest  # nothing appended


def test_salvage_recovers_the_intact_runs(tmp_path: Path):
    bad, n = _damaged(tmp_path)
    good = tmp_path / "good.sqlite"
    rep = salvage(bad, good)
    kept = rep.copied["runs"]
    assert 0 < kept < n and kept + rep.lost.get("runs", 0) <= n
    with Store(good) as s:
        assert s.integrity_check() == "ok" and s.count() == kept
        best = s.best_known("e" * 64)["best_known"]
        objectives = sorted(r.objective for r in s.records())
    assert best == objectives[0]
    proc = subprocess.run(
        [sys.executable, "-m", "schedbench.cli", "store", "salvage", str(bad), "-o", str(tmp_path / "again.sqlite")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 1 and "runs:" in proc.stdout  # 1: some runs were lost
    with pytest.raises(StoreError):
        salvage(bad, good)  # never overwrites
    sqlite3.connect(good).close()
