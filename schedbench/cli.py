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
from rich.table import Table

from schedbench import __version__
from schedbench.errors import InputError

app = typer.Typer(
    name="schedbench",
    help="Benchmark suite and solver-comparison harness for scheduling DL training jobs on GPU clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Piped output (CI logs, scripts) gets a fixed, wide table instead of an 80-column fallback.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _guard(fn: Callable[[], int | None]) -> None:
    """Run a command body; bad input becomes one line on stderr and exit 2."""
    try:
        code = fn()
    except InputError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if code:
        raise typer.Exit(code)


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
            out.print(f"{solution}: {verdict}  {result.objective_name} = {_num(result.objective)} ({result.sense})")
            if result.claim_matches is False:
                out.print(f"[yellow]claimed objective {result.claimed_objective!r} differs from the recomputed "
                          f"{result.objective!r}[/]")
            for v in result.violations:
                out.print(f"  [red]{v.constraint}[/]: {v.message}", markup=True)
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
        from schedbench.generators.presets import PRESETS
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
            out.print("presets: " + ", ".join(sorted(k for k, v in PRESETS.items() if v[0] == cls)))
            return 0
        params: dict[str, Any] = {}
        if preset is not None:
            if preset not in PRESETS or PRESETS[preset][0] != cls:
                _fail(f"unknown {cls} preset {preset!r}; expected one of "
                      f"{sorted(k for k, v in PRESETS.items() if v[0] == cls)}")
            params.update(PRESETS[preset][1])
        for item in param or []:
            key, eq, value = item.partition("=")
            if not eq or not key:
                _fail(f"--param expects key=value, got {item!r}")
            params[key] = parse_cli_value(value)
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


def _suite_run(name: str, directory: Path | None, out_dir: Path | None, strict: bool) -> int:
    from schedbench.suites import LockMismatchError, build, load_suite

    suite = load_suite(name, directory)
    t0 = time.perf_counter()
    try:
        report = build(suite, out_dir)
    except LockMismatchError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 1
    msg = f"suite {name}: {len(report.hashes)} instance(s) match {suite.lock_path.name}"
    if out_dir is not None:
        msg += f", written to {out_dir}"
    out.print(f"{msg} ({time.perf_counter() - t0:.1f} s)")
    if report.missing:
        out.print(f"[yellow]missing source files (skipped): {', '.join(report.missing)}[/]")
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
) -> None:
    """Materialise a suite deterministically and check every hash against its lock (exit 1 on a mismatch)."""
    _guard(lambda: _suite_run(name, directory, output or Path(".cache") / "suites" / name, strict))


@suite_app.command("verify")
def suite_verify(
    name: Annotated[str, typer.Argument(help="Suite name.")],
    directory: Annotated[Path | None, _SUITE_DIR] = None,
    strict: Annotated[bool, typer.Option(help="Fail when imported source files are missing.")] = False,
) -> None:
    """Rebuild a suite in memory and check every hash against its lock (exit 1 naming each mismatch)."""
    _guard(lambda: _suite_run(name, directory, None, strict))


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


def _mount_subapps() -> None:
    from schedbench.profiles.cli import app as catalogue_app
    from schedbench.traces.cli import app as traces_app

    app.add_typer(catalogue_app, name="catalogue")
    app.add_typer(traces_app, name="traces")


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
