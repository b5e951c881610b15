"""``schedbench publish SOURCE... -o DIR``: per result set, the paper outputs and a static page.

For every source (a store or its parquet/CSV export) and every (class, objective) set in it, with
``SLUG = <source stem>-<class>-<objective>``, DIR receives:

- ``SLUG.md``, ``SLUG.csv``, ``SLUG.tex``: the tables of :mod:`schedbench.publish.tables`;
- ``SLUG.profile-time.{png,pdf}``, ``SLUG.profile-gap.{png,pdf}``, ``SLUG.ecdf-limit.{png,pdf}``,
  ``SLUG.cd.{png,pdf}`` (the CD diagram when the set has >= 2 instances and >= 2 solvers), plus
  ``SLUG.ecdf-time.{png,pdf}`` when the source holds trajectories;
- ``SLUG.html``: one self-contained page (figures embedded as data URIs, no script, no external
  resource) with the tables, the figures, the environment the runs ran in (Python and package
  versions, CPU, git revision) and relative links to the source files;

and ``index.html`` linking every page. Outputs are deterministic for a given input (figure
metadata without dates), so regenerating unchanged results changes no file but the PNG bytes
matplotlib itself may vary between versions.
"""

from __future__ import annotations

import base64
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from schedbench.store.core import StoreError

if TYPE_CHECKING:  # imported where used: matplotlib and the tables load only when publishing
    from schedbench.plots.source import Source
    from schedbench.publish.tables import SetTable

FIGURES = ("profile-time", "profile-gap", "ecdf-limit", "ecdf-time", "cd")
FORMATS = ("png", "pdf")

_CSS = """body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:90%}th,td{padding:.2em .6em;border-bottom:1px solid #ddd}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{border-bottom:2px solid #444;text-align:left}
td.best{font-weight:bold}figure{margin:1em 0}img{max-width:100%;height:auto}caption{text-align:left;
caption-side:bottom;font-size:85%;color:#555;padding-top:.4em}dt{font-weight:bold}code{font-size:90%}"""


@dataclass(frozen=True)
class Page:
    """A published set: its slug, title and the files written for it."""

    slug: str
    title: str
    files: tuple[Path, ...]


