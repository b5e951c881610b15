"""``schedbench validate | show | import | schema | generate``: instance files and their answers.

Exit codes: 0 success (and, for ``validate``, a feasible solution); 1 an infeasible solution; 2 bad
input (malformed file, unknown format or class, wrong usage), one line without a traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from schedbench.cli.console import fail, guarded, num, out, parse_pairs, print_json, styled
from schedbench.instances.problems import class_names


@guarded()
def validate(
    instance: Annotated[Path, typer.Argument(help="Instance file (.json or .json.gz).")],
    solution: Annotated[Path | None, typer.Argument(help="Solution file; omit to check the instance only.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> int:
    """Check an instance, and a solution against it (exit 0 feasible, 1 infeasible, 2 bad input)."""
    from schedbench.instances import content_hash, load
    from schedbench.validator import validate_file

    inst = load(instance)
    if solution is None:
        if as_json:
            print_json({"instance": str(instance), "valid": True, "hash": content_hash(inst), **inst.summary()})
        else:
            out.print(
                f"{instance}: valid instance ({inst.problem.cls}/{inst.problem.objective}, "
                f"{inst.n_jobs} jobs, {inst.n_gpus} GPUs)"
            )
        return 0
    result = validate_file(inst, solution)
    if as_json:
        print_json(result.to_dict())
        return 0 if result.feasible else 1
    verdict = ("feasible", "green") if result.feasible else ("infeasible", "red")
    out.print(styled(f"{solution}: ", verdict, f"  {result.objective_name} = {num(result.objective)} ({result.sense})"))
    if result.claim_matches is False:
        out.print(
            Text(
                f"claimed objective {result.claimed_objective!r} differs from the recomputed {result.objective!r}",
                style="yellow",
            )
        )
    for v in result.violations:
        out.print(styled("  ", (v.constraint, "red"), f": {v.message}"))
    listed = len(result.violations)
    total = sum(result.violation_counts.values())
    if total > listed:
        out.print(f"  ... {total - listed} more; counts per kind: {result.violation_counts}")
    for key, value in result.metrics.items():
        if not isinstance(value, dict):
            out.print(f"  {key}: {value if not isinstance(value, float) else num(value)}")
    return 0 if result.feasible else 1


@guarded()
def show(
    instance: Annotated[Path, typer.Argument(help="Instance file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    stats: Annotated[
        bool,
        typer.Option(
            "--stats",
            help="Also the reviewer's figures: fluid offered load, GPU "
            "time by job size vs the trace, duration quantiles vs the fit, "
            "figures by provenance (docs/generators.md).",
        ),
    ] = False,
) -> int:
    """Print an instance's class, objective, sizes, content hash, bounds and known values."""
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
        print_json(info)
        return 0
    table = Table(title=Text(str(instance)), show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key in ("name", "class", "objective", "jobs", "gpus", "nodes", "gpu_types", "resources"):
        table.add_row(key, Text(str(info[key])))
    table.add_row("params", Text(json.dumps(info["params"], sort_keys=True)))
    table.add_row(
        "gpus per type",
        Text(
            ", ".join(f"{k}: {v}" for k, v in list(info["gpus_per_type"].items())[:12])
            + (" ..." if len(info["gpus_per_type"]) > 12 else "")
        ),
    )
    table.add_row("hash", info["hash"])
    table.add_row("bounds", ", ".join(f"{k} {num(v)}" for k, v in info["bounds"].items()) or "-")
    table.add_row("known", Text(", ".join(f"{k} {v}" for k, v in info["known"].items()) or "-"))
    if info["source"]:
        table.add_row("source", Text(json.dumps(info["source"], sort_keys=True)))
    table.add_row("load time", f"{load_s * 1000:.1f} ms")
    out.print(table)
    if stats:
        from schedbench.generators.instance_stats import render

        render(info["stats"], out)
    return 0


def _importers() -> dict[str, Any]:
    """The importers by format name: the benchmark-set readers, then the trace readers."""
    from schedbench.importers import IMPORTERS
    from schedbench.traces.replay import TRACE_IMPORTERS

    return {**IMPORTERS, **TRACE_IMPORTERS}


@guarded()
def import_(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="Input format: " + ", ".join(_importers()) + ".")],
    paths: Annotated[list[Path], typer.Argument(help="Files to import.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory for the instance files.")],
    sense: Annotated[str, typer.Option(help="GAP only: 'min' (default) or 'max' (negated costs).")] = "min",
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", help="Importer option key=value (repeatable), e.g. max_jobs=500 for the trace formats."
        ),
    ] = None,
    gzip: Annotated[bool, typer.Option("--gzip", help="Write .json.gz files.")] = False,
) -> int:
    """Import published files: benchmark sets (orlib-gap, gap, rcmax, vbp) and traces (philly, alibaba-openb)."""
    from schedbench.generators.spec import parse_cli_value
    from schedbench.instances import save

    importers = _importers()
    importer = importers.get(fmt)
    if importer is None:
        fail(f"unknown format {fmt!r}; expected one of {sorted(importers)}")
    assert importer is not None
    if sense not in ("min", "max"):
        fail(f"--sense must be 'min' or 'max', not {sense!r}")
    options = parse_pairs(option, "--option", convert=parse_cli_value)
    if sense != "min":
        if fmt not in ("orlib-gap", "gap"):
            fail("--sense applies to the GAP formats only")
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
            fail(str(exc))
        for inst in imported:
            target = output / f"{inst.name}{suffix}"
            save(inst, target)
            written += 1
            known = inst.metadata.get("known", {})
            known_s = ", ".join(f"{k}={v}" for k, v in known.items() if k != "source") or "-"
            table.add_row(
                *(
                    Text(c)
                    for c in (
                        inst.name,
                        f"{inst.problem.cls}/{inst.problem.objective}",
                        str(inst.n_jobs),
                        str(inst.n_gpus),
                        known_s,
                        str(target),
                    )
                )
            )
    if written <= 50:
        out.print(table)
    out.print(f"wrote {written} instance file(s) to {output}")
    return 0


