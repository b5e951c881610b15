"""Dask distributed execution (optional extra ``schedbench[dask]``).

Each task is shipped to a Dask worker, which runs it with the same isolation and limits as the
local pool (``schedbench.runner.execute.execute`` forks an isolated process on the worker's
machine); the record comes back to the single writer in the client process. With no scheduler
address, a ``distributed.LocalCluster`` of ``workers`` single-threaded worker processes is started.
Dask workers are started non-daemonic (``distributed.worker.daemon = False``) so that they may
create the per-run processes.
"""

from __future__ import annotations

from collections.abc import Iterator

from schedbench.runs import RunRecord, RunTask


def _run_one(task: RunTask) -> RunRecord:
    """Run on a Dask worker; a failure of the harness itself becomes an ``error`` record, so the
    campaign goes on and the run is retried on resume with ``--rerun error``."""
    import socket
    import traceback

    from schedbench.runner.execute import execute

    try:
        record = execute(task)
    except Exception:  # the harness failed, not the solver
        record = RunRecord(
            task.run_id, task, "error", reason="harness error on the Dask worker: " + traceback.format_exc()[-2000:]
        )
    record.host = record.host or socket.gethostname()
    return record


def run_on_dask(tasks: list[RunTask], *, workers: int = 1, scheduler: str | None = None) -> Iterator[RunRecord]:
    """Execute tasks on Dask, yielding records as they complete.

    Raises:
        ImportError: with the install hint, when ``distributed`` is not installed.
    """
    try:
        import dask
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("the Dask executor needs the extra: pip install 'schedbench[dask]'") from exc
    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler)
        try:
            futures = [client.submit(_run_one, t, key=f"run-{t.run_id}", pure=False) for t in tasks]
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
