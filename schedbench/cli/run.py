"""``schedbench run [SPEC] [flags]``: a campaign, with a progress bar on stderr and the report on stdout.

Exit codes: 0 when no run has a ``--fail-on`` status, 1 when one has; 2 bad input (spec, flags).

SPEC is a TOML file; where no such file exists, the name of a bundled example campaign (``smoke``,
``smoke.toml`` or ``campaigns/smoke.toml``), whose relative paths then resolve as if it were at
``./campaigns/NAME.toml`` (:func:`schedbench.suites.paths.find_campaign`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from schedbench.cli.choices import Executor
from schedbench.cli.console import err, fail, guarded, parse_pairs, print_json
from schedbench.errors import InputError


@guarded()
def run(
    spec: Annotated[Path | None, typer.Argument(help="Run spec (TOML); flags below override or replace it.")] = None,
    suite: Annotated[list[str] | None, typer.Option("--suite", help="Suite name (repeatable).")] = None,
    instances: Annotated[
        list[str] | None, typer.Option("--instances", help="Instance file or glob (repeatable).")
    ] = None,
    solver: Annotated[list[str] | None, typer.Option("--solver", help="Solver name (repeatable).")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="SOLVER.key=value (repeatable; a JSON list is a grid).")
    ] = None,
    seeds: Annotated[int | None, typer.Option(help="Repetitions per (instance, solver, parameters).")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="Seconds per run (hard).")] = None,
    memory_limit: Annotated[
        int | None,
        typer.Option("--memory-limit", help="MiB per run that a run may add beyond the worker's preloaded libraries."),
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Threads per run.")] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel runs.")] = None,
    store: Annotated[Path | None, typer.Option(help="Results store (SQLite); resumes when it exists.")] = None,
    rerun: Annotated[
        list[str] | None, typer.Option("--rerun", help="Redo finished runs with this status (repeatable).")
    ] = None,
    executor: Annotated[
        Executor | None, typer.Option(help="Where runs execute (default: the spec's, else local).")
    ] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (default: a local cluster).")] = None,
    solvers_dir: Annotated[list[Path] | None, typer.Option("--solvers-dir", help="Extra plugin folder.")] = None,
    name: Annotated[str | None, typer.Option(help="Campaign name.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    fail_on: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a run of the campaign has "
            "one of these statuses (repeatable or comma-separated; "
            "'contradicted' = refuted claims; 'none'). Default: crashed, "
            "error, invalid, wrong, contradicted.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the status counts and the gate as JSON instead of the report table.")
    ] = False,
    instances_dir: Annotated[
        Path | None,
        typer.Option(
            "--instances-dir",
            help="Local folder of suite manifests, "
            "adding to or overriding the bundled suites (default: "
            "$SCHEDBENCH_INSTANCES_DIR, else ./instances when it "
            "exists).",
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Where suites are built (default: "
            "$SCHEDBENCH_CACHE_DIR, else $XDG_CACHE_HOME/schedbench, else "
            "~/.cache/schedbench).",
        ),
    ] = None,
) -> int:
    """Run a campaign: instances x solvers x parameter grids x seeds, isolated, validated, stored, resumable."""
    import tomllib

    from schedbench.gate import parse_fail_on
    from schedbench.generators.spec import parse_cli_value
    from schedbench.runner.campaign import spec_from_dict
    from schedbench.suites import find_campaign, list_campaigns

    doc: dict[str, Any] = {}
    base = Path(".")
    bundled = find_campaign(spec) if spec is not None else None
    if spec is not None:
        try:
            doc = tomllib.loads((bundled or spec).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                str(spec),
                "$",
                f"a run spec (a TOML file, or a bundled campaign: {', '.join(list_campaigns())})",
                "no such file",
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(str(spec), "$", "valid TOML", str(exc)) from None
        base = Path("campaigns") if bundled else spec.parent
        if bundled:
            err.print(f"campaign spec {spec}: the bundled example {bundled.name}, paths relative to ./campaigns")
    overrides: dict[str, Any] = {
        "suites": suite,
        "instances": instances,
        "seeds": seeds,
        "time_limit": time_limit,
        "memory_limit_mb": memory_limit,
        "threads": threads,
        "workers": workers,
        "executor": executor.value if executor else None,
        "scheduler": scheduler,
        "name": name,
    }
    for key, value in overrides.items():
        if value:
            doc[key] = value
    if store is not None:
        doc["store"] = str(store.resolve())
    if solvers_dir:
        doc["solvers_dirs"] = [str(d.resolve()) for d in solvers_dir]
    if solver:
        doc["solvers"] = [{"name": s} for s in solver]
    for (sname, pname), text in parse_pairs_dotted(param).items():
        entry = next((s for s in doc.get("solvers", []) if isinstance(s, dict) and s.get("name") == sname), None)
        if entry is None:
            fail(f"--param names solver {sname!r}, which the campaign does not run")
        entry.setdefault("params", {})[pname] = parse_cli_value(text)
    if "instances" in doc and instances:
        doc["instances"] = [str(Path(p).resolve()) for p in doc["instances"]]
    cspec = spec_from_dict(doc, base=base, file=str(spec) if spec else "<flags>")
    return run_with_progress(
        cspec, rerun or [], quiet, parse_fail_on(fail_on), as_json, cache=cache_dir, instances_dir=instances_dir
    )


def parse_pairs_dotted(items: list[str] | None) -> dict[tuple[str, str], str]:
    """``SOLVER.key=value`` options into ``{(SOLVER, key): value}`` (values as text), in order."""
    pairs: dict[tuple[str, str], str] = {}
    for key, value in parse_pairs(items, "--param", expects="SOLVER.key=value").items():
        sname, dot, pname = key.partition(".")
        if not dot:
            fail(f"--param expects SOLVER.key=value, got {key + '=' + value!r}")
        pairs[(sname, pname)] = value
    return pairs


def run_with_progress(
    cspec: Any,
    rerun: list[str],
    quiet: bool,
    fail_on: tuple[str, ...] = (),
    as_json: bool = False,
    *,
    cache: Path | None = None,
    instances_dir: Path | None = None,
) -> int:
    """Run the campaign ``cspec`` with a progress bar on stderr (none when ``quiet``), then print
    the report table (or, ``as_json``, the gate's JSON) and return the gate's exit code. ``cache``
    and ``instances_dir`` go to :func:`~schedbench.runner.campaign.run_campaign`."""
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from schedbench.cli.progress import Startup
    from schedbench.cli.report import print_report
    from schedbench.gate import summary
    from schedbench.runner.campaign import run_campaign

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[counts]}", markup=False),
        console=err,
        disable=quiet,
        transient=False,
    )
    state: dict[str, Any] = {}
    startup = Startup(err, progress, disable=quiet)  # a spinner until the first run finishes

    def on_plan(p: Any) -> None:
        err.print(
            f"campaign {cspec.name}: {p.total} runs planned, {p.already_done} already in {cspec.store}, "
            f"{len(p.tasks)} to run; {p.unsupported} (instance, solver) pairs skipped as unsupported"
        )
        for sname, reason in p.unavailable:
            err.print(f"solver {sname} is unavailable: {reason}")
        state["task"] = progress.add_task(escape(cspec.name), total=len(p.tasks), counts="")
        startup.planned(len(p.tasks), cspec.workers, cspec.executor)

    def on_record(record: Any, counts: Any) -> None:
        startup.first_record()
        progress.update(state["task"], advance=1, counts=" ".join(f"{k}:{v}" for k, v in sorted(counts.items())))

    with startup:
        result = run_campaign(
            cspec, rerun=rerun, cache=cache, instances_dir=instances_dir, progress=on_record, on_plan=on_plan
        )
    gate = summary(result.store, cspec.name, fail_on)
    if as_json:
        print_json(gate)
    else:
        print_report(result.store, "table")
        if gate["failing"]:
            err.print("failing runs (--fail-on): " + ", ".join(f"{k} {v}" for k, v in gate["failing"].items()))
    return int(gate["exit_code"])
