"""Progress displays of long CLI steps, on stderr only (stdout stays the command's result, e.g. JSON).

- :func:`suite_progress`: a bar over a suite's instances while ``suite build``/``suite verify``
  hash (and write) them; the total is the generated instances, raised as imported ones arrive.
- :class:`Startup`: a spinner (``rich`` status) while a ``run`` starts (loading and recording the
  instances, then the workers preloading their solver libraries until the first run finishes),
  handing over to the run's progress bar at the first record.

Both are off with ``--quiet`` (``disable=True``), and rich draws nothing animated when stderr is
not a terminal (CI logs get the final state of the bar only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


@contextmanager
def suite_progress(
    console: Console, name: str, expected: int, *, disable: bool = False
) -> Iterator[Callable[[str], None]]:
    """A progress bar for a suite of ``expected`` (at least) instances; yields the callback that
    :func:`schedbench.suites.build` calls with each instance's name."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
        console=console,
        disable=disable,
        transient=True,
    )
    task = progress.add_task(f"suite {escape(name)}", total=max(expected, 1), current="")
    done = 0

    def advance(instance: str) -> None:
        nonlocal done
        done += 1
        total = progress.tasks[0].total or 0
        progress.update(task, advance=1, total=max(total, done), current=escape(instance))

    with progress:
        yield advance


class Startup:
    """The start of a ``run`` on stderr: a spinner with what is happening, then ``progress``.

    Call :meth:`planned` when the plan is known (the spinner then says that workers start) and
    :meth:`first_record` when a run finishes (the spinner stops and ``progress`` starts); use as a
    context manager around the campaign so that both stop however it ends.
    """

    def __init__(self, console: Console, progress: Progress, *, disable: bool = False) -> None:
        self.progress = progress
        self.status = (
            None if disable else console.status("loading the instances, recording the environment", spinner="dots")
        )
        self.started = False

    def __enter__(self) -> Startup:
        if self.status is not None:
            self.status.start()
        return self

    def planned(self, to_run: int, workers: int | None, executor: str) -> None:
        """The plan is known: ``to_run`` runs on ``workers`` local workers or a dask cluster."""
        if self.status is not None and to_run:
            where = "a dask cluster" if executor == "dask" else f"{workers or 'one per CPU'} local worker(s)"
            self.status.update(f"starting {where} (preloading solver libraries), {to_run} runs to do")

    def first_record(self) -> None:
        """A run finished: the spinner stops and the progress bar starts (once)."""
        if not self.started:
            self.started = True
            if self.status is not None:
                self.status.stop()
            self.progress.start()

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.stop()
        self.progress.stop()
