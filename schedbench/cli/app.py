"""The ``schedbench`` command line.

Exit codes: 0 success (and, for ``validate``, a feasible solution); 1 an infeasible solution;
2 bad input (malformed file, unknown format, wrong usage), printed as one line without a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from schedbench import __version__
from schedbench.cli.choices import Executor, ExportFormat, ReportFormat
from schedbench.cli.console import guard
from schedbench.errors import InputError

app = typer.Typer(
    name="schedbench",
    help="Benchmark suite and solver-comparison harness for scheduling DL training jobs on GPU clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
)
# Piped output (CI logs, scripts) gets a fixed, wide table instead of an 80-column fallback.
# markup off: file names, campaign names and messages are data ("[/]" would be a MarkupError);
# the few styled lines pass markup=True and escape their data
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, markup=False)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _guard(fn: Callable[[], int | None]) -> None:
    """Run a command body; bad input becomes one line on stderr and exit 2."""
    guard(fn, err, (InputError,))


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    return None if value is None else float(value)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.10g}"


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"schedbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """schedbench: instances, validator, importers (solvers and harness follow)."""


@app.command()
def validate(
    instance: Annotated[Path, typer.Argument(help="Instance file (.json or .json.gz).")],
    solution: Annotated[Path | None, typer.Argument(help="Solution file; omit to check the instance only.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check an instance, and a solution against it (exit 0 feasible, 1 infeasible, 2 bad input)."""

    def body() -> int:
        from schedbench.instances import content_hash, load
        from schedbench.validator import validate_file

        inst = load(instance)
        if solution is None:
            if as_json:
                _print_json({"instance": str(instance), "valid": True, "hash": content_hash(inst), **inst.summary()})
            else:
                out.print(f"{instance}: valid instance ({inst.problem.cls}/{inst.problem.objective}, "
                          f"{inst.n_jobs} jobs, {inst.n_gpus} GPUs)")
            return 0
        result = validate_file(inst, solution)
        if as_json:
            _print_json(result.to_dict())
        else:
            verdict = "[green]feasible[/]" if result.feasible else "[red]infeasible[/]"
            out.print(f"{escape(str(solution))}: {verdict}  {result.objective_name} = {_num(result.objective)} "
                      f"({result.sense})", markup=True)
            if result.claim_matches is False:
                out.print(f"[yellow]claimed objective {result.claimed_objective!r} differs from the recomputed "
                          f"{result.objective!r}[/]", markup=True)
            for v in result.violations:
                out.print(f"  [red]{escape(v.constraint)}[/]: {escape(v.message)}", markup=True)
            listed = len(result.violations)
            total = sum(result.violation_counts.values())
            if total > listed:
                out.print(f"  ... {total - listed} more; counts per kind: {result.violation_counts}")
            for key, value in result.metrics.items():
                if not isinstance(value, dict):
                    out.print(f"  {key}: {value if not isinstance(value, float) else _num(value)}")
        return 0 if result.feasible else 1

    _guard(body)


