"""The supervisor measures, limits and cleans up from outside the run (issue #11).

One test per attack: the new ones (faked time, pickle on the message pipe, escaped sessions) and
those that already held (sleepers, SIGTERM-ignorers, busy loops, SIGSTOP, segfault, abort, memory
hog, 1 GiB of output, garbage on the pipe, a killed parent), so that none regresses.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import adv_task, alive, kill_quietly

from schedbench.runner.worker import GRACE_S, LOG_TAIL_BYTES

SLACK = 1.0  # seconds, on a loaded 2-core machine


def test_faked_timing_function_does_not_fake_the_time(adv_executor, adv_files):
    rec = adv_executor.execute(adv_task(adv_files, "adv-fake-time"))
    assert rec.status == "feasible"
    assert rec.wall_s >= 0.8  # it worked 0.8 s; before #11 it recorded 0.0001 s
    assert rec.cpu_s is not None and rec.cpu_s > 0.05  # from wait4, not the child's clocks


def test_pickle_on_the_message_pipe_runs_nothing(adv_executor, adv_files, tmp_path: Path):
    marker = tmp_path / "pwned"
    rec = adv_executor.execute(adv_task(adv_files, "adv-pickle", params={"marker": str(marker)}))
    assert not marker.exists()
    assert rec.status == "feasible" and "unreadable_message" in rec.flags


def test_garbage_on_the_message_pipe_is_ignored(adv_executor, adv_files):
    rec = adv_executor.execute(adv_task(adv_files, "adv-garbage"))
    assert rec.status == "feasible" and "unreadable_message" in rec.flags


@pytest.mark.parametrize("hang", [False, True])
def test_processes_in_new_sessions_are_killed_and_recorded(adv_executor, adv_files, tmp_path: Path, hang):
    pidfile = tmp_path / "pids"
    rec = adv_executor.execute(
        adv_task(adv_files, "adv-setsid", params={"pids": str(pidfile), "hang": hang}, time_limit=1.5)
    )
    pids = [int(p) for p in pidfile.read_text().split()]
    try:
        assert len(pids) == 2
        deadline = time.monotonic() + 2
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in pids if alive(p)], "a process that left the run's session survived it"
        assert rec.status == ("timeout" if hang else "feasible")
        assert "stray_processes_killed" in rec.flags and "left its process group" in rec.reason
    finally:
        kill_quietly(pids)


@pytest.mark.parametrize("solver", ["test-sleep", "test-ignore-term", "adv-busy", "adv-sigstop"])
def test_runs_that_do_not_stop_end_at_the_limit(adv_executor, adv_files, solver):
    t0 = time.monotonic()
    rec = adv_executor.execute(adv_task(adv_files, solver, time_limit=1.0))
    elapsed = time.monotonic() - t0
    assert rec.status == "timeout"
    assert 1.0 <= rec.wall_s <= 1.0 + GRACE_S + SLACK and elapsed <= 1.0 + GRACE_S + SLACK + 1.0


@pytest.mark.parametrize(
    ("solver", "status"),
    [("test-segfault", "crashed"), ("adv-abort", "crashed"), ("test-exit", "crashed"), ("test-raise", "error")],
)
def test_dying_runs_are_recorded_and_the_worker_survives(adv_executor, adv_files, solver, status):
    pid = adv_executor.pid
    rec = adv_executor.execute(adv_task(adv_files, solver))
    assert rec.status == status
    assert adv_executor.execute(adv_task(adv_files, "test-good")).status == "feasible"
    assert adv_executor.pid == pid


def test_memory_hog_is_memout(adv_executor, adv_files):
    rec = adv_executor.execute(adv_task(adv_files, "test-memhog", memory_limit_mb=256))
    assert rec.status == "memout"


def test_a_gigabyte_of_output_is_bounded(adv_executor, adv_files):
    rec = adv_executor.execute(adv_task(adv_files, "test-chatty", time_limit=60.0))
    assert rec.status == "feasible"
    assert "END-OF-CHATTER" in rec.log_tail and len(rec.log_tail) <= LOG_TAIL_BYTES + 200


def test_killed_parent_is_a_crashed_run_and_a_new_worker(adv_files):
    from conftest import PRELOAD

    from schedbench.runner.execute import Executor

    with Executor(PRELOAD) as ex:
        rec = ex.execute(adv_task(adv_files, "adv-kill-parent", time_limit=3.0))
        assert rec.status == "crashed" and "worker process died" in rec.reason
        assert ex.execute(adv_task(adv_files, "test-good")).status == "feasible"
