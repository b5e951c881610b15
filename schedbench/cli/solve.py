"""``schedbench solve SOLVER INSTANCE``: one run with the harness's isolation, limits and validation.

:func:`solve` is the command (mounted by :mod:`schedbench.cli.app`), :func:`solve_command` its body. Exit code: 0 when
the run ends ``optimal`` or ``feasible``, 1 otherwise; bad input (an unreadable instance, an
unknown solver, a bad ``--param``) raises :class:`~schedbench.errors.InputError`, which the CLI
prints as one line and turns into exit 2.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from schedbench.cli.console import guarded, parse_pairs
from schedbench.errors import UsageError
from schedbench.runs import MAX_MEMORY_LIMIT_MB, MAX_THREADS, MAX_TIME_LIMIT_S, RunRecord, RunTask


def gap(record: RunRecord, known: dict[str, float]) -> tuple[float | None, str | None]:
    """The run's gap (:func:`schedbench.scoring.gap`, a fraction, positive = worse) and the source of
    its reference (:func:`schedbench.scoring.reference_for_solve`: the best attained published value,
    else the tightest bound known, the solver's own included); (None, None) without either."""
    from schedbench.scoring import gap as project_gap
    from schedbench.scoring import reference_for_solve

    ref = reference_for_solve(known, record.sense, record.bound)
    if record.objective is None or ref is None:
        return None, None
    return project_gap(record.objective, ref[0], record.sense), ref[1]


def parse_params(items: list[str] | None) -> dict[str, str]:
    """``key=value`` strings into a dict (values stay strings; the solver's Params convert them)."""
    return parse_pairs(items, "--param")


def build_task(
    solver: str,
    instance: Path,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    param: list[str] | None = None,
    memory_limit_mb: int | None = None,
    threads: int = 1,
    solvers_dir: list[Path] | None = None,
    registry: str | None = None,
) -> RunTask:
    """Check the command's input and build its task.

    Raises:
        InputError: a bad option, an unreadable instance, an unknown solver or a bad parameter.
    """
    from schedbench.instances.io import load
    from schedbench.runner.execute import get_entry, task_for
    from schedbench.runner.worker import registry_spec

    if not (0 < time_limit <= MAX_TIME_LIMIT_S and math.isfinite(time_limit)):
        raise UsageError(
            f"--time-limit must be a positive number of seconds <= {MAX_TIME_LIMIT_S:g} (30 days), got {time_limit!r}"
        )
    if not 0 <= seed < 2**63:
        raise UsageError(f"--seed must be a non-negative 64-bit integer, got {seed!r}")
    if not 1 <= threads <= MAX_THREADS:
        raise UsageError(f"--threads must be in [1, {MAX_THREADS}], got {threads!r}")
    if memory_limit_mb is not None and not 0 < memory_limit_mb <= MAX_MEMORY_LIMIT_MB:
        raise UsageError(
            f"--memory-limit must be a positive number of MB <= {MAX_MEMORY_LIMIT_MB}, got {memory_limit_mb!r}"
        )
    dirs = tuple(str(Path(d).resolve()) for d in solvers_dir or [])
    for d in dirs:
        if not Path(d).is_dir():
            raise UsageError(f"--solvers-dir {d!r} is not a directory")
    given = parse_params(param)
    inst = load(instance)
    try:
        entry = get_entry(registry_spec(registry), dirs, solver)
    except KeyError as exc:
        known = str(exc.args[0]) if exc.args else ""
        raise UsageError(
            known if "unknown solver" in known else f"unknown solver {solver!r} (see `schedbench solvers list`)"
        ) from None
    return task_for(
        entry,
        instance,
        inst,
        given,
        seed=seed,
        time_limit=time_limit,
        memory_limit_mb=memory_limit_mb,
        threads=threads,
        solvers_dirs=dirs,
    )


def _plain(obj: Any) -> Any:
    """Strict-JSON-ready copy (non-finite numbers -> null, unknown objects -> str)."""
    from schedbench.store.core import _plain as plain

    return plain(obj)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.10g}"