@app.command()
def show(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    stats: Annotated[bool, typer.Option("--stats", help="Also the reviewer's figures: fluid offered load, GPU "
                                        "time by job size vs the trace, duration quantiles vs the fit, "
                                        "figures by provenance (docs/generators.md).")] = False,
) -> None:
    """Print an instance's class, objective, sizes, content hash, bounds and known values."""

    def body() -> int:
        from schedbench.instances import content_hash, load
        from schedbench.validator import bounds

        t0 = time.perf_counter()
        inst = load(instance)
        load_s = time.perf_counter() - t0
        info: dict[str, Any] = inst.summary()
        info["hash"] = content_hash(inst)
        info["bounds"] = bounds(inst)
        info["known"] = inst.metadata.get("known", {})
        info["gpus_per_type"] = {t: int(c) for t, c in zip(inst.type_ids, inst.gpus_per_type, strict=True)}
        info["source"] = inst.metadata.get("source")
        if stats:
            from schedbench.generators.instance_stats import instance_stats

            info["stats"] = instance_stats(inst)
        if as_json:
            _print_json(info)
            return 0
        table = Table(title=f"{instance}", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for key in ("name", "class", "objective", "jobs", "gpus", "nodes", "gpu_types", "resources"):
            table.add_row(key, str(info[key]))
        table.add_row("params", json.dumps(info["params"], sort_keys=True))
        table.add_row("gpus per type", ", ".join(f"{k}: {v}" for k, v in list(info["gpus_per_type"].items())[:12])
                      + (" ..." if len(info["gpus_per_type"]) > 12 else ""))
        table.add_row("hash", info["hash"])
        table.add_row("bounds", ", ".join(f"{k} {_num(v)}" for k, v in info["bounds"].items()) or "-")
        table.add_row("known", ", ".join(f"{k} {v}" for k, v in info["known"].items()) or "-")
        if info["source"]:
            table.add_row("source", json.dumps(info["source"], sort_keys=True))
        table.add_row("load time", f"{load_s * 1000:.1f} ms")
        out.print(table)
        if stats:
            from schedbench.generators.instance_stats import render

            render(info["stats"], out)
        return 0

    _guard(body)


@app.command("import")
def import_(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="Input format: see `schedbench import --help`.")],
    paths: Annotated[list[Path], typer.Argument(help="Files to import.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory for the instance files.")],
    sense: Annotated[str, typer.Option(help="GAP only: 'min' (default) or 'max' (negated costs).")] = "min",
    option: Annotated[list[str] | None, typer.Option("--option", help="Importer option key=value (repeatable), "
                                                     "e.g. max_jobs=500 for the trace formats.")] = None,
    gzip: Annotated[bool, typer.Option("--gzip", help="Write .json.gz files.")] = False,
) -> None:
    """Import published files: benchmark sets (orlib-gap, gap, rcmax, vbp) and traces (philly, alibaba-openb)."""

    def body() -> int:
        from schedbench.importers import IMPORTERS
        from schedbench.instances import save
        from schedbench.traces.replay import TRACE_IMPORTERS

        importers = {**IMPORTERS, **TRACE_IMPORTERS}
        importer = importers.get(fmt)
        if importer is None:
            _fail(f"unknown format {fmt!r}; expected one of {sorted(importers)}")
        assert importer is not None
        if sense not in ("min", "max"):
            _fail(f"--sense must be 'min' or 'max', not {sense!r}")
        from schedbench.generators.spec import parse_cli_value

        options: dict[str, Any] = {}
        for item in option or []:
            key, eq, value = item.partition("=")
            if not eq or not key:
                _fail(f"--option expects key=value, got {item!r}")
            options[key] = parse_cli_value(value)
        if sense != "min":
            if fmt not in ("orlib-gap", "gap"):
                _fail("--sense applies to the GAP formats only")
            options["sense"] = sense
        table = Table(title=f"imported ({fmt})")
        for col in ("instance", "class/objective", "jobs", "GPUs", "known", "file"):
            table.add_column(col)
        suffix = ".json.gz" if gzip else ".json"
        written = 0
        for path in paths:
            try:
                imported = importer.read(path, **options)
            except ValueError as exc:
                _fail(str(exc))
            for inst in imported:
                target = output / f"{inst.name}{suffix}"
                save(inst, target)
                written += 1
                known = inst.metadata.get("known", {})
                known_s = ", ".join(f"{k}={v}" for k, v in known.items() if k != "source") or "-"
                table.add_row(inst.name, f"{inst.problem.cls}/{inst.problem.objective}", str(inst.n_jobs),
                              str(inst.n_gpus), known_s, str(target))
        if written <= 50:
            out.print(table)
        out.print(f"wrote {written} instance file(s) to {output}")
        return 0

    _guard(body)


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="'instance' or 'solution'.")],
) -> None:
    """Print the JSON Schema of the instance or solution format."""

    def body() -> int:
        from schedbench.instances.schema import instance_schema, solution_schema

        if kind == "instance":
            _print_json(instance_schema())
        elif kind == "solution":
            _print_json(solution_schema())
        else:
            _fail(f"unknown schema {kind!r}; expected 'instance' or 'solution'")
        return 0

    _guard(body)