@guarded()
def schema(
    kind: Annotated[str, typer.Argument(help="'instance' or 'solution'.")],
) -> int:
    """Print the JSON Schema of the instance or solution format."""
    from schedbench.instances.schema import instance_schema, solution_schema

    if kind == "instance":
        print_json(instance_schema())
    elif kind == "solution":
        print_json(solution_schema())
    else:
        fail(f"unknown schema {kind!r}; expected 'instance' or 'solution'")
    return 0


@guarded()
def generate(
    cls: Annotated[str, typer.Argument(metavar="CLASS", help=f"Problem class: {class_names()}.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Instance file to write (.json or .json.gz).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed (non-negative integer).")] = 0,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="key=value (repeatable); values are "
            "JSON when they parse, e.g. jobs=200 cluster=modern "
            '\'gang={"1": 3, "2": 1}\'.',
        ),
    ] = None,
    preset: Annotated[str | None, typer.Option(help="Named parameter set (see --list-presets).")] = None,
    list_params: Annotated[bool, typer.Option("--list-params", help="List the class's parameters and exit.")] = False,
) -> int:
    """Generate a reproducible instance: same class, parameters and seed give the same bytes and hash."""
    from schedbench.generators import generate as gen
    from schedbench.generators import param_specs
    from schedbench.generators.presets import preset_names, resolve
    from schedbench.generators.spec import parse_cli_value
    from schedbench.instances import save

    try:
        specs = param_specs(cls)
    except KeyError:
        fail(f"unknown class {cls!r}; expected {class_names()}")
    if list_params:
        table = Table(title=Text(f"{cls} generator parameters"))
        for col in ("parameter", "default", "meaning"):
            table.add_column(col)
        for spec in specs:
            table.add_row(*(Text(c) for c in (spec.name, json.dumps(spec.default), spec.help)))
        out.print(table)
        out.print("presets: " + ", ".join(preset_names(cls)))
        return 0
    if preset is not None and preset not in preset_names(cls):
        fail(f"unknown {cls} preset {preset!r}; expected one of {preset_names(cls)}")
    given = parse_pairs(param, "--param", convert=parse_cli_value)
    params = resolve(cls, preset, given)
    if seed < 0:
        fail("--seed must be a non-negative integer")
    if output is None:
        fail("missing -o/--output FILE")
    assert output is not None
    t0 = time.perf_counter()
    inst = gen(cls, params, seed, source="--param")
    digest = save(inst, output)
    elapsed = time.perf_counter() - t0
    out.print(
        f"wrote {output}: {cls}/{inst.problem.objective}, {inst.n_jobs} jobs, {inst.n_gpus} GPUs, "
        f"hash {digest} ({elapsed:.2f} s)"
    )
    for note in inst.metadata.get("notes", []):
        out.print(f"  note: {note}")
    return 0
