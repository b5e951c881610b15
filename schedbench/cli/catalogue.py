"""``schedbench catalogue``: list, show, import, build and coverage of the job-profile catalogue.

Mounted by the main CLI as ``app.add_typer(profiles_cli.app, name="catalogue")``. Exit codes as
in the main CLI: 0 success, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from schedbench.catalogue import build as build_mod
from schedbench.catalogue import gavel, lambdalabs
from schedbench.catalogue.model import DERIVED, FAMILIES, MEASURED, Catalogue, Figure, ImportResult, JobType
from schedbench.cli.console import fail, guarded, make_console, print_json

app = typer.Typer(
    help="The catalogue of DL training job profiles: throughput, memory and compute share per GPU type, "
    "every figure with its source.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
#: The catalogue's tables are wide: 160 columns when piped.
out = make_console(piped_width=160)

_CatalogueOpt = Annotated[Path | None, typer.Option("--catalogue", help="A catalogue file instead of the shipped one.")]
_JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
_MARK = {MEASURED: "M", DERIVED: "D", "unknown": "-"}


def _num(value: float) -> str:
    return f"{value:.6g}"


def _gpu_lists(jt: JobType) -> tuple[list[str], list[str]]:
    gpus = jt.gpus()
    return ([g for g in gpus if jt.gpu_status(g) == MEASURED], [g for g in gpus if jt.gpu_status(g) == DERIVED])


@app.command("list")
@guarded()
def list_(
    family: Annotated[str | None, typer.Option("--family", help=f"Only this family ({', '.join(FAMILIES)}).")] = None,
    as_json: _JsonOpt = False,
    catalogue: _CatalogueOpt = None,
) -> int:
    """List the job types: family, model, batch size, and the GPU types measured / derived."""
    cat = build_mod.load_catalogue(catalogue)
    if family is not None and family not in FAMILIES:
        fail(f"unknown family {family!r}; expected one of {list(FAMILIES)}")
    jobs = cat.job_types_in(family) if family else [jt for _, jt in sorted(cat.job_types.items())]
    if as_json:
        rows = []
        for jt in jobs:
            measured, derived = _gpu_lists(jt)
            rows.append(
                {
                    "key": jt.key,
                    "family": jt.family,
                    "model": jt.model,
                    "task": jt.task,
                    "batch_size": jt.batch_size,
                    "precision": jt.precision,
                    "unit": jt.unit,
                    "source": jt.source,
                    "gpus_measured": measured,
                    "gpus_derived": derived,
                }
            )
        print_json({"version": cat.version, "job_types": rows})
        return 0
    table = Table(title=f"catalogue {cat.version}: {len(jobs)} job types")
    for col in ("job type", "family", "model", "batch", "precision", "unit", "GPU types measured", "derived"):
        table.add_column(col)
    for jt in jobs:
        measured, derived = _gpu_lists(jt)
        batch = str(jt.batch_size) if jt.batch_size is not None else ("max" if jt.max_batch else "-")
        chips = sorted({cat.gpus[g].chip for g in measured})
        table.add_row(
            jt.key,
            jt.family,
            jt.model,
            batch,
            jt.precision or "-",
            jt.unit,
            f"{len(measured)} ({' '.join(chips)})" if measured else "0",
            str(len(derived)),
        )
    out.print(table)
    return 0


def _figure_row(label: str, gpu: str, n: str, f: Figure) -> list[str]:
    p = f.provenance
    kind = p.kind if f.suspect is None else f"{p.kind}, SUSPECT"
    why = p.rule or p.detail
    return [label, gpu, n, _num(f.value), f.unit, kind, p.source, why if f.suspect is None else f"{f.suspect}; {why}"]


@app.command()
@guarded()
def show(
    key: Annotated[str, typer.Argument(help="Job type key (see `list`).")],
    as_json: _JsonOpt = False,
    catalogue: _CatalogueOpt = None,
) -> int:
    """Every figure of one job type with its provenance."""
    cat = build_mod.load_catalogue(catalogue)
    jt = cat.job_types.get(key)
    if jt is None:
        close = [k for k in sorted(cat.job_types) if key.split("-")[0] in k][:8]
        fail(f"no job type {key!r} in the catalogue" + (f"; similar: {', '.join(close)}" if close else ""))
    used = sorted(
        {k for _, f in jt.figures() for k in f.provenance.inputs}
        | {k for c in jt.colocation.values() for k in c.provenance.inputs}
    )
    if as_json:
        doc = jt.to_dict()
        doc["sources"] = {k: cat.sources[k].to_dict() for k in used}
        print_json(doc)
        return 0
    out.print(
        Text(jt.key, style="bold") + f": {jt.model} ({jt.task}), family {jt.family}, batch size "
        f"{jt.batch_size if jt.batch_size is not None else '-'}, precision {jt.precision or 'not stated'}, "
        f"unit {jt.unit}"
    )
    out.print(jt.description)
    table = Table(title="figures")
    for col in ("figure", "GPU", "n", "value", "unit", "kind", "source", "detail / rule"):
        table.add_column(col, overflow="fold")
    for (g, n), f in sorted(jt.throughput.items()):
        table.add_row(*_figure_row("throughput", g, str(n), f))
    for (g, n), f in sorted(jt.throughput_unconsolidated.items()):
        table.add_row(*_figure_row("throughput (spread)", g, str(n), f))
    for (g, n), f in sorted(jt.max_batch.items()):
        table.add_row(*_figure_row("max batch", g, str(n), f))
    for g, f in sorted(jt.memory_gib.items()):
        table.add_row(*_figure_row("memory", g, "1", f))
    for g, f in sorted(jt.compute_share.items()):
        table.add_row(*_figure_row("compute share", g, "1", f))
    out.print(table)
    for g, c in sorted(jt.colocation.items()):
        ran = sum(1 for a, b in c.pairs.values() if a > 0 and b > 0)
        out.print(
            f"co-location on {g}: {len(c.pairs)} partners ({ran} ran together), {c.unit}, "
            f"source {c.provenance.source}: {c.provenance.detail}"
        )
    for k in used:
        s = cat.sources[k]
        out.print(f"[{k}] {s.citation} {s.url_or_file} ({s.licence})")
    return 0


def _summary(result: ImportResult) -> dict[str, Any]:
    cat = result.catalogue
    jobs = cat.job_types.values()
    return {
        "job_types": len(cat.job_types),
        "gpus": sorted(cat.gpus),
        "throughput_figures": sum(len(j.throughput) for j in jobs),
        "unconsolidated_figures": sum(len(j.throughput_unconsolidated) for j in jobs),
        "max_batch_figures": sum(len(j.max_batch) for j in jobs),
        "colocation_pairs": sum(len(c.pairs) for j in jobs for c in j.colocation.values()),
        "families": sorted({j.family for j in jobs}),
        "notes": list(result.notes),
    }


@app.command("import")
@guarded()
def import_(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="'gavel' or 'lambda'.")],
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Source file(s): Gavel's throughputs JSON, or Lambda's CSV "
            "tables (throughput and/or bs, fp32 and/or fp16)."
        ),
    ],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the catalogue fragment here.")] = None,
    table: Annotated[
        str | None, typer.Option("--table", help="Lambda only: 'throughput' or 'bs' (default: from the file name).")
    ] = None,
    precision: Annotated[
        str | None, typer.Option("--precision", help="Lambda only: 'fp32' or 'fp16' (default: from the file name).")
    ] = None,
    as_json: _JsonOpt = False,
) -> int:
    """Read a published source file: print what it holds, and write a catalogue fragment with -o."""
    if fmt == "gavel":
        if len(paths) != 1:
            fail("gavel takes one file")
        if table or precision:
            fail("--table and --precision apply to lambda only")
        result = gavel.read_gavel(paths[0])
    elif fmt == "lambda":
        if table not in (None, lambdalabs.THROUGHPUT, lambdalabs.BATCH):
            fail(f"--table must be 'throughput' or 'bs', not {table!r}")
        if precision not in (None, *lambdalabs.PRECISIONS):
            fail(f"--precision must be 'fp32' or 'fp16', not {precision!r}")
        result = lambdalabs.read_lambda(list(paths), table, precision)
    else:
        fail(f"unknown format {fmt!r}; expected 'gavel' or 'lambda'")
    summary = _summary(result)
    if output is not None:
        build_mod.write_catalogue(result.catalogue, output)
        summary["written"] = str(output)
    if as_json:
        print_json(summary)
        return 0
    out.print(
        f"{fmt}: {summary['job_types']} job types ({', '.join(summary['families'])}) on "
        f"{len(summary['gpus'])} GPU types ({', '.join(summary['gpus'])})"
    )
    out.print(
        f"  {summary['throughput_figures']} throughput figures, {summary['unconsolidated_figures']} "
        f"unconsolidated, {summary['max_batch_figures']} batch sizes, {summary['colocation_pairs']} "
        "co-location pairs"
    )
    for note in result.notes:
        out.print(f"  note: {note}")
    if output is not None:
        out.print(f"wrote {output}")
    return 0


@app.command()
@guarded()
def build(
    gavel_file: Annotated[Path, typer.Option("--gavel", help="Gavel's simulation_throughputs.json.")],
    lambda_dir: Annotated[Path, typer.Option("--lambda-dir", help="Folder with Lambda's four CSV tables.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Catalogue file to write.")],
) -> int:
    """Rebuild the full catalogue (measured figures of both sources plus the derivation rules)."""
    cat = build_mod.build_catalogue(gavel_file, lambda_dir)
    build_mod.write_catalogue(cat, output)
    counts = cat.coverage_counts()
    out.print(
        f"wrote {output}: catalogue {cat.version}, {len(cat.job_types)} job types, {len(cat.gpus)} GPU "
        f"types; job x GPU cells: {counts[MEASURED]} measured, {counts[DERIVED]} derived, "
        f"{counts['unknown']} unknown"
    )
    return 0


def coverage_markdown(cat: Catalogue) -> str:
    """The coverage matrix as a Markdown table (M measured, D derived, - unknown)."""
    gpus = sorted(cat.gpus)
    lines = ["| job type | family | " + " | ".join(gpus) + " |", "|---|---|" + "---|" * len(gpus)]
    for key, row in cat.coverage().items():
        lines.append(f"| {key} | {cat.job_types[key].family} | " + " | ".join(_MARK[row[g]] for g in gpus) + " |")
    counts = cat.coverage_counts()
    lines.append("")
    lines.append(
        f"{counts[MEASURED]} measured, {counts[DERIVED]} derived, {counts['unknown']} unknown "
        f"(job type x GPU type cells, catalogue {cat.version})."
    )
    return "\n".join(lines) + "\n"


@app.command()
@guarded()
def coverage(
    as_json: _JsonOpt = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="A Markdown table (for docs).")] = False,
    catalogue: _CatalogueOpt = None,
) -> int:
    """Job types x GPU types: M measured, D derived, - unknown (throughput at any GPU count)."""
    cat = build_mod.load_catalogue(catalogue)
    if as_json:
        print_json({"version": cat.version, "coverage": cat.coverage(), "counts": cat.coverage_counts()})
        return 0
    if markdown:
        sys.stdout.write(coverage_markdown(cat))
        return 0
    gpus = sorted(cat.gpus)
    table = Table(title=f"coverage, catalogue {cat.version} (M measured, D derived, - unknown)")
    table.add_column("job type")
    for g in gpus:
        table.add_column(g, justify="center")
    for key, row in cat.coverage().items():
        table.add_row(key, *(_MARK[row[g]] for g in gpus))
    out.print(table)
    counts = cat.coverage_counts()
    out.print(f"{counts[MEASURED]} measured, {counts[DERIVED]} derived, {counts['unknown']} unknown")
    return 0