@app.command()
def generate(
    cls: Annotated[str, typer.Argument(metavar="CLASS", help="placement, batch, allocation or online.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Instance file to write (.json or .json.gz)."
                                                )] = None,
    seed: Annotated[int, typer.Option(help="Seed (non-negative integer).")] = 0,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value (repeatable); values are "
                                                    "JSON when they parse, e.g. jobs=200 cluster=modern "
                                                    "'gang={\"1\": 3, \"2\": 1}'.")] = None,
    preset: Annotated[str | None, typer.Option(help="Named parameter set (see --list-presets).")] = None,
    list_params: Annotated[bool, typer.Option("--list-params", help="List the class's parameters and exit.")] = False,
) -> None:
    """Generate a reproducible instance: same class, parameters and seed give the same bytes and hash."""

    def body() -> int:
        from schedbench.generators import generate as gen
        from schedbench.generators import param_specs
        from schedbench.generators.presets import preset_names, resolve
        from schedbench.generators.spec import parse_cli_value
        from schedbench.instances import save

        try:
            specs = param_specs(cls)
        except KeyError:
            _fail(f"unknown class {cls!r}; expected placement, batch, allocation or online")
        if list_params:
            table = Table(title=f"{cls} generator parameters")
            for col in ("parameter", "default", "meaning"):
                table.add_column(col)
            for spec in specs:
                table.add_row(spec.name, json.dumps(spec.default), spec.help)
            out.print(table)
            out.print("presets: " + ", ".join(preset_names(cls)))
            return 0
        if preset is not None and preset not in preset_names(cls):
            _fail(f"unknown {cls} preset {preset!r}; expected one of {preset_names(cls)}")
        given: dict[str, Any] = {}
        for item in param or []:
            key, eq, value = item.partition("=")
            if not eq or not key:
                _fail(f"--param expects key=value, got {item!r}")
            given[key] = parse_cli_value(value)
        params = resolve(cls, preset, given)
        if seed < 0:
            _fail("--seed must be a non-negative integer")
        if output is None:
            _fail("missing -o/--output FILE")
        assert output is not None
        t0 = time.perf_counter()
        inst = gen(cls, params, seed, source="--param")
        digest = save(inst, output)
        elapsed = time.perf_counter() - t0
        out.print(f"wrote {output}: {cls}/{inst.problem.objective}, {inst.n_jobs} jobs, {inst.n_gpus} GPUs, "
                  f"hash {digest} ({elapsed:.2f} s)")
        for note in inst.metadata.get("notes", []):
            out.print(f"  note: {note}")
        return 0

    _guard(body)


suite_app = typer.Typer(help="Named instance suites: list, build, verify against their lock files.",
                        no_args_is_help=True)
app.add_typer(suite_app, name="suite")
_SUITE_DIR = typer.Option("--dir", help="Directory of suite manifests (default: the repository's instances/).")


@suite_app.command("list")
def suite_list(directory: Annotated[Path | None, _SUITE_DIR] = None) -> None:
    """List the suites with their sizes and descriptions."""

    def body() -> int:
        from schedbench.suites import list_suites

        table = Table(title="suites")
        for col in ("suite", "generated", "imports", "lock", "description"):
            table.add_column(col)
        for s in list_suites(directory):
            gen_count = sum(len(g["seeds"]) for g in s.generate)
            table.add_row(s.name, str(gen_count), str(sum(len(m["paths"]) for m in s.imports)),
                          "yes" if s.lock_path.exists() else "no", s.description)
        out.print(table)
        return 0

    _guard(body)


def _suite_run(name: str, directory: Path | None, out_dir: Path | None, strict: bool, quiet: bool = False) -> int:
    from schedbench.cli.progress import suite_progress
    from schedbench.suites import LockMismatchError, build, expected_count, load_suite

    suite = load_suite(name, directory)
    t0 = time.perf_counter()
    try:
        with suite_progress(err, name, expected_count(suite), disable=quiet) as advance:
            report = build(suite, out_dir, progress=advance)
    except LockMismatchError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 1
    msg = f"suite {name}: {len(report.hashes)} instance(s) match {suite.lock_path.name}"
    if out_dir is not None:
        msg += f", written to {out_dir}"
    out.print(f"{msg} ({time.perf_counter() - t0:.1f} s)")
    if report.missing:
        out.print(f"[yellow]missing source files (skipped): {escape(', '.join(report.missing))}[/]", markup=True)
        if strict:
            return 1
    return 0


