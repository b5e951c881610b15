"""A local pool of isolated workers: :class:`LocalPool`.

``workers`` persistent preloaded worker processes (one :class:`~.execute.Executor` each; see
:mod:`.worker` for the process model), fed by as many threads of the calling process. Each task
runs in a fresh child of an idle worker; the thread then validates the answer and builds the
:class:`~.record.RunRecord`. A run that crashes, times out or runs out of memory takes only its
child; a worker process that dies itself is replaced on its next task. So the pool keeps going
whatever the plugins do, and every task gives exactly one record.

Example::

    with LocalPool(workers=4) as pool:
        for record in pool.map_unordered(tasks):
            store.write(record)
"""

from __future__ import annotations

import os
import queue
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from schedbench.runner.execute import Executor
from schedbench.runner.worker import GRACE_S
from schedbench.runs import RunRecord, RunTask


class LocalPool:
    """Run tasks on ``workers`` isolated worker processes of this machine.

    Args:
        workers: number of concurrent runs (default: the CPU count).
        preload: modules each worker imports once (missing ones are skipped); default: derived from the
            solvers' ``requires`` (:func:`.worker.default_preload`).
        registry: registry factory override (``module:function``); default
            :func:`schedbench.plugins.registry.get_registry` (or ``$SCHEDBENCH_RUNNER_REGISTRY``).
        threads: thread count the workers start with (a task with another count restarts its worker).
        grace: seconds between SIGTERM and SIGKILL at a run's time limit.
    """

    def __init__(
        self,
        workers: int | None = None,
        preload: tuple[str, ...] | None = None,
        *,
        registry: str | None = None,
        threads: int = 1,
        grace: float = GRACE_S,
    ) -> None:
        n = int(workers or os.cpu_count() or 1)
        if n < 1:
            raise ValueError(f"workers must be >= 1, not {workers!r}")
        self.workers = n
        self._executors = [Executor(preload, registry=registry, grace=grace) for _ in range(n)]
        self._idle: queue.SimpleQueue[Executor] = queue.SimpleQueue()
        for ex in self._executors:
            ex.start(threads)  # the imports run in the background while the caller goes on
            self._idle.put(ex)
        self._threads = ThreadPoolExecutor(max_workers=n, thread_name_prefix="schedbench-run")
        self._closed = False

    def _run(self, task: RunTask) -> RunRecord:
        ex = self._idle.get()
        try:
            return ex.execute(task)
        finally:
            self._idle.put(ex)

    def submit(self, task: RunTask) -> Future[RunRecord]:
        """Queue a task; the future's result is its record (it does not raise for plugin misbehaviour)."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        return self._threads.submit(self._run, task)

    def map_unordered(self, tasks: Iterable[RunTask]) -> Iterator[RunRecord]:
        """Run the tasks; yield each record as soon as it is done (not in task order). At most
        twice ``workers`` tasks are queued at once, so ``tasks`` may be a long generator."""
        it = iter(tasks)
        pending: set[Future[RunRecord]] = set()
        window = 2 * self.workers
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < window:
                    try:
                        pending.add(self.submit(next(it)))
                    except StopIteration:
                        exhausted = True
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()

    @property
    def worker_pids(self) -> list[int | None]:
        """Process ids of the worker processes (None for one not running)."""
        return [ex.pid for ex in self._executors]

    def close(self) -> None:
        """Cancel queued tasks, stop every worker (a run in progress is killed) and wait for the threads."""
        if self._closed:
            return
        self._closed = True
        self._threads.shutdown(wait=False, cancel_futures=True)
        for ex in self._executors:
            ex.close()
        self._threads.shutdown(wait=True)

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