def solve_command(
    solver: str,
    instance: Path,
    time_limit: float = 10.0,
    seed: int = 0,
    param: list[str] | None = None,
    output: Path | None = None,
    as_json: bool = False,
    memory_limit_mb: int | None = None,
    threads: int = 1,
    solvers_dir: list[Path] | None = None,
) -> int:
    """Run ``solver`` once on ``instance`` in an isolated worker; print the graded outcome.

    Returns:
        0 for ``optimal``/``feasible``, 1 for any other status.

    Raises:
        InputError: bad input (exit 2 in the CLI).
    """
    from schedbench.runner.execute import Executor, load_instance
    from schedbench.scoring import known_values

    task = build_task(
        solver,
        instance,
        time_limit=time_limit,
        seed=seed,
        param=param,
        memory_limit_mb=memory_limit_mb,
        threads=threads,
        solvers_dir=solvers_dir,
    )
    with Executor(preload=("numpy", "scipy")) as ex:
        record = ex.execute(task)
    inst = load_instance(task.instance_path, task.instance_hash)
    g, ref = gap(record, known_values(inst.metadata.get("known")))
    if output is not None and record.solution is not None:
        Path(output).write_text(json.dumps(record.solution, sort_keys=True, allow_nan=False) + "\n")
    if as_json:
        doc = record.to_dict()
        doc["gap"], doc["gap_reference"] = g, ref
        doc["solution_file"] = str(output) if output is not None and record.solution is not None else None
        sys.stdout.write(json.dumps(_plain(doc), indent=2, sort_keys=True, allow_nan=False) + "\n")
    else:
        lines = [
            f"solver     {task.solver} {task.solver_version}  (seed {task.seed}, solver seed {task.solver_seed})",
            f"instance   {task.instance_name}  {record.problem_class}/{record.objective_name} ({record.sense})",
            f"status     {record.status}"
            + (
                f"  (claimed {record.claimed_status})"
                if record.claimed_status and record.claimed_status != record.status
                else ""
            ),
            f"objective  {_fmt(record.objective)}",
            f"bound      {_fmt(record.bound)}",
            f"gap        {'-' if g is None else f'{100 * g:.4g} %'}" + (f"  (vs {ref})" if ref else ""),
            f"wall       {_fmt(record.wall_s)} s   cpu {_fmt(record.cpu_s)} s   peak rss {_fmt(record.peak_rss_mb)} MB",
        ]
        if record.flags:
            lines.append(f"flags      {', '.join(record.flags)}")
        if record.reason:
            lines.append(f"reason     {record.reason.strip()}")
        if output is not None:
            lines.append(f"solution   {'written to ' + str(output) if record.solution is not None else 'none'}")
        sys.stdout.write("\n".join(lines) + "\n")
    return 0 if record.status in ("optimal", "feasible") else 1


@guarded(KeyError, ValueError)
def solve(
    solver: Annotated[str, typer.Argument(help="Solver name (see `schedbench solvers list`).")],
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds (hard limit).")] = 10.0,
    seed: Annotated[int, typer.Option(help="Repetition seed; the solver's seed is derived from the run.")] = 0,
    param: Annotated[list[str] | None, typer.Option("--param", help="key=value (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the solution JSON here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    memory_limit: Annotated[
        int | None,
        typer.Option(
            "--memory-limit", help="MiB of address space the run may add beyond the worker's preloaded libraries."
        ),
    ] = None,
    threads: Annotated[int, typer.Option(help="Threads for the solver and BLAS.")] = 1,
    solvers_dir: Annotated[list[Path] | None, typer.Option("--solvers-dir", help="Extra plugin folder.")] = None,
) -> int:
    """Run one solver once, isolated and limited as in a campaign, and grade its answer."""
    return solve_command(
        solver,
        instance,
        time_limit=time_limit,
        seed=seed,
        param=param,
        output=output,
        as_json=as_json,
        memory_limit_mb=memory_limit,
        threads=threads,
        solvers_dir=solvers_dir,
    )