@suite_app.command("build")
def suite_build(
    name: Annotated[str, typer.Argument(help="Suite name (a manifest instances/NAME.toml).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Directory for the instance files "
                                                "(default: .cache/suites/NAME).")] = None,
    directory: Annotated[Path | None, _SUITE_DIR] = None,
    strict: Annotated[bool, typer.Option(help="Fail when imported source files are missing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar (on stderr).")] = False,
) -> None:
    """Materialise a suite deterministically and check every hash against its lock (exit 1 on a mismatch)."""
    _guard(lambda: _suite_run(name, directory, output or Path(".cache") / "suites" / name, strict, quiet))


@suite_app.command("verify")
def suite_verify(
    name: Annotated[str, typer.Argument(help="Suite name.")],
    directory: Annotated[Path | None, _SUITE_DIR] = None,
    strict: Annotated[bool, typer.Option(help="Fail when imported source files are missing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar (on stderr).")] = False,
) -> None:
    """Rebuild a suite in memory and check every hash against its lock (exit 1 naming each mismatch)."""
    _guard(lambda: _suite_run(name, directory, None, strict, quiet))


@suite_app.command("lock")
def suite_lock(
    name: Annotated[str, typer.Argument(help="Suite name.")],
    directory: Annotated[Path | None, _SUITE_DIR] = None,
) -> None:
    """(Re)write a suite's lock file from a fresh build. Commit it with the change that moved the hashes."""

    def body() -> int:
        from schedbench.suites import build, load_suite, write_lock

        suite = load_suite(name, directory)
        report = build(suite, check_lock=False)
        if report.missing:
            _fail(f"cannot lock suite {name}: source files missing: {', '.join(report.missing)}")
        write_lock(suite, report.hashes)
        out.print(f"wrote {suite.lock_path} ({len(report.hashes)} instances)")
        return 0

    _guard(body)