def slug(text: str) -> str:
    """``text`` as a file-name slug: runs of other characters than ``A-Za-z0-9._-`` become ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def _table_html(table: SetTable) -> str:
    from schedbench.publish.tables import COLUMNS, text_cells

    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    rows = []
    for i, cells in zip(table.frame.index, text_cells(table), strict=True):
        tds = []
        for c, v in zip(COLUMNS, cells, strict=True):
            cls = ["num"] if c not in ("group", "solver", "sig") else []
            if table.bold.at[i, c]:
                cls.append("best")
            attr = f' class="{" ".join(cls)}"' if cls else ""
            tds.append(f"<td{attr}>{html.escape(v)}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    caption = html.escape(table.caption())
    out = f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    if table.intervals is not None:
        from schedbench.publish.tables import CI_COLUMNS, _ci_text, ci_caption

        head = "".join(f"<th>{html.escape(c)}</th>" for c in CI_COLUMNS)
        body = "".join(
            "<tr>"
            + "".join(f"<td{'' if i == 0 else ' class=num'}>{html.escape(v)}</td>" for i, v in enumerate(r))
            + "</tr>"
            for r in _ci_text(table.intervals)
        )
        out += (
            f"<table><caption>{html.escape(ci_caption())}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    return out


def _environment_html(env: pd.DataFrame | None) -> str:
    if env is None or env.empty:
        return "<p>No environment was recorded with these runs.</p>"
    items = []
    for _, e in env.iterrows():
        pk = {c.split(".", 1)[1]: e[c] for c in env.columns if c.startswith("packages.") and pd.notna(e[c])}
        fields = [
            ("runs", e.get("runs")),
            ("python", e.get("python")),
            ("cpu", e.get("cpu_model")),
            ("cores", e.get("cpu_count")),
            ("memory (MB)", e.get("memory_total_mb")),
            ("platform", e.get("platform")),
            ("git revision", e.get("git_revision")),
            ("packages", ", ".join(f"{k} {v}" for k, v in sorted(pk.items()))),
        ]
        dl = "".join(
            f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>"
            for k, v in fields
            if v is not None and not (isinstance(v, float) and pd.isna(v))
        )
        items.append(f"<dl>{dl}</dl>")
    return "".join(items)


def publish(
    sources: list[Path],
    out: Path,
    *,
    success_gap: float = 1e-6,
    all_versions: bool = False,
    formats: tuple[str, ...] = FORMATS,
) -> list[Page]:
    """Write the outputs of every set of every source into ``out`` (created); returns the pages.

    Raises:
        StoreError: a source that cannot be read, or an unwritable output folder.
    """
    from schedbench.plots import figures as pfig
    from schedbench.plots.cd import cd_figure_from_runs
    from schedbench.plots.source import load
    from schedbench.publish import tables as tb

    if not sources:
        raise StoreError("SOURCE", "at least one store or export", "none")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(str(out), "a writable output folder", f"{type(exc).__name__}: {exc}", "-o") from None
    pages = []
    for source_path in sources:
        src = load(source_path, all_versions=all_versions)
        if src.runs.empty:
            raise StoreError(str(source_path), "runs to publish", "none")
        stem = source_path.name.split(".")[0]
        for table in tb.set_tables(src.runs, success_gap=success_gap):
            cls, objective = table.name.split("/")
            runs = src.runs[(src.runs["class"] == cls) & (src.runs["objective_name"] == objective)]
            name = slug(f"{stem}-{cls}-{objective}")
            written: list[Path] = []
            for ext, text in (("md", tb.to_markdown(table)), ("csv", tb.to_csv(table)), ("tex", tb.to_latex(table))):
                p = out / f"{name}.{ext}"
                p.write_text(text, encoding="utf-8")
                written.append(p)
            figures: list[tuple[str, Path]] = []
            for kind in FIGURES:
                if kind == "ecdf-time" and src.trajectories is None:
                    continue
                n_inst, n_solv = runs["instance"].nunique(), runs["label"].nunique()
                if kind == "cd" and (n_inst < 2 or n_solv < 2):
                    continue
                title = f"{table.name} ({stem})"
                for fmt in formats:
                    if kind == "cd":
                        fig, _ = cd_figure_from_runs(runs, title=None)
                    elif kind.startswith("profile"):
                        fig, _ = pfig.profile(
                            runs,
                            kind.split("-")[1],
                            title=f"Performance profile, "
                            f"{'wall time' if kind == 'profile-time' else '1 + gap'}: {title}",
                        )
                    elif kind == "ecdf-limit":
                        fig, _ = pfig.ecdf_limit(runs, title=f"ECDF of the gap at the limit: {title}")
                    else:
                        fig, _ = pfig.ecdf_time(runs, src.trajectories, title=f"Runtime ECDF: {title}")
                    p = pfig.save(fig, out / f"{name}.{kind}.{fmt}")
                    written.append(p)
                    if fmt == "png":
                        figures.append((kind, p))
            page = out / f"{name}.html"
            page.write_text(_page(table, figures, src, source_path, out, name), encoding="utf-8")
            written.append(page)
            pages.append(Page(name, f"{table.name} ({stem})", tuple(written)))
    (out / "index.html").write_text(_index(pages), encoding="utf-8")
    return pages


def _rel(target: Path, base: Path) -> str:
    return Path(os.path.relpath(target.resolve(), base.resolve())).as_posix()


def _page(
    table: SetTable, figures: list[tuple[str, Path]], src: Source, source_path: Path, out: Path, name: str
) -> str:
    from schedbench.plots.figures import KINDS

    figs = []
    for kind, p in figures:
        data = base64.b64encode(p.read_bytes()).decode("ascii")
        pdf = p.with_suffix(".pdf")
        link = f' (<a href="{html.escape(pdf.name)}">PDF</a>)' if pdf.exists() else ""
        figs.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(KINDS[kind])}">'
            f"<figcaption>{html.escape(KINDS[kind])}{link}</figcaption></figure>"
        )
    links = [f'<a href="{html.escape(_rel(source_path, out))}">{html.escape(source_path.name)}</a>']
    env_path = source_path.with_name(f"{source_path.name.split('.')[0]}.environments{source_path.suffix}")
    if source_path.suffix in (".parquet", ".csv") and env_path.exists():
        links.append(f'<a href="{html.escape(_rel(env_path, out))}">{html.escape(env_path.name)}</a>')
    downloads = " · ".join(f'<a href="{name}.{ext}">{ext.upper()}</a>' for ext in ("md", "csv", "tex"))
    title = html.escape(f"{table.name} — {source_path.name}")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">'
        f"<style>{_CSS}</style></head><body>"
        f'<h1>{title}</h1><p><a href="index.html">All result sets</a> · source: {" · ".join(links)} · '
        f"table: {downloads}</p><h2>Tables</h2>{_table_html(table)}<h2>Figures</h2>{''.join(figs)}"
        f"<h2>Environment</h2>{_environment_html(src.environments)}</body></html>\n"
    )


def _index(pages: list[Page]) -> str:
    items = "".join(f'<li><a href="{html.escape(p.slug)}.html">{html.escape(p.title)}</a></li>' for p in pages)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>schedbench results</title>'
        f'<link rel="icon" href="data:,"><style>{_CSS}</style></head><body><h1>schedbench results</h1>'
        f"<ul>{items}</ul></body></html>\n"
    )