@app.command()
def run(
    spec: Annotated[Path | None, typer.Argument(help="Run spec (TOML); flags below override or replace it.")] = None,
    suite: Annotated[list[str] | None, typer.Option("--suite", help="Suite name (repeatable).")] = None,
    instances: Annotated[list[str] | None, typer.Option("--instances", help="Instance file or glob (repeatable).")
                         ] = None,
    solver: Annotated[list[str] | None, typer.Option("--solver", help="Solver name (repeatable).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="SOLVER.key=value (repeatable; a JSON list "
                                                    "is a grid).")] = None,
    seeds: Annotated[int | None, typer.Option(help="Repetitions per (instance, solver, parameters).")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="Seconds per run (hard).")] = None,
    memory_limit: Annotated[int | None, typer.Option("--memory-limit", help="MiB per run that a run may add beyond "
                                                     "the worker's preloaded libraries.")] = None,
    threads: Annotated[int | None, typer.Option(help="Threads per run.")] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel runs.")] = None,
    store: Annotated[Path | None, typer.Option(help="Results store (SQLite); resumes when it exists.")] = None,
    rerun: Annotated[list[str] | None, typer.Option("--rerun", help="Redo finished runs with this status "
                                                    "(repeatable).")] = None,
    executor: Annotated[Executor | None, typer.Option(help="Where runs execute (default: the spec's, else "
                                                      "local).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (default: a local cluster).")] = None,
    solvers_dir: Annotated[list[Path] | None, typer.Option("--solvers-dir", help="Extra plugin folder.")] = None,
    name: Annotated[str | None, typer.Option(help="Campaign name.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    fail_on: Annotated[list[str] | None, typer.Option("--fail-on", help="Exit 1 when a run of the campaign has "
                                                      "one of these statuses (repeatable or comma-separated; "
                                                      "'contradicted' = refuted claims; 'none'). Default: crashed, "
                                                      "error, invalid, wrong, contradicted.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status counts and the gate as JSON instead "
                                          "of the report table.")] = False,
) -> None:
    """Run a campaign: instances x solvers x parameter grids x seeds, isolated, validated, stored, resumable."""

    def body() -> int:
        import tomllib

        from schedbench.generators.spec import parse_cli_value
        from schedbench.runner.campaign import spec_from_dict

        doc: dict[str, Any] = {}
        base = Path(".")
        if spec is not None:
            try:
                doc = tomllib.loads(spec.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise InputError(str(spec), "$", "a run spec (TOML)", "no such file") from None
            except tomllib.TOMLDecodeError as exc:
                raise InputError(str(spec), "$", "valid TOML", str(exc)) from None
            base = spec.parent
        overrides: dict[str, Any] = {"suites": suite, "instances": instances, "seeds": seeds,
                                     "time_limit": time_limit, "memory_limit_mb": memory_limit, "threads": threads,
                                     "workers": workers, "executor": executor.value if executor else None,
                                     "scheduler": scheduler, "name": name}
        for key, value in overrides.items():
            if value:
                doc[key] = value
        if store is not None:
            doc["store"] = str(store.resolve())
        if solvers_dir:
            doc["solvers_dirs"] = [str(d.resolve()) for d in solvers_dir]
        if solver:
            doc["solvers"] = [{"name": s} for s in solver]
        for item in param or []:
            key, eq, value = item.partition("=")
            sname, dot, pname = key.partition(".")
            if not eq or not dot:
                _fail(f"--param expects SOLVER.key=value, got {item!r}")
            entry = next((s for s in doc.get("solvers", []) if isinstance(s, dict) and s.get("name") == sname), None)
            if entry is None:
                _fail(f"--param names solver {sname!r}, which the campaign does not run")
            assert entry is not None
            entry.setdefault("params", {})[pname] = parse_cli_value(value)
        if "instances" in doc and instances:
            doc["instances"] = [str(Path(p).resolve()) for p in doc["instances"]]
        cspec = spec_from_dict(doc, base=base, file=str(spec) if spec else "<flags>")
        from schedbench.gate import parse_fail_on

        return _run_with_progress(cspec, rerun or [], quiet, parse_fail_on(fail_on), as_json)

    _guard(body)


def _run_with_progress(cspec: Any, rerun: list[str], quiet: bool, fail_on: tuple[str, ...] = (),
                       as_json: bool = False) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from schedbench.cli.progress import Startup
    from schedbench.report import report_command
    from schedbench.runner.campaign import run_campaign

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        TextColumn("{task.fields[counts]}"),
                        console=err, disable=quiet, transient=False)
    state: dict[str, Any] = {}
    startup = Startup(err, progress, disable=quiet)  # a spinner until the first run finishes

    def on_plan(p: Any) -> None:
        err.print(f"campaign {cspec.name}: {p.total} runs planned, {p.already_done} already in {cspec.store}, "
                  f"{len(p.tasks)} to run; {p.unsupported} (instance, solver) pairs skipped as unsupported",
                  markup=False)
        for sname, reason in p.unavailable:
            err.print(f"solver {sname} is unavailable: {reason}", markup=False)
        state["task"] = progress.add_task(escape(cspec.name), total=len(p.tasks), counts="")
        startup.planned(len(p.tasks), cspec.workers, cspec.executor)

    def on_record(record: Any, counts: Any) -> None:
        startup.first_record()
        progress.update(state["task"], advance=1, counts=" ".join(f"{k}:{v}" for k, v in sorted(counts.items())))

    with startup:
        result = run_campaign(cspec, rerun=rerun, progress=on_record, on_plan=on_plan)
    from schedbench.gate import summary

    gate = summary(result.store, cspec.name, fail_on)
    if as_json:
        _print_json(gate)
    else:
        report_command(result.store, "table")
        if gate["failing"]:
            err.print("failing runs (--fail-on): " + ", ".join(f"{k} {v}" for k, v in gate["failing"].items()),
                      markup=False)
    return int(gate["exit_code"])


@app.command()
def simulate(
    policy: Annotated[str, typer.Argument(help="Policy name (a solver of family policy, e.g. fcfs, srpt, las).")],
    instance: Annotated[Path, typer.Argument(help="Online instance file.")],
    param: Annotated[list[str] | None, typer.Option("--param", help="key=value (repeatable), e.g. "
                                                    "predictor=noisy, sigma=1.0, admission=wait-deadline.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the event log (solution JSON).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The metrics as one JSON object.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the noisy predictor.")] = 0,
    solvers_dir: Annotated[list[Path] | None, typer.Option("--solvers-dir", help="Extra plugin folder.")] = None,
) -> None:
    """Simulate one online policy on an instance; print the validated metrics (docs/simulator.md)."""

    def body() -> int:
        from schedbench.cli.simulate import simulate_command

        return simulate_command(policy, instance, param=param, output=output, as_json=as_json, seed=seed,
                                solvers_dir=solvers_dir, out=out, err=err)

    _guard(body)


@app.command()
def solve(
    solver: Annotated[str, typer.Argument(help="Solver name (see `schedbench solvers list`).")],
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds (hard limit).")] = 10.0,
    seed: Annotated[int, typer.Option(help="Repetition seed; the solver's seed is derived from the run.")] = 0,
    param: Annotated[list[str] | None, typer.Option("--param", help="key=value (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the solution JSON here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    memory_limit: Annotated[int | None, typer.Option("--memory-limit", help="MiB of address space the run may add "
                                                     "beyond the worker's preloaded libraries.")] = None,
    threads: Annotated[int, typer.Option(help="Threads for the solver and BLAS.")] = 1,
    solvers_dir: Annotated[list[Path] | None, typer.Option("--solvers-dir", help="Extra plugin folder.")] = None,
) -> None:
    """Run one solver once, isolated and limited as in a campaign, and grade its answer."""

    def body() -> int:
        from schedbench.cli.solve import solve_command

        try:
            return solve_command(solver, instance, time_limit=time_limit, seed=seed, param=param, output=output,
                                 as_json=as_json, memory_limit_mb=memory_limit, threads=threads,
                                 solvers_dir=solvers_dir)
        except (KeyError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            _fail(str(exc).strip("'\""))
            return 2

    _guard(body)


@app.command()
def report(
    store: Annotated[Path, typer.Argument(help="Results store (SQLite), or its parquet/CSV export.")],
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Output format (json: strict, null for a missing "
                                              "value).")] = ReportFormat.table,
    shift: Annotated[float, typer.Option(help="Shift of the shifted geometric mean time (s).")] = 10.0,
    penalty: Annotated[float, typer.Option("--timeout-penalty", help="Unsolved runs count as this many times "
                                           "their time limit.")] = 10.0,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's runs.")] = None,
) -> None:
    """Per solver and class: runs, feasible, optimal, failures, gaps to best known, shifted geometric mean time."""

    def body() -> int:
        from schedbench.report import report_command

        return report_command(store, fmt.value, shift, penalty, campaign)

    _guard(body)


@app.command()
def export(
    source: Annotated[Path, typer.Argument(help="Results store (SQLite) or its parquet/CSV export for parquet/csv; "
                                           "an instance for mps/lp.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="parquet or csv (a result set: runs, trajectories, "
                                              "environments, instances); mps or lp (an instance's ILP model, as "
                                              "ilp-highs builds it).")] = ExportFormat.parquet,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's runs.")] = None,
    instance_files: Annotated[bool, typer.Option("--instance-files/--no-instance-files",
                                                 help="Copy the instance files into NAME.instances/ (off: the "
                                                 "instance table only, paths and hashes).")] = True,
) -> None:
    """Export a result set (runs, trajectories, environments, instances) as parquet or CSV, or an
    instance's ILP model as MPS or LP."""

    def body() -> int:
        kind = fmt.value
        if kind in ("mps", "lp"):
            from schedbench.plugins.export_model import export_model_command

            return export_model_command(source, kind, output or source.with_suffix(f".{kind}"))
        from schedbench.store.export import export_command

        return export_command(source, kind, output, campaign=campaign, copy_instances=instance_files)

    _guard(body)


@app.command()
def compare(
    baseline: Annotated[Path, typer.Argument(help="Baseline results: a store (SQLite) or its parquet/csv export.")],
    candidate: Annotated[Path, typer.Argument(help="Candidate results of the same campaign (store or export).")],
    tolerance: Annotated[list[str] | None, typer.Option(
        "--tolerance", help="NAME=VALUE, repeatable: solved=RUNS, optimal=RUNS, gap=ABS (0.001 = 0.1 pp), "
        "time=RATIO (defaults 0, 0, 0.001, 1.25).")] = None,
    shift: Annotated[float, typer.Option(help="Shift of the shifted geometric mean time (s).")] = 10.0,
    penalty: Annotated[float, typer.Option("--timeout-penalty", help="Unsolved runs count as this many times "
                                           "their time limit.")] = 10.0,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's runs (both sides).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Quality and speed gate: exit 1 when CANDIDATE is worse than BASELINE beyond the tolerances."""

    def body() -> int:
        from schedbench.compare import compare_command

        return compare_command(baseline, candidate, tolerance, shift=shift, penalty=penalty, campaign=campaign,
                               as_json=as_json)

    _guard(body)


@app.command()
def plot(
    source: Annotated[Path, typer.Argument(help="Results store, or its parquet/CSV export; an instance file "
                                           "with --solution.")],
    kind: Annotated[str, typer.Argument(help="profile-time, profile-gap, ecdf-limit, ecdf-time, anytime, gantt, "
                                        "jct-cdf, load-sweep, utilisation or cd (docs/outputs.md).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Figure file: .pdf, .png or .svg.")],
    cls: Annotated[str | None, typer.Option("--class", help="Only runs of this problem class.")] = None,
    objective: Annotated[str | None, typer.Option(help="Only runs on instances with this objective.")] = None,
    solver: Annotated[list[str] | None, typer.Option("--solver", help="Only these solvers (repeatable).")] = None,
    instance: Annotated[str | None, typer.Option(help="The instance (anytime, gantt, utilisation).")] = None,
    run: Annotated[str | None, typer.Option(help="A run id or its prefix (gantt, utilisation).")] = None,
    solution: Annotated[Path | None, typer.Option(help="A solution file; SOURCE is then its instance.")] = None,
    target_gap: Annotated[float | None, typer.Option(help="profile-time: solved = gap at most this.")] = None,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Keep every solver version, not only "
                                               "the latest.")] = False,
    title: Annotated[str | None, typer.Option(help="Figure title.")] = None,
) -> None:
    """Draw a figure (performance profile, ECDF, anytime, Gantt, JCT CDF, load sweep, utilisation, CD)."""

    def body() -> int:
        from schedbench.cli.plot import PlotOptions, plot_command

        opts = PlotOptions(cls=cls, objective=objective, solvers=list(solver or []), instance=instance, run=run,
                           solution=solution, target_gap=target_gap, all_versions=all_versions, title=title)
        return plot_command(source, kind, output, opts)

    _guard(body)


@app.command()
def tables(
    source: Annotated[Path, typer.Argument(help="Results store, or its parquet/CSV export.")],
    fmt: Annotated[str, typer.Option("--format", help="table, markdown, csv or latex.")] = "table",
    success_gap: Annotated[float, typer.Option(help="A run succeeds with a gap at most this.")] = 1e-6,
    families: Annotated[bool, typer.Option("--families/--no-families", help="Rows per instance family too.")] = True,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Keep every solver version.")] = False,
) -> None:
    """Per set and instance family: success rate, shifted geometric mean time (ratio to best), gaps, significance."""

    def body() -> int:
        from schedbench.publish.site import tables_command

        return tables_command(source, fmt, success_gap=success_gap, families=families, all_versions=all_versions)

    _guard(body)


@app.command()
def publish(
    sources: Annotated[list[Path], typer.Argument(help="Results stores or parquet/CSV exports.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder (the site).")],
    success_gap: Annotated[float, typer.Option(help="A run succeeds with a gap at most this.")] = 1e-6,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Keep every solver version.")] = False,
) -> None:
    """Tables (Markdown, CSV, LaTeX), figures (PNG, PDF) and one self-contained HTML page per result set."""

    def body() -> int:
        from schedbench.publish.site import publish_command

        return publish_command(sources, output, success_gap=success_gap, all_versions=all_versions)

    _guard(body)


def _mount_subapps() -> None:
    from schedbench.cli import profile as profiler_cli  # `schedbench profile`, `catalogue merge` (docs/profile.md)
    from schedbench.cli.catalogue import app as catalogue_app
    from schedbench.cli.solvers import app as solvers_app
    from schedbench.cli.traces import app as traces_app

    catalogue_app.command("merge")(profiler_cli.merge)
    app.command("profile")(profiler_cli.profile)
    app.add_typer(catalogue_app, name="catalogue")
    app.add_typer(traces_app, name="traces")
    app.add_typer(solvers_app, name="solvers")
    from schedbench.cli.store import app as store_app  # `schedbench store check|salvage` (docs/harness.md)

    app.add_typer(store_app, name="store")
    from schedbench.cli.rl import app as rl_app  # `schedbench rl train|info` (docs/rl.md)

    app.add_typer(rl_app, name="rl")


_mount_subapps()


@app.command()
def demo() -> None:
    """The Quickstart's main job: validate the bundled example solutions and print a table."""

    def body() -> int:
        from schedbench.examples import run_demo

        return run_demo(out)

    _guard(body)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
